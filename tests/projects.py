"""What tests do to generated projects: a user's ordinary edits, installs, comparisons.

The edits go where the generated README says a user's code goes (routers, settings, models,
migrations, environment variables, dependencies), so `add` and `update` must never conflict
with them, whatever the template's other contents.
"""

import ast
import os
import re
import subprocess
from pathlib import Path

import uv

from neodyme_cli.migrations import VERSIONS_DIR, heads
from tests.conftest import git

USER_SETTING = ("ITEMS_PER_PAGE", "20")
USER_REVISION_ID = "c0ffee000001"
ITEMS_ROUTER = '''"""The team's own items API."""

from fastapi import APIRouter

router = APIRouter(prefix="/items", tags=["items"])


@router.get("/")
async def list_items() -> list[str]:
    """Every item: none yet."""
    return []
'''
USER_REVISION = '''"""Add the users' phone numbers."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "{revision}"
down_revision: str | Sequence[str] | None = "{parent}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("phone_number", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("phone_number")
'''


def commit(project: Path, message: str = "user edits") -> None:
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", message, cwd=project)


def package_dir(project: Path) -> Path:
    (package,) = (project / "src").iterdir()
    return package


def add_items_router(project: Path) -> None:
    """A router of the user's own, included in `api_router` as routes/__init__.py says."""
    routes = package_dir(project) / "routes"
    (routes / "items.py").write_text(ITEMS_ROUTER)
    insert_after_imports(routes / "__init__.py", "from . import items")
    append(routes / "__init__.py", "api_router.include_router(items.router)\n")


def add_user_setting(project: Path) -> None:
    """A field of the user's `Settings`, and its line at the end of `.env.example`."""
    name, value = USER_SETTING
    append_to_class(package_dir(project) / "core" / "config.py", "Settings",
                    f"{name.lower()}: int = {value}")  # fmt: skip
    append(project / ".env.example", f"{name}={value}\n")


def add_phone_number_field(project: Path) -> None:
    append_to_class(package_dir(project) / "models" / "user.py", "UserBase",
                    "phone_number: str | None = None")  # fmt: skip


def add_phone_number_revision(project: Path, parent: str | None = None) -> Path:
    """The migration of `add_phone_number_field`, as autogenerate writes it (fixed id)."""
    (head,) = [parent] if parent else heads(project)
    path = project / VERSIONS_DIR / f"{USER_REVISION_ID}_add_phone_number.py"
    path.write_text(USER_REVISION.format(revision=USER_REVISION_ID, parent=head))
    return path


def insert_after_imports(path: Path, line: str) -> None:
    source = path.read_text()
    imports = [node for node in ast.parse(source).body
               if isinstance(node, ast.Import | ast.ImportFrom)]  # fmt: skip
    last = imports[-1]
    lines = source.splitlines(keepends=True)
    assert last.end_lineno is not None
    # A relative import opens its own block (isort): a blank line before it.
    lines.insert(last.end_lineno, f"\n{line}\n")
    path.write_text("".join(lines))


def append_to_class(path: Path, class_name: str, line: str) -> None:
    """Add `line` as the last statement of a top-level class."""
    source = path.read_text()
    (node,) = [node for node in ast.parse(source).body
               if isinstance(node, ast.ClassDef) and node.name == class_name]  # fmt: skip
    lines = source.splitlines(keepends=True)
    assert node.end_lineno is not None
    last = node.body[-1]
    only_a_docstring = isinstance(last, ast.Expr) and isinstance(last.value, ast.Constant)
    blank = "\n" if only_a_docstring else ""  # ruff format: a blank line after a docstring
    lines.insert(node.end_lineno, f"{blank}{' ' * (node.col_offset + 4)}{line}\n")
    path.write_text("".join(lines))


def append(path: Path, text: str) -> None:
    existing = path.read_text()
    path.write_text(existing + ("" if existing.endswith("\n") else "\n") + text)


def project_files(root: Path) -> dict[str, bytes]:
    """A project's own files: tracked or not, but not those git ignores (.env, .venv, *.db)."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=root)
    return {
        name: (root / name).read_bytes()
        for name in sorted(set(listed.split("\0")) - {""})
        if (root / name).is_file()
    }


def without_revision_parents(files: dict[str, bytes]) -> dict[str, bytes]:
    """Files with every revision's `down_revision` value blanked: what re-parenting changes."""
    pattern = re.compile(rb"^(down_revision\b[^=]*=).*$", re.MULTILINE)
    return {
        name: pattern.sub(rb"\1 ...", content) if name.startswith("alembic/versions/") else content
        for name, content in files.items()
    }


def conflict_markers(files: dict[str, bytes]) -> list[str]:
    return [name for name, content in files.items()
            if re.search(rb"^(<<<<<<<|>>>>>>>) ", content, re.MULTILINE)]  # fmt: skip


def project_env(**settings: str) -> dict[str, str]:
    """The environment to run a generated project's tools in: not the suite's own venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTEST_"))}
    env |= {"UV_PYTHON": "python3", "UV_NO_PROGRESS": "1", **settings}
    return env


def run(project: Path, *command: str, env: dict[str, str], timeout: float = 900) -> str:
    """Run a command in the project; on failure show its whole output."""
    completed = subprocess.run(
        command, cwd=project, env=env, capture_output=True, text=True, timeout=timeout
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"`{' '.join(command)}` failed:\n{output}"
    return output


def uv_run(project: Path, *command: str, env: dict[str, str]) -> str:
    return run(project, uv.find_uv_bin(), *command, env=env)


def passes_its_checks(project: Path, env: dict[str, str], *, timeout: float = 900) -> None:
    """Everything CI runs for the project, and its migrations up, checked and down. Every
    test runs: services are real, nothing may skip. `timeout` bounds each command."""
    uv_bin = uv.find_uv_bin()
    run(project, uv_bin, "sync", "--python", "python3", env=env, timeout=timeout)
    for tool in (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)):
        run(project, uv_bin, "run", "--no-sync", *tool, env=env, timeout=timeout)
    tests = run(project, uv_bin, "run", "--no-sync", "pytest", "-p", "no:cacheprovider",
                env=env, timeout=timeout)  # fmt: skip
    assert " passed" in tests and " skipped" not in tests, tests
    for migration in (("upgrade", "head"), ("check",), ("downgrade", "base")):
        run(project, uv_bin, "run", "--no-sync", "alembic", *migration, env=env, timeout=timeout)
