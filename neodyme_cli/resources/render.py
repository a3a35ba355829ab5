"""A resource rendered into a project: the files it writes, and the two it edits.

The templates in `templates/` are Jinja; what varies with the fields comes from fields.py, and
layout.py keeps every Python file as the project's ruff wants it. Nothing here writes a file:
the result is a `ResourcePlan`.
"""

import ast
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from neodyme_cli.resources.errors import (
    AuthRequiredError,
    ResourceExistsError,
    UnknownReferenceError,
)
from neodyme_cli.resources.fields import FieldCode, sample_body, sample_imports
from neodyme_cli.resources.layout import import_block, reflow, string_constant
from neodyme_cli.resources.names import ResourceNames, pluralize
from neodyme_cli.resources.project import Project, Table, references_of
from neodyme_cli.resources.spec import FieldSpec, ResourceSpec

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"
# Tables a resource cannot refer to: their ids are not integers, and they are not resources.
NOT_REFERABLE = frozenset({"auth_sessions"})


@dataclass(frozen=True)
class ResourcePlan:
    """What adding a resource changes: the whole new content of each file it writes or edits,
    by path relative to the project. The caller applies it and reports it."""

    project: Path
    spec: ResourceSpec  # its references resolved to the tables' names
    files: Mapping[PurePosixPath, str]
    created: tuple[PurePosixPath, ...]
    modified: tuple[PurePosixPath, ...]
    revision: str  # of its Alembic migration
    warnings: tuple[str, ...] = ()  # what the user has to finish by hand

    @property
    def path(self) -> str:
        return f"/api/v1/{self.spec.names.path}/"

    @property
    def summary(self) -> str:
        """One line for the report: what was added, and where it answers."""
        names = self.spec.names
        owned = ", each row owned by its creator" if self.spec.owned else ""
        return f"{names.plural_words} at {self.path} (table {names.plural}{owned})"


def render_resource(project: Project, spec: ResourceSpec) -> ResourcePlan:
    """The plan that adds `spec` to `project`, or the reason it cannot be added."""
    names = spec.names
    if spec.owned and not project.auth:
        raise AuthRequiredError(
            "--owned needs users who sign in, and the project has no auth module.",
            hint="Add it first with `neodyme add auth` (then commit), or leave out --owned.",
        )
    spec = replace(spec, fields=tuple(_resolved(project, spec, f) for f in spec.fields))
    revision = secrets.token_hex(6)  # as Alembic makes them: never one of the template's
    templates = _templates(project, names, revision)
    for path in templates:
        if (project.root / path).exists():
            raise ResourceExistsError(
                f"The project has {path} already: {names.singular} exists, or clashes with it.",
                hint="Choose another name, or remove what is there first.",
            )
    if names.plural in project.tables:
        raise ResourceExistsError(
            f"The project has a table {names.plural} already "
            f"(models/{project.tables[names.plural].module}.py).",
            hint="Choose another name.",
        )
    context = _context(project, spec, revision)
    files = {path: _render(template, context) for path, template in templates.items()}
    routes_init = project.package_dir / "routes" / "__init__.py"
    files[routes_init] = include_router((project.root / routes_init).read_text(), names.plural)
    readme = project.root / "README.md"
    files[PurePosixPath("README.md")] = with_section(
        readme.read_text() if readme.is_file() else "", _render("readme.md.jinja", context)
    )
    warnings = tuple(
        f"neodyme did not make the table {table.name}, so the tests of {names.plural} cannot "
        f"make rows of it by themselves: write saved_{table.singular}() in them."
        for table in context["references"]
        if table.spec is None and table.name != "users"
    )
    modified = (routes_init, PurePosixPath("README.md"))
    return ResourcePlan(project.root, spec, files, tuple(templates), modified, revision, warnings)


