"""The ordinary user: their own code where the README says it goes, then every module, in every
order. No conflict marker, every edit kept, the same files whatever the order, and a project
that passes its own checks.
"""

import itertools
import re
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from neodyme_cli.migrations import VERSIONS_DIR, heads
from neodyme_cli.modules import MODULES
from tests.projects import (
    USER_SETTING,
    add_items_router,
    add_phone_number_field,
    add_user_setting,
    commit,
    conflict_markers,
    package_dir,
    project_env,
    project_files,
    uv_run,
)

Cli = Callable[..., Result]
DEPENDENCY = "cachetools"


def make_user_project(cli: Cli, root: Path) -> tuple[Path, dict[str, str]]:
    """`neodyme new`, then the user's edits, each committed as they would."""
    assert cli("new", "demo", "--yes", cwd=root).exit_code == 0
    project = root / "demo"
    env = project_env(DATABASE_URL=f"sqlite+aiosqlite:///{project / 'demo.db'}")
    uv_run(project, "sync", env=env)
    uv_run(project, "run", "--no-sync", "alembic", "upgrade", "head", env=env)
    add_phone_number_field(project)
    uv_run(project, "run", "--no-sync", "alembic", "revision", "--autogenerate",
           "-m", "add phone number", env=env)  # fmt: skip
    commit(project, "Users have a phone number")
    add_items_router(project)
    commit(project, "An items API")
    add_user_setting(project)
    commit(project, "A setting of our own")
    uv_run(project, "add", DEPENDENCY, env=env)
    commit(project, f"Depend on {DEPENDENCY}")
    return project, env


def grow(
    cli: Cli, project: Path, remaining: tuple[str, ...], done: tuple[str, ...] = ()
) -> dict[tuple[str, ...], Path]:
    """Add the remaining modules in every order (copies share the steps they have in common)."""
    if not remaining:
        return {done: project}
    finished: dict[tuple[str, ...], Path] = {}
    for module in remaining:
        order = (*done, module)
        copy = project.parent.parent / "-".join(order) / project.name
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns(".venv", "*.db*"))
        result = cli("add", module, "--path", str(copy))
        assert result.exit_code == 0, f"add {module} after {done}: {result.output}"
        commit(copy, f"Add {module}")
        finished |= grow(cli, copy, tuple(m for m in remaining if m != module), order)
    return finished


def test_modules_in_every_order_keep_the_users_code_and_agree(
    cli: Cli, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    (tmp_path / "base").mkdir()
    project, env = make_user_project(cli, tmp_path / "base")
    edited = project_files(project)
    (revision,) = [name for name in edited if name.startswith(f"{VERSIONS_DIR.as_posix()}/")
                   and "phone_number" in name]  # fmt: skip

    grown = grow(cli, project, MODULES)

    assert sorted(grown) == sorted(itertools.permutations(MODULES))
    trees = {order: project_files(path) for order, path in grown.items()}
    first = next(iter(trees.values()))
    assert [order for order, files in trees.items() if files != first] == []
    assert conflict_markers(first) == []
    package = f"src/{package_dir(project).name}"
    assert first[revision] == edited[revision]
    assert first[f"{package}/routes/items.py"] == edited[f"{package}/routes/items.py"]
    routes = first[f"{package}/routes/__init__.py"].decode()
    assert "from . import items\n" in routes and "api_router.include_router(items.router)" in routes
    user_model = first[f"{package}/models/user.py"].decode()
    assert re.search(r"class UserBase\b[^\n]*:\n(?:    .*\n|\n)*    phone_number: str", user_model)
    name, value = USER_SETTING
    assert f"{name.lower()}: int = {value}" in first[f"{package}/core/config.py"].decode()
    assert first[".env.example"].decode().endswith(f"{name}={value}\n")
    assert f'"{DEPENDENCY}' in first["pyproject.toml"].decode()

    finished = next(iter(grown.values()))
    env |= {
        "DATABASE_URL": f"sqlite+aiosqlite:///{finished / 'checks.db'}",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "TEST_REDIS_URL": request.getfixturevalue("redis_url"),
    }
    uv_run(finished, "sync", env=env)
    for tool in (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)):
        uv_run(finished, "run", "--no-sync", *tool, env=env)
    tests = uv_run(finished, "run", "--no-sync", "pytest", "-p", "no:cacheprovider", env=env)
    assert " passed" in tests and " failed" not in tests, tests
    for migration in (("upgrade", "head"), ("check",)):
        uv_run(finished, "run", "--no-sync", "alembic", *migration, env=env)
    assert len(heads(finished)) == 1
