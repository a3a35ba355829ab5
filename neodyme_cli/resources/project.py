"""What a resource needs to know of the project it goes into, read from its files.

Its package and whether auth is on (from its answers), the Alembic revision to build on, and
its tables: each model module's `table=True` classes, and for those neodyme made, the spec their
module records, so that a later resource's tests can make rows of them. Nothing is imported.
"""

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from neodyme_cli.resources.errors import InvalidResourceError, ProjectNotReadyError
from neodyme_cli.resources.names import snake_case
from neodyme_cli.resources.spec import ResourceSpec, parse_resource

# How a model module made by neodyme records its resource (see templates/model.py.jinja).
RECORD = re.compile(
    r"Made by `neodyme add resource (?P<name>\S+)(?P<owned> --owned)?` with the fields:\n"
    r"(?P<fields>(?:    \S.*\n?)+)"
)


@dataclass(frozen=True)
class Table:
    """A table of the project, as its model module declares it."""

    name: str  # users
    model: str  # User
    module: str  # user, for models/user.py
    spec: ResourceSpec | None = None  # how neodyme made it, if it did

    @property
    def singular(self) -> str:
        """What the tests call a row of it: their helper is saved_<singular>()."""
        return self.spec.names.singular if self.spec else snake_case(self.model)

    @property
    def words(self) -> str:
        return self.singular.replace("_", " ")


@dataclass(frozen=True)
class Project:
    root: Path
    package: str
    auth: bool
    head: str  # the Alembic revision a new one goes on top of
    tables: Mapping[str, Table] = field(default_factory=dict)

    @property
    def package_dir(self) -> PurePosixPath:
        return PurePosixPath("src", self.package)


def read_project(root: Path, answers: Mapping[str, Any]) -> Project:
    """The project at `root`, made with `answers` (its .copier-answers.yml, already read)."""
    from neodyme_cli.migrations import heads
    from neodyme_cli.names import package_name

    package = package_name(str(answers["project_name"]))
    source = root / "src" / package
    routes_init = source / "routes" / "__init__.py"
    needed = [routes_init, source / "routes" / "deps.py", source / "routes" / "params.py"]
    if not all(path.is_file() for path in needed) or "api_router" not in routes_init.read_text():
        raise ProjectNotReadyError(
            f"{root.name} was made by an older neodyme: resources build on routes/deps.py, "
            "routes/params.py and the api_router of routes/__init__.py.",
            hint="Bring it up to date with `neodyme update`, commit, then retry.",
        )
    project_heads = heads(root)
    if len(project_heads) != 1:
        raise ProjectNotReadyError(
            f"The project's migrations have {len(project_heads)} heads "
            f"({', '.join(project_heads) or 'none'}); a new revision needs one to go on top of.",
            hint="Merge them: uv run alembic merge heads -m 'merge', commit, then retry.",
        )
    tables = _tables(source / "models")
    return Project(root, package, bool(answers.get("auth")), project_heads[0], tables)


def references_of(project: Project, spec: ResourceSpec) -> list[Table]:
    """The tables whose rows the resource's tests make: those it refers to, and for each one
    neodyme made, those that one needs in turn (its required references, its owner). Users
    first. `spec` has its references resolved to table names."""
    found: dict[str, Table] = {}
    pending = [f.target for f in spec.fields if f.target and f.target != spec.names.plural]
    pending += ["users"] if spec.owned else []
    while pending:
        table = project.tables[pending.pop()]
        if table.name in found:
            continue
        found[table.name] = table
        if table.spec is not None:
            pending += [f.target for f in table.spec.fields if f.target and f.required]
            pending += ["users"] if table.spec.owned else []
    return sorted(found.values(), key=lambda table: (table.name != "users", table.name))


def _tables(models_dir: Path) -> dict[str, Table]:
    """The tables of the model modules, by name, with the specs neodyme recorded in them."""
    tables = {}
    for path in sorted(models_dir.glob("*.py")):
        module = ast.parse(path.read_text(), filename=str(path))
        spec = _recorded_spec(ast.get_docstring(module) or "")
        for node in module.body:
            if isinstance(node, ast.ClassDef) and _is_table(node):
                name = _table_name(node)
                tables[name] = Table(name, node.name, path.stem, spec)
    return tables


def _is_table(node: ast.ClassDef) -> bool:
    return any(
        keyword.arg == "table" and isinstance(keyword.value, ast.Constant) and keyword.value.value
        for keyword in node.keywords
    )


def _table_name(node: ast.ClassDef) -> str:
    for statement in node.body:
        if (
            isinstance(statement, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in statement.targets)
            and isinstance(statement.value, ast.Constant)
        ):
            return str(statement.value.value)
    return node.name.lower()  # SQLModel's default


def _recorded_spec(docstring: str) -> ResourceSpec | None:
    """The spec a model module made by neodyme records, or None (made by hand, or edited)."""
    found = RECORD.search(docstring)
    if found is None:
        return None
    fields = [line.strip() for line in found["fields"].splitlines() if line.strip()]
    try:
        return parse_resource(found["name"], fields, owned=bool(found["owned"]))
    except InvalidResourceError:  # the record was edited into something else: as if hand-made
        return None
