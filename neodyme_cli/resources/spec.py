"""The spec of a resource: its name, its fields `name:type[:arg][?][!][=default]`, `--owned`.

Types: `str[:N]` (default 255), `text`, `int`, `float`, `decimal[:P,S]` (default 12,2),
`bool`, `date`, `datetime`, `uuid`, `email`, `url`, `enum:a,b,c`, `ref:<table>`. Suffixes:
`?` the field may be null, `!` its values are unique, `=value` its default. Everything is
checked here, before a file is written; what needs the project (which tables exist) is checked
when the resource is rendered.
"""

import difflib
import keyword
import math
import re
import shlex
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final
from uuid import UUID

from neodyme_cli.resources.errors import InvalidResourceError
from neodyme_cli.resources.names import ResourceNames, pascal_case, resource_names

FIELD_TYPES: Final = (
    "str", "text", "int", "float", "decimal", "bool", "date", "datetime", "uuid", "email", "url",
    "enum", "ref",
)  # fmt: skip
DEFAULT_STR_LENGTH: Final = 255
MAX_STR_LENGTH: Final = 10_485_760  # PostgreSQL's largest varchar(n)
DEFAULT_DECIMAL: Final = (12, 2)
# SQLite stores decimals as 64-bit floats, which hold any 15 significant digits exactly.
MAX_DECIMAL_PRECISION: Final = 15
MAX_INTEGER: Final = 2**31 - 1  # the generated project's INTEGER columns (models/base.py)
MAX_FIELD_NAME_LENGTH: Final = 40
MAX_CHOICE_LENGTH: Final = 40
MAX_DEFAULT_LENGTH: Final = 40
MAX_IDENTIFIER_LENGTH: Final = 63  # PostgreSQL's, for index names
# `    name: EnumClass | None = Field(` fits in 100 columns.
MAX_ENUM_DECLARATION: Final = 78

# What else people call these types: suggested in the hint, never accepted.
TYPE_SYNONYMS: Final = {
    "string": "str", "varchar": "str", "char": "str", "integer": "int", "number": "float",
    "double": "float", "numeric": "decimal", "money": "decimal", "boolean": "bool",
    "timestamp": "datetime", "time": "datetime", "guid": "uuid", "uri": "url", "link": "url",
    "choice": "enum", "fk": "ref", "foreign_key": "ref", "reference": "ref",
}  # fmt: skip
RESERVED_FIELDS: Final = {
    "id": "every resource has it already",
    "created_at": "every resource has it already",
    "updated_at": "every resource has it already",
    "skip": "it is a query parameter of the list",
    "limit": "it is a query parameter of the list",
    "mine": "it is a query parameter of the list",
    "date": "the model module imports the type of that name",
    "datetime": "the model module imports the type of that name",
    # The model's class bodies use these names after the fields: a field must not hide them.
    "str": "the models use the type of that name",
    "int": "the models use the type of that name",
    "float": "the models use the type of that name",
    "bool": "the models use the type of that name",
    "classmethod": "the models use the decorator of that name",
    "field_validator": "the models use the decorator of that name",
}
# Attributes of SQLModel's models, which a field must not shadow.
MODEL_ATTRIBUTES: Final = frozenset(
    {
        "construct", "copy", "dict", "from_orm", "json", "metadata", "parse_file", "parse_obj",
        "parse_raw", "registry", "schema", "schema_json", "update_forward_refs", "validate",
    }
)  # fmt: skip
# Names the generated tests give their own variables, beside those of the references' rows.
REFERENCE_VARIABLES_TAKEN: Final = frozenset({"changes", "numbers", "referenced", "session"})
# Why a type cannot take `!`.
NOT_UNIQUE: Final = {
    "text": "a unique text needs an index over values of any length; use str:N",
    "bool": "a unique bool allows two rows",
    "enum": "a unique enum allows one row per value",
    "float": "equality of floats is rarely what you mean; use int or str",
    "decimal": "a unique decimal is rarely what you mean; use int or str",
}

_FIELD_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_CHOICE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")

FieldValue = str | int | float | Decimal | bool | date | datetime | UUID


@dataclass(frozen=True)
class FieldSpec:
    """One field of a resource, as parsed from `name:type[:arg][?][!][=default]`."""

    source: str  # as written
    name: str
    type: str  # one of FIELD_TYPES
    length: int | None = None  # str
    precision: int | None = None  # decimal: digits in all
    scale: int | None = None  # decimal: digits after the point
    choices: tuple[str, ...] = ()  # enum
    target: str | None = None  # ref: the referenced table, as written
    nullable: bool = False
    unique: bool = False
    default: FieldValue | None = None

    @property
    def column(self) -> str:
        """The column's name, which the API uses too: `author_id` for `author:ref:users`."""
        return f"{self.name}_id" if self.type == "ref" else self.name

    @property
    def required(self) -> bool:
        """A value must be given to create a row: it may not be null and has no default."""
        return not self.nullable and self.default is None


