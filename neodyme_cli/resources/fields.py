"""What each field becomes in the generated code: its Python type and `Field(...)`, its column in
the migration, the values its tests send, the line that documents it."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from neodyme_cli.resources.layout import python_string
from neodyme_cli.resources.names import pascal_case
from neodyme_cli.resources.spec import FieldSpec, FieldValue, choice_member

EMAIL_LENGTH = 255  # as the users' emails
URL_LENGTH = 2083  # the longest URL browsers take, as pydantic's HttpUrl
ENUM_LENGTH = 255  # values are stored as text: a new value needs no migration

# The Python type of each field type, in the model (names the model module defines or imports).
ANNOTATIONS = {
    "str": "str", "text": "str", "int": "int", "float": "FiniteFloat", "decimal": "Decimal",
    "bool": "bool", "date": "date", "datetime": "UtcDatetime", "uuid": "UUID", "email": "Email",
    "url": "Url", "ref": "int",
}  # fmt: skip
COLUMN_TYPES = {
    "text": "sa.Text()", "int": "sa.Integer()", "float": "sa.Float()", "bool": "sa.Boolean()",
    "date": "sa.Date()", "datetime": "sa.DateTime(timezone=True)", "uuid": "sa.Uuid()",
    "email": f"sa.String(length={EMAIL_LENGTH})", "url": f"sa.String(length={URL_LENGTH})",
    "enum": f"sa.String(length={ENUM_LENGTH})", "ref": "sa.Integer()",
}  # fmt: skip
DESCRIPTIONS = {
    "text": "text", "int": "integer", "float": "number", "bool": "boolean",
    "date": "date, `YYYY-MM-DD`", "datetime": "date and time with an offset, answered in UTC",
    "uuid": "UUID", "email": "email address, stored in lower case", "url": "http or https URL",
}  # fmt: skip
# Values the tests send: one, another, and one that is refused (an expression, or None).
SAMPLES: dict[str, tuple[str, str, str | None]] = {
    "int": ("1", "2", "MAX_INTEGER + 1"),
    "float": ("1.5", "2.5", '"not a number"'),
    "bool": ("True", "False", '"maybe"'),
    "date": ('"2024-01-15"', '"2024-02-20"', '"2024-02-30"'),
    "datetime": ('"2024-01-15T09:30:00Z"', '"2024-02-20T18:00:00Z"', '"2024-01-15T09:30:00"'),
    "uuid": (
        '"0b5cf6cc-1f0e-4d3c-9f55-2f4c8e1e2a61"',
        '"6a1de5a2-95f3-4c4c-b8a0-93c1e6f1d0b7"',
        '"not-a-uuid"',
    ),
    "ref": ("1", "2", "0"),  # ids; tests that reach the database refer to rows they make
}


@dataclass(frozen=True)
class FieldCode:
    """One field of a resource, as the templates write it."""

    spec: FieldSpec
    resource_class: str  # an enum field's class is named after it: PostStatus

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def column(self) -> str:
        return self.spec.column

    @property
    def type(self) -> str:
        return self.spec.type

    @property
    def enum_class(self) -> str:
        return self.resource_class + pascal_case(self.name)

    @property
    def enum_members(self) -> list[tuple[str, str]]:
        """(MEMBER, "value") of an enum field."""
        return [(choice_member(choice), python_string(choice)) for choice in self.spec.choices]

    @property
    def annotation(self) -> str:
        kind = self.type
        return self.enum_class if kind == "enum" else ANNOTATIONS[kind]

    @property
    def filterable(self) -> bool:
        """Texts are too long to list by; every other field is a filter of the list."""
        return self.type != "text"

    # The model

    def base_line(self) -> str:
        """The field in `<Resource>Base`, with its column's settings."""
        spec = self.spec
        annotation = self.annotation + (" | None" if spec.nullable else "")
        default = self.python_value(spec.default) if spec.default is not None else None
        if default is None and spec.nullable:
            default = "None"
        column = []
        if spec.type == "ref":
            action = "SET NULL" if spec.nullable else "RESTRICT"
            column += [f'foreign_key="{spec.target}.id"', f'ondelete="{action}"']
        if spec.unique:
            column += ["unique=True", "index=True"]
        elif spec.type == "ref":
            column += ["index=True"]
        if spec.type == "text":
            column.append("sa_type=Text")
        if spec.type == "enum":
            column.append(f"sa_type=String({ENUM_LENGTH})")
        return _declaration(self.name if spec.type != "ref" else self.column, annotation, default,
                            column + self._bounds())  # fmt: skip

    def update_line(self) -> str:
        """The field in `<Resource>Update`: optional, with the same bounds."""
        return _declaration(self.column, f"{self.annotation} | None", "None", self._bounds())

    def filter_line(self) -> str:
        """The field in `<Resource>Filters`: a query parameter, which may contain no NUL."""
        annotation = "NulFreeStr" if self.type == "str" else self.annotation
        return _declaration(self.column, f"{annotation} | None", "None", self._bounds())

    def _bounds(self) -> list[str]:
        """What the API checks of a value, besides its type."""
        spec = self.spec
        if spec.type == "str":
            return [f"max_length={spec.length}"]
        if spec.type == "int":
            return ["ge=-MAX_INTEGER - 1", "le=MAX_INTEGER"]
        if spec.type == "ref":
            return ["ge=1", "le=MAX_INTEGER"]
        if spec.type == "decimal":
            return [f"max_digits={spec.precision}", f"decimal_places={spec.scale}"]
        if spec.type == "email":
            return [f"max_length={EMAIL_LENGTH}"]
        if spec.type == "url":
            return ["max_length=MAX_URL_LENGTH"]
        return []

    def python_value(self, value: FieldValue) -> str:
        """A value of the field as Python source, in the model module."""
        if self.type == "enum":
            return f"{self.enum_class}.{choice_member(str(value))}"
        if isinstance(value, bool):
            return repr(value)
        if isinstance(value, Decimal):
            return f'Decimal("{value}")'
        if isinstance(value, datetime):
            parts = [value.year, value.month, value.day, value.hour, value.minute]
            parts += [value.second, value.microsecond] if value.second or value.microsecond else []
            return f"datetime({', '.join(map(str, parts))}, tzinfo=UTC)"
        if isinstance(value, date):
            return f"date({value.year}, {value.month}, {value.day})"
        if isinstance(value, UUID):
            return f'UUID("{value}")'
        if isinstance(value, str):
            return python_string(value)
        return repr(value)

    def json_value(self, value: FieldValue) -> str:
        """A value of the field as the API shows it, as Python source for the tests."""
        if isinstance(value, bool | int | float) and not isinstance(value, Decimal):
            return repr(value)
        if isinstance(value, datetime):
            return python_string(value.strftime("%Y-%m-%dT%H:%M:%S") + _fraction(value) + "Z")
        if isinstance(value, date):
            return python_string(value.isoformat())
        return python_string(str(value))

    def default_json(self) -> str:
        """What a row created without this field has in it, as the API shows it."""
        return "None" if self.spec.default is None else self.json_value(self.spec.default)

    # The migration

    def sa_column(self) -> str:
        spec = self.spec
        if spec.type == "str":
            column_type = f"sa.String(length={spec.length})"
        elif spec.type == "decimal":
            column_type = f"sa.Numeric(precision={spec.precision}, scale={spec.scale})"
        else:
            column_type = COLUMN_TYPES[spec.type]
        return f'sa.Column("{self.column}", {column_type}, nullable={spec.nullable})'

    def foreign_key(self) -> str | None:
        spec = self.spec
        if spec.type != "ref":
            return None
        action = "SET NULL" if spec.nullable else "RESTRICT"
        return (
            f'sa.ForeignKeyConstraint(["{self.column}"], ["{spec.target}.id"], ondelete="{action}")'
        )

    @property
    def indexed(self) -> bool:
        return self.spec.unique or self.type == "ref"

    # The tests

    @property
    def value(self) -> str:
        """A valid value, as the tests send it (a Python expression of a JSON value)."""
        return self._samples()[0]

    @property
    def other_value(self) -> str:
        """Another valid value, unlike `value`."""
        return self._samples()[1]

    @property
    def invalid_value(self) -> str | None:
        """A value of the right JSON type or none that the API refuses, if there is one."""
        return self._samples()[2]

    def unique_value(self) -> str:
        """An expression giving a different valid value each time, for unique fields."""
        spec, number, word = self.spec, "next(numbers)", self.name[:16]
        if spec.type == "str":
            assert spec.length is not None
            if spec.length >= len(word) + 8:
                return f'f"{word} {{{number}}}"'
            return f"str({number} % {10 ** min(spec.length, 6)})"
        return {
            "int": number,
            "date": f'f"{{2000 + {number}}}-01-15"',
            "datetime": f'f"{{2000 + {number}}}-01-15T09:30:00Z"',
            "uuid": "str(uuid4())",
            "email": f'f"user{{{number}}}@example.com"',
            "url": f'f"https://example.com/{{{number}}}"',
            "ref": "",  # a row of its own each time: the tests save one per row they make
        }[spec.type]

    def _samples(self) -> tuple[str, str, str | None]:
        spec, name = self.spec, self.name[:20]
        if spec.type == "str":
            assert spec.length is not None
            if spec.length >= len(name) + 4:
                one, other = name, f"new {name}"
            else:
                one, other = "a" * spec.length, "b" * spec.length
            return python_string(one), python_string(other), f'"x" * {spec.length + 1}'
        if spec.type == "text":
            return python_string(f"The {name}."), python_string(f"Another {name}."), None
        if spec.type == "decimal":
            return self._decimal_samples()
        if spec.type == "email":
            return (
                python_string(f"{name}@example.com"),
                python_string(f"new.{name}@example.com"),
                '"not an email"',
            )
        if spec.type == "url":
            return (
                python_string(f"https://example.com/{name}"),
                python_string(f"https://example.org/{name}"),
                '"not a url"',
            )
        if spec.type == "enum":
            first, second = spec.choices[:2]
            return python_string(first), python_string(second), '"no such value"'
        return SAMPLES[spec.type]

    def _decimal_samples(self) -> tuple[str, str, str | None]:
        """Values with exactly the scale's digits after the point: the API answers them as sent."""
        assert self.spec.precision is not None and self.spec.scale is not None
        scale, whole = self.spec.scale, self.spec.precision - self.spec.scale
        if whole >= 1:
            one, other = Decimal("1.5"), Decimal("2.5")
        else:
            one, other = Decimal("0.5"), Decimal("0.4")
        step = Decimal(1).scaleb(-scale)
        too_precise = "0." + "1" * (scale + 1)
        return (
            python_string(str(one.quantize(step, rounding="ROUND_DOWN"))),
            python_string(str(other.quantize(step, rounding="ROUND_DOWN"))),
            python_string(too_precise),
        )

    # The README

    def described_type(self) -> str:
        spec = self.spec
        if spec.type == "str":
            return f"text, up to {spec.length} characters"
        if spec.type == "decimal":
            return (
                f"decimal, up to {spec.precision} digits, {spec.scale} after the point "
                "(a string in JSON)"
            )
        if spec.type == "enum":
            return "one of " + ", ".join(f"`{choice}`" for choice in spec.choices)
        if spec.type == "ref":
            return f"the id of a row of `{spec.target}`"
        return DESCRIPTIONS[spec.type]

    def described_rules(self) -> str:
        spec = self.spec
        rules = []
        if spec.default is not None:
            shown = self.json_value(spec.default).strip('"')
            shown = {"True": "true", "False": "false"}.get(shown, shown).replace("|", "\\|")
            rules.append(f"default `{shown}`")
        elif spec.nullable:
            rules.append("may be null")
        else:
            rules.append("required")
        if spec.unique:
            rules.append("unique")
        if spec.type == "ref":
            rules.append(
                "set to null when that row is deleted"
                if spec.nullable
                else "that row cannot be deleted while it is referred to"
            )
        return "; ".join(rules)


