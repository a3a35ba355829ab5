"""Every generated variant, proven as its owner would: install, lint, type-check, test, migrate.

Each variant is rendered with pytest-copie, installed from its own pyproject.toml into
its own environment (uv, shared cache, the machine's python) and must pass its own checks.
"""

import itertools
import secrets
import sys
from pathlib import Path
from typing import Any

import pytest

from neodyme_cli.modules import DATABASES, MODULES
from tests.projects import passes_its_checks, project_env, run

MODULE_SETS = [
    combo for size in range(len(MODULES) + 1) for combo in itertools.combinations(MODULES, size)
]
VARIANTS = [(database, modules) for database in DATABASES for modules in MODULE_SETS]


def variant_id(variant: tuple[str, tuple[str, ...]]) -> str:
    database, modules = variant
    return "-".join([database, *modules]) if modules else f"{database}-core"


def render(copie: Any, template: Path, database: str, modules: tuple[str, ...]) -> Path:
    """Render from the suite's snapshot of copier.yml and template/, never the repository."""
    answers: dict[str, str | bool] = {"project_name": "demo-app", "database": database}
    answers |= {module: module in modules for module in MODULES}
    result = copie.copy(extra_answers=answers, template_dir=template)
    assert result.exit_code == 0, result.exception
    assert result.project_dir is not None
    return Path(result.project_dir)


def check_statically(project: Path, modules: tuple[str, ...], *, env: dict[str, str]) -> None:
    """What a container engine or GitHub would reject, checked without either."""
    tools = Path(sys.executable).parent
    check_jsonschema = str(tools / "check-jsonschema")
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert workflows, "the project has no GitHub workflow"
    run(project, check_jsonschema, "--builtin-schema", "vendor.github-workflows",
        *map(str, workflows), env=env)  # fmt: skip
    dockerfile, compose = project / "Dockerfile", project / "compose.yaml"
    assert dockerfile.is_file() == compose.is_file() == ("docker" in modules)
    if "docker" in modules:
        run(project, str(tools / "hadolint"), "--failure-threshold", "style", "Dockerfile", env=env)
        run(project, check_jsonschema, "--builtin-schema", "vendor.compose-spec", "compose.yaml",
            env=env)  # fmt: skip


@pytest.mark.variant
@pytest.mark.parametrize(("database", "modules"), VARIANTS, ids=map(variant_id, VARIANTS))
def test_variant_passes_its_own_checks(
    copie: Any,
    template_snapshot: Path,
    request: pytest.FixtureRequest,
    database: str,
    modules: tuple[str, ...],
) -> None:
    project = render(copie, template_snapshot, database, modules)
    env = project_env()
    if database == "postgresql":
        url = request.getfixturevalue("postgres_database")
        env["DATABASE_URL"] = env["TEST_DATABASE_URL"] = url
    else:
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{project / 'migrations-check.db'}"
    if "auth" in modules:
        env["TEST_REDIS_URL"] = request.getfixturevalue("redis_url")
        # Alembic loads the settings, and auth requires a key (`neodyme new` writes one to .env).
        env["SECRET_KEY"] = secrets.token_urlsafe(48)

    check_statically(project, modules, env=env)
    passes_its_checks(project, env)