def _resolved(project: Project, spec: ResourceSpec, field_spec: FieldSpec) -> FieldSpec:
    """A `ref:` field with its table named as the project names it (`ref:user` is `users`)."""
    target = field_spec.target
    if target is None:
        return field_spec
    if target in (spec.names.singular, spec.names.plural):
        return replace(field_spec, target=spec.names.plural)
    for table in (target, pluralize(target)):
        if table in project.tables and table not in NOT_REFERABLE:
            return replace(field_spec, target=table)
    import difflib

    known = sorted(set(project.tables) - NOT_REFERABLE)
    close = difflib.get_close_matches(target, known, n=1, cutoff=0.6)
    raise UnknownReferenceError(
        f"Field {field_spec.source!r}: the project has no table {target!r} to refer to.",
        hint=f"Its tables: {', '.join(known)}." + (f" Did you mean {close[0]!r}?" if close else ""),
    )


def _templates(project: Project, names: ResourceNames, revision: str) -> dict[PurePosixPath, str]:
    """The files a resource writes, each with the template it is rendered from."""
    package, tests = project.package_dir, PurePosixPath("tests")
    migration = f"{revision}_create_the_{names.plural}_table.py"
    return {
        package / "models" / f"{names.singular}.py": "model.py.jinja",
        package / "repositories" / f"{names.singular}.py": "repository.py.jinja",
        package / "services" / f"{names.plural}.py": "service.py.jinja",
        package / "routes" / f"{names.plural}.py": "routes.py.jinja",
        PurePosixPath("alembic", "versions", migration): "revision.py.jinja",
        tests / "unit" / f"test_{names.singular}_service.py": "test_service.py.jinja",
        tests / "integration" / f"test_{names.singular}_repository.py": "test_repository.py.jinja",
        tests / "api" / f"test_{names.plural}.py": "test_api.py.jinja",
        tests / f"test_{names.plural}_migration.py": "test_migration.py.jinja",
    }


def _context(project: Project, spec: ResourceSpec, revision: str) -> dict[str, Any]:
    """What the templates see."""
    names = spec.names
    fields = _codes(spec)
    references = references_of(project, spec)
    unique = [f for f in fields if f.spec.unique]
    refs = [f for f in fields if f.type == "ref"]
    nullable = [f for f in fields if f.spec.nullable]
    not_refs = [f for f in fields if f.type != "ref"]
    owner = ["owner_id"] if spec.owned else []
    return {
        # names
        "package": project.package,
        "singular": names.singular,
        "plural": names.plural,
        "Class": names.class_name,
        "CONSTANT": names.singular.upper(),
        "words": names.words,
        "Words": names.words[:1].upper() + names.words[1:],
        "plural_words": names.plural_words,
        "path": names.path,
        "command": spec.command,
        # the project
        "auth": project.auth,
        "revision": revision,
        "down_revision": project.head,
        "references": references,
        "reference_of": {table.name: table for table in references},
        # the fields
        "owned": spec.owned,
        "fields": fields,
        "unique_fields": unique,
        "refs": refs,
        "required_refs": [f for f in refs if f.spec.required],
        "nullable_fields": nullable,
        "optional_fields": [f for f in fields if not f.spec.required],
        "not_null_columns": [f.column for f in fields if not f.spec.nullable],
        "update_rejects_some_nulls": bool(nullable) and len(nullable) < len(fields),
        "indexes": [(f.column, f.spec.unique) for f in fields if f.indexed]
        + [(column, False) for column in owner],
        "filter_probe": next((f for f in not_refs if f.filterable), None),
        "update_probe": next(iter(not_refs), None),
        "conflicts": bool(unique or refs),
        "conflict": _conflict_message(names, unique, refs, project.tables),
        "conflict_reason": _conflict_reason(unique, refs),
        "defaults": ", ".join(
            f'"{f.column}": {f.default_json()}' for f in fields if not f.spec.required
        ),
        "filter_names": _listed([f.column for f in fields if f.filterable] + owner),
        "public_names": _listed([f.column for f in fields] + owner),
        # helpers
        "uses": lambda *kinds: any(f.type in kinds for f in fields),
        "default_uses": lambda kind: any(
            f.type == kind and f.spec.default is not None for f in fields
        ),
        "imports": lambda statements: import_block(statements, first_party=project.package),
        "codes": _codes,
        "body": sample_body,
        "sample_imports": sample_imports,
        "helper_imports": _helper_imports(project.package, references),
        "constant": string_constant,
    }