def _declaration(name: str, annotation: str, default: str | None, arguments: list[str]) -> str:
    """`name: annotation = Field(default=..., arguments)`, or the shortest form that says it."""
    if arguments:
        defaults = [f"default={default}"] if default is not None else []
        return f"{name}: {annotation} = Field({', '.join(defaults + arguments)})"
    if default is not None:
        return f"{name}: {annotation} = {default}"
    return f"{name}: {annotation}"


def _fraction(value: datetime) -> str:
    return f".{value.microsecond:06d}" if value.microsecond else ""


def sample_body(
    fields: list[FieldCode],
    *,
    required_only: bool = False,
    fake_refs: bool = False,
    changes: bool = False,
) -> str:
    """A valid body, as the source of a dict: a value for each field (each required one, with
    `required_only`) but references that may be null. A reference is the id of the row its
    test saved in a variable named after the field (`author.id`), or any id for a fake
    repository; `changes` adds `**changes`."""
    items = []
    for code in fields:
        if code.type == "ref":
            if code.spec.required:
                fake_id = "next(numbers)" if code.spec.unique else "1"
                items.append(f'"{code.column}": {fake_id if fake_refs else code.name + ".id"}')
        elif code.spec.required or not required_only:
            value = code.unique_value() if code.spec.unique else code.value
            items.append(f'"{code.column}": {value}')
    return "{" + ", ".join(items + (["**changes"] if changes else [])) + "}"


def sample_imports(fields: list[FieldCode], *, required_only: bool = False) -> list[str]:
    """What the values of `sample_body` import."""
    used = [code for code in fields if code.spec.required or not required_only]
    return (
        ["from uuid import uuid4"] if any(c.type == "uuid" and c.spec.unique for c in used) else []
    )