@dataclass(frozen=True)
class ResourceSpec:
    names: ResourceNames
    fields: tuple[FieldSpec, ...]
    owned: bool = False

    @property
    def command(self) -> str:
        """The command that adds this resource, as a user would type it."""
        words = ["neodyme", "add", "resource", self.names.singular]
        words += [field.source for field in self.fields]
        return shlex.join(words + (["--owned"] if self.owned else []))


def parse_resource(name: str, fields: list[str], *, owned: bool = False) -> ResourceSpec:
    """The spec of the resource `name` with `fields`, or an `InvalidResourceError` saying why
    it cannot be made."""
    names = resource_names(name)
    if not fields:
        raise InvalidResourceError(
            f"{names.singular} has no fields; give at least one.",
            hint=f"E.g. `neodyme add resource {names.singular} title:str`.",
        )
    specs = tuple(parse_field(text) for text in fields)
    columns = [spec.column for spec in specs] + (["owner_id"] if owned else [])
    for spec in specs:
        if columns.count(spec.column) > 1 or (owned and spec.name == "owner"):
            raise _field_error(
                spec.source,
                f"the column {spec.column} comes twice"
                + (" (--owned adds owner_id)" if owned else ""),
                "Give each field a name of its own.",
            )
        if spec.target in (names.singular, names.plural) and not spec.nullable:
            raise _field_error(
                spec.source,
                f"a required reference to {names.plural} itself leaves no way to make the first",
                f"Let it be null: add `?`, e.g. `{spec.name}:ref:{spec.target}?`.",
            )
        if spec.type == "enum":
            enum_class = names.class_name + pascal_case(spec.name)
            taken = [
                names.class_name + suffix
                for suffix in ("Base", "Create", "Update", "Public", "Filters")
            ]
            if enum_class in taken:
                raise _field_error(
                    spec.source,
                    f"its enum class {enum_class} would clash with the model {enum_class}",
                    "Give the field another name.",
                )
            if len(spec.name) + len(enum_class) > MAX_ENUM_DECLARATION:
                raise _field_error(
                    spec.source,
                    f"the field and its enum class {enum_class} have names too long to be "
                    "declared on one line",
                    "Shorten the field's name, or the resource's.",
                )
    indexed = [spec.column for spec in specs if spec.unique or spec.type == "ref"]
    for column in indexed + (["owner_id"] if owned else []):
        index = f"ix_{names.plural}_{column}"
        if len(index) > MAX_IDENTIFIER_LENGTH:
            raise InvalidResourceError(
                f"The index {index} would be {len(index)} characters long; PostgreSQL takes "
                f"{MAX_IDENTIFIER_LENGTH}.",
                hint="Shorten the resource's name or the field's.",
            )
    return ResourceSpec(names, specs, owned)


def parse_field(text: str) -> FieldSpec:
    """One field, `name:type[:arg][?][!][=default]`, checked."""
    source = text.strip()
    head, equals, raw_default = source.partition("=")
    nullable = unique = False
    while head.endswith(("?", "!")):
        nullable |= head.endswith("?")
        unique |= head.endswith("!")
        head = head[:-1]
    name, _, rest = head.partition(":")
    type_name, _, argument = rest.partition(":")
    if not name or not type_name:
        raise _field_error(
            source, "a field is `name:type`", f"Give a type, one of: {', '.join(FIELD_TYPES)}."
        )
    _check_field_name(source, name)
    spec = FieldSpec(source, name, _field_type(source, type_name), nullable=nullable, unique=unique)
    spec = _with_argument(spec, argument)
    if unique and spec.type in NOT_UNIQUE:
        raise _field_error(source, f"`!`: {NOT_UNIQUE[spec.type]}", "Leave out the `!`.")
    if equals:
        spec = _with_default(spec, raw_default)
    return spec