def _codes(spec: ResourceSpec) -> list[FieldCode]:
    return [FieldCode(field_spec, spec.names.class_name) for field_spec in spec.fields]


def _listed(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _helper_imports(package: str, references: list[Table]) -> list[str]:
    """What the tests' saved_<row>() helpers import."""
    imports = ["from sqlmodel.ext.asyncio.session import AsyncSession"] if references else []
    for table in references:
        model = f"from {package}.models.{table.module} import {table.model}"
        if table.spec is None:  # users, or a table made by hand
            imports.append(model)
            continue
        repository = f"from {package}.repositories.{table.module} import {table.singular}"
        imports += [f"{model}, {table.model}Create", f"{repository}_repository"]
        imports += sample_imports(_codes(table.spec), required_only=True)
    return imports


def _conflict_message(
    names: ResourceNames,
    unique: list[FieldCode],
    refs: list[FieldCode],
    tables: Mapping[str, Table],
) -> str:
    """What a 409 on create or update says: which constraint may have fired."""
    parts = []
    if unique:
        parts.append(f"A {names.words} with this {' or '.join(f.column for f in unique)} exists")
    if refs:
        targets = {f.spec.target for f in refs}
        target = targets.pop() if len(targets) == 1 else None
        if target == names.plural:
            what = names.words
        elif target is not None and target in tables:
            what = tables[target].words
        else:
            what = "row"
        parts.append(f"{' or '.join(f.column for f in refs)} refers to no {what}")
    return ", or ".join(parts) or f"The {names.words} conflicts with the current state of the data"


def _conflict_reason(unique: list[FieldCode], refs: list[FieldCode]) -> str:
    """When a create or an update answers 409, for the README."""
    reasons = []
    if unique:
        reasons.append(f"if {' or '.join(f'`{f.column}`' for f in unique)} is taken")
    if refs:
        reasons.append(f"if {' or '.join(f'`{f.column}`' for f in refs)} refers to no row")
    return " or ".join(reasons)


@cache
def _environment() -> "jinja2.Environment":
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Python and Markdown, not HTML
    )


def _render(template: str, context: dict[str, Any]) -> str:
    text = _environment().get_template(template).render(context)
    if template.endswith(".py.jinja"):
        text = reflow(text)
    return _tidy(text)


def _tidy(text: str) -> str:
    """No trailing spaces, at most two blank lines in a row, one newline at the end."""
    kept: list[str] = []
    for line in text.split("\n"):
        if line.strip() or kept[-2:] != ["", ""]:
            kept.append(line.rstrip())
    return "\n".join(kept).strip("\n") + "\n"


def include_router(source: str, module: str) -> str:
    """routes/__init__.py with the router of routes/<module>.py included in `api_router`.

    The module joins a `from . import ...` there is (isort would merge them), else is imported
    before the other relative imports, or after all imports; the include ends the file.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    relative = [node for node in imports if isinstance(node, ast.ImportFrom) and node.level]
    same_package = [node for node in relative if node.level == 1 and not node.module]
    if same_package:
        node = same_package[0]
        names = sorted({alias.name for alias in node.names} | {module}, key=str.lower)
        statement = reflow(f"from . import {', '.join(names)}") + "\n"
        lines[node.lineno - 1 : node.end_lineno] = [statement]
    elif relative:
        lines.insert(relative[0].lineno - 1, f"from . import {module}\n")
    else:
        after_imports = (imports[-1].end_lineno or 0) if imports else 0
        lines.insert(after_imports, f"\nfrom . import {module}\n")
    text = "".join(lines).rstrip("\n") + "\n"
    if tree.body and isinstance(
        tree.body[-1], ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    ):
        text += "\n\n"  # two blank lines after a function or a class
    return f"{text}api_router.include_router({module}.router)\n"


def with_section(readme: str, section: str) -> str:
    """README.md with `section` at its end, where the template's README has its Resources."""
    return readme.rstrip("\n") + "\n\n" + section if readme.strip() else section