def _check_field_name(source: str, name: str) -> None:
    if not _FIELD_NAME.match(name) or keyword.iskeyword(name):
        raise _field_error(
            source,
            f"{name!r} is not a field name: use lower-case letters, digits and '_', "
            "starting with a letter",
            "E.g. `published_at`.",
        )
    if len(name) > MAX_FIELD_NAME_LENGTH:
        raise _field_error(
            source, f"a field name takes up to {MAX_FIELD_NAME_LENGTH} characters", "Shorten it."
        )
    if name in RESERVED_FIELDS:
        raise _field_error(source, f"{name!r} is reserved: {RESERVED_FIELDS[name]}", _rename(name))
    if name in MODEL_ATTRIBUTES or name.startswith(("model_", "sqlmodel_")):
        raise _field_error(
            source, f"{name!r} would shadow an attribute of the models", _rename(name)
        )


def _rename(name: str) -> str:
    return {
        "date": "Say what the date is of, e.g. `published_on:date`.",
        "datetime": "Say what the time is of, e.g. `starts_at:datetime`.",
        "id": "Every resource has `id`; a reference is `author:ref:users` (column author_id).",
    }.get(name, "Choose another name for the field.")


def _field_type(source: str, type_name: str) -> str:
    if type_name in FIELD_TYPES:
        return type_name
    guess = TYPE_SYNONYMS.get(type_name.lower()) or next(
        iter(difflib.get_close_matches(type_name.lower(), FIELD_TYPES, n=1, cutoff=0.6)), None
    )
    raise _field_error(
        source,
        f"unknown type {type_name!r}" + (f"; did you mean {guess!r}?" if guess else ""),
        f"Types: {', '.join(FIELD_TYPES)}.",
    )


def _with_argument(spec: FieldSpec, argument: str) -> FieldSpec:
    """The spec with its type's argument (`str:200`, `decimal:10,2`, `enum:a,b`, `ref:users`)."""
    source, kind = spec.source, spec.type
    if kind == "str":
        length = _integer(source, argument, "the length of a str") if argument else None
        if length is not None and not 1 <= length <= MAX_STR_LENGTH:
            raise _field_error(
                source, f"a str's length is 1 to {MAX_STR_LENGTH}", "E.g. `title:str:200`."
            )
        return replace(spec, length=length or DEFAULT_STR_LENGTH)
    if kind == "decimal":
        return _with_precision(spec, argument)
    if kind == "enum":
        return replace(spec, choices=_choices(source, argument))
    if kind == "ref":
        if not re.match(r"^[a-z][a-z0-9_]*$", argument):
            raise _field_error(
                source,
                "a reference names the table it refers to",
                f"E.g. `{spec.name}:ref:users`.",
            )
        if spec.name in REFERENCE_VARIABLES_TAKEN:
            raise _field_error(
                source,
                f"the tests keep the row a reference refers to in a variable of its name, and "
                f"they use {spec.name!r} for something else",
                "Choose another name for the field.",
            )
        if spec.name.endswith("_id"):
            raise _field_error(
                source,
                f"the column of a reference is its name plus _id: this one would be {spec.name}_id",
                f"Write `{spec.name.removesuffix('_id')}:ref:{argument}`.",
            )
        return replace(spec, target=argument)
    if argument:
        raise _field_error(source, f"{kind} takes no argument", f"Write `{spec.name}:{kind}`.")
    return spec


def _with_precision(spec: FieldSpec, argument: str) -> FieldSpec:
    source = spec.source
    if not argument:
        precision, scale = DEFAULT_DECIMAL
    else:
        digits, _, places = argument.partition(",")
        precision = _integer(source, digits, "a decimal's precision")
        scale = _integer(source, places, "a decimal's scale") if places else 0
    if not (1 <= precision <= MAX_DECIMAL_PRECISION and 0 <= scale <= precision):
        raise _field_error(
            source,
            f"a decimal's precision (digits in all) is 1 to {MAX_DECIMAL_PRECISION}, its scale "
            "(digits after the point) 0 to the precision",
            f"E.g. `{spec.name}:decimal:10,2`.",
        )
    return replace(spec, precision=precision, scale=scale)


def _choices(source: str, argument: str) -> tuple[str, ...]:
    choices = tuple(argument.split(",")) if argument else ()
    members = {choice.upper().replace("-", "_") for choice in choices}
    if len(choices) < 2 or len(members) < len(choices):
        raise _field_error(
            source,
            "an enum lists two values or more, all different",
            "E.g. `status:enum:draft,published`.",
        )
    for choice in choices:
        if not _CHOICE.match(choice) or len(choice) > MAX_CHOICE_LENGTH:
            raise _field_error(
                source,
                f"{choice!r} is not an enum value: up to {MAX_CHOICE_LENGTH} letters, digits, "
                "'-' or '_', starting with a letter",
                "E.g. `status:enum:draft,in-review,published`.",
            )
    return choices


def _with_default(spec: FieldSpec, raw: str) -> FieldSpec:
    """The spec with its default, read as a value of its type."""
    source, kind = spec.source, spec.type
    if kind == "ref":
        raise _field_error(source, "a reference has no default", "Let it be null instead: add `?`.")
    if spec.unique:
        raise _field_error(
            source, "a unique field with a default: only one row could take it", "Drop one."
        )
    try:
        value = _default_value(spec, raw)
    except ValueError as error:
        raise _field_error(
            source, f"the default {raw!r} is not {error}", _default_hint(spec)
        ) from None
    return replace(spec, default=value)


def _default_value(spec: FieldSpec, raw: str) -> FieldValue:
    """`raw` as a value of the field's type; a ValueError says what it should be."""
    kind = spec.type
    if kind in ("str", "text", "email", "url"):
        if len(raw) > MAX_DEFAULT_LENGTH or any(c in raw for c in '"\\') or not raw.isprintable():
            raise ValueError(
                f'a text of up to {MAX_DEFAULT_LENGTH} printable characters without " or \\'
            )
        if kind == "str" and spec.length is not None and len(raw) > spec.length:
            raise ValueError(f"a text of up to {spec.length} characters")
        if kind == "email":
            if not _EMAIL.match(raw.strip()):
                raise ValueError("an email address")
            return raw.strip().lower()
        if kind == "url":
            if not _URL.match(raw):
                raise ValueError("an http or https URL")
            return raw if re.search(r"^https?://[^/?#]+[/?#]", raw) else raw + "/"
        return raw
    if kind == "int":
        if not re.match(r"^-?\d+$", raw) or not -MAX_INTEGER - 1 <= int(raw) <= MAX_INTEGER:
            raise ValueError(f"an integer from {-MAX_INTEGER - 1} to {MAX_INTEGER}")
        return int(raw)
    if kind == "float":
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValueError("a finite number")
        return number
    if kind == "decimal":
        return _decimal(spec, raw)
    if kind == "bool":
        if raw.lower() not in ("true", "false"):
            raise ValueError("true or false")
        return raw.lower() == "true"
    if kind == "date":
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", raw):
            raise ValueError("a date, YYYY-MM-DD")
        return date.fromisoformat(raw)  # a ValueError names a day that does not exist
    if kind == "datetime":
        return _utc_datetime(raw)
    if kind == "uuid":
        try:
            return UUID(raw)
        except ValueError:
            raise ValueError("a UUID") from None
    if raw not in spec.choices:  # enum
        raise ValueError(f"one of {', '.join(spec.choices)}")
    return raw


def _decimal(spec: FieldSpec, raw: str) -> Decimal:
    assert spec.precision is not None and spec.scale is not None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        number = Decimal("NaN")
    whole_digits = spec.precision - spec.scale
    if (
        not number.is_finite()
        or abs(number) >= 10**whole_digits
        or number != number.quantize(Decimal(1).scaleb(-spec.scale))
    ):
        raise ValueError(
            f"a number of up to {whole_digits} digits before the point and {spec.scale} after"
        )
    return number.quantize(Decimal(1).scaleb(-spec.scale))


def _utc_datetime(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.utcoffset() is None:
        raise ValueError("a date and time with its offset, e.g. 2024-01-31T09:00:00Z")
    return value.astimezone(UTC)


def _default_hint(spec: FieldSpec) -> str:
    examples = {
        "str": "hello", "text": "hello", "int": "0", "float": "1.5", "decimal": "0.00",
        "bool": "false", "date": "2024-01-31", "datetime": "2024-01-31T09:00:00Z",
        "uuid": "7d444840-9dc0-11d1-b245-5ffdce74fad2", "email": "team@example.com",
        "url": "https://example.com/", "enum": spec.choices[0] if spec.choices else "",
    }  # fmt: skip
    written = spec.source.partition("=")[0]
    return f"E.g. `{written}={examples[spec.type]}`."


def _integer(source: str, text: str, what: str) -> int:
    if not text.isdigit():
        raise _field_error(
            source, f"{what} is a whole number, not {text!r}", "E.g. `title:str:200`."
        )
    return int(text)


def _field_error(source: str, reason: str, hint: str) -> InvalidResourceError:
    return InvalidResourceError(f"Field {source!r}: {reason}.", hint=hint)


def choice_member(choice: str) -> str:
    """The enum member of a value: `in-review` -> IN_REVIEW."""
    return choice.upper().replace("-", "_")
