"""`neodyme update` and `neodyme check`: projects made by older neodymes, brought current.

Old projects are made as their users made them: by the code of neodyme 0.1.0 itself (taken
from this repository's history), or by a wheel built from it. "Equal to a fresh project"
compares every file a project holds (git's view: ignored files such as .env left out).
"""

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import Result

from neodyme_cli.history import template_states
from neodyme_cli.migrations import VERSIONS_DIR, heads
from tests.conftest import REPO, build_wheel, git, install_wheel
from tests.projects import (
    add_items_router,
    add_phone_number_field,
    add_phone_number_revision,
    add_user_setting,
    append_to_class,
    commit,
    conflict_markers,
    project_env,
    project_files,
    uv_run,
    without_revision_parents,
)

Cli = Callable[..., Result]
OLD_RELEASE = "0.1.0"
OLD_DEFAULT_DESCRIPTION = "A production-shaped FastAPI backend"  # 0.1.0 recorded its default
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "ALL_PROXY": "http://127.0.0.1:9", "GIT_TERMINAL_PROMPT": "0"}  # fmt: skip


@pytest.fixture(scope="session")
def old_release_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """neodyme 0.1.0's package and template, from the last commit of main that declares it."""
    releases = [state for state in template_states(REPO) if state.version == OLD_RELEASE]
    if not releases:
        pytest.fail(f"No commit declares {OLD_RELEASE}: a shallow clone? git fetch --unshallow")
    code = tmp_path_factory.mktemp("neodyme-0.1.0")
    archive = subprocess.run(["git", "archive", releases[-1].commit], cwd=REPO,
                             capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    return code


@pytest.fixture
def made_by_0_1_0(old_release_code: Path) -> Callable[..., Path]:
    """Make a project with neodyme 0.1.0's own `new`."""

    def make(destination: Path, *options: str) -> Path:
        completed = subprocess.run(
            [sys.executable, "-m", "neodyme_cli", "new", "demo", "--yes", "--path",
             str(destination), *options],
            cwd=destination.parent, env={**os.environ, "PYTHONPATH": str(old_release_code)},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert completed.returncode == 0, completed.stdout + completed.stderr
        assert yaml.safe_load((destination / ".copier-answers.yml").read_text())[
            "_commit"
        ].startswith(f"{OLD_RELEASE}+")
        return destination

    return make


def fresh(cli: Cli, destination: Path, *options: str) -> Path:
    """A project of the installed version, with the answers 0.1.0 recorded by default."""
    result = cli("new", "demo", "--yes", "--description", OLD_DEFAULT_DESCRIPTION,
                 "--path", str(destination), *options)  # fmt: skip
    assert result.exit_code == 0, result.output
    return destination


def test_check_says_a_new_project_is_current(cli: Cli, tmp_path: Path) -> None:
    assert cli("new", "demo", "--yes", cwd=tmp_path).exit_code == 0

    human = cli("check", "--path", str(tmp_path / "demo"))
    machine = cli("check", "--json", "--path", str(tmp_path / "demo"))

    assert human.exit_code == 0, human.output
    assert "Current" in human.output
    assert machine.exit_code == 0
    result = json.loads(machine.stdout)
    assert result["current"] is True and result["from"] == result["to"]
    assert result["changes"] == []


def test_update_of_a_current_project_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    assert cli("new", "demo", "--yes", cwd=tmp_path).exit_code == 0
    project = tmp_path / "demo"
    before = project_files(project)

    result = cli("update", "--path", str(project))

    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.output
    assert project_files(project) == before


def test_a_0_1_0_project_is_behind_then_updates_to_a_fresh_projects_files(
    cli: Cli, tmp_path: Path, made_by_0_1_0: Callable[..., Path]
) -> None:
    project = made_by_0_1_0(tmp_path / "demo")
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"]

    behind = cli("check", "--path", str(project))
    behind_json = cli("check", "--json", "--path", str(project))
    updated = cli("update", "--path", str(project))

    assert behind.exit_code == 1, behind.output
    assert recorded in behind.output and "Behind" in behind.output
    result = json.loads(behind_json.stdout)
    assert behind_json.exit_code == 1
    assert (result["current"], result["from"]) == (False, recorded)
    assert {"path": ".copier-answers.yml", "change": "modified"} in result["changes"]
    assert updated.exit_code == 0, updated.output
    assert "conflict" not in updated.output.lower()
    commit(project, "Update")
    assert cli("check", "--path", str(project)).exit_code == 0
    assert project_files(project) == project_files(fresh(cli, tmp_path / "fresh"))


@pytest.mark.parametrize(
    "steps",
    [
        ("update", "auth", "docker", "monitoring"),
        ("auth", "update", "monitoring", "docker"),
        ("monitoring", "docker", "auth", "update"),
    ],
    ids="-".join,
)
def test_new_with_every_module_equals_new_then_add_and_update_in_any_order(
    cli: Cli, tmp_path: Path, made_by_0_1_0: Callable[..., Path], steps: tuple[str, ...]
) -> None:
    project = made_by_0_1_0(tmp_path / "demo")
    for step in steps:
        command = ["update"] if step == "update" else ["add", step]
        result = cli(*command, "--path", str(project))
        assert result.exit_code == 0, f"{step}: {result.output}"
        commit(project, step)

    everything = fresh(cli, tmp_path / "fresh", "--auth", "--docker", "--monitoring")
    assert project_files(project) == project_files(everything)


def test_a_project_newer_than_neodyme_asks_to_upgrade_it(cli: Cli, tmp_path: Path) -> None:
    assert cli("new", "demo", "--yes", cwd=tmp_path).exit_code == 0
    project = tmp_path / "demo"
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("_commit: 0.", "_commit: 99."))
    commit(project, "Made by a future neodyme")
    before = project_files(project)

    for command in (["check"], ["update"], ["add", "auth"]):
        result = cli(*command, "--path", str(project))
        assert result.exit_code == 1, result.output
        assert "newer than this neodyme" in result.output, result.output
        assert "pip install --upgrade neodyme" in result.output
    assert project_files(project) == before


def test_an_unknown_exact_version_falls_back_to_its_release_with_a_warning(
    cli: Cli, tmp_path: Path, made_by_0_1_0: Callable[..., Path]
) -> None:
    project = made_by_0_1_0(tmp_path / "demo")
    answers = project / ".copier-answers.yml"
    text = answers.read_text()
    recorded = yaml.safe_load(text)["_commit"]
    answers.write_text(text.replace(recorded, f"{OLD_RELEASE}+000000000000"))
    commit(project, "Made from an edited neodyme checkout elsewhere")

    checked = cli("check", "--path", str(project))
    added = cli("add", "docker", "--path", str(project))

    assert checked.exit_code == 1 and "does not have" in checked.output, checked.output
    assert added.exit_code == 0, added.output
    assert f"release {OLD_RELEASE}" in added.output
    assert (project / "Dockerfile").is_file()


def test_update_to_a_version_neodyme_lacks_lists_those_it_has(cli: Cli, tmp_path: Path) -> None:
    assert cli("new", "demo", "--yes", cwd=tmp_path).exit_code == 0

    unknown = cli("update", "--to", "9.9.9", "--path", str(tmp_path / "demo"))
    downgrade = cli("update", "--to", OLD_RELEASE, "--path", str(tmp_path / "demo"))

    assert unknown.exit_code == 2 and "9.9.9" in unknown.output
    assert f"{OLD_RELEASE}," in unknown.output  # the releases it has
    assert downgrade.exit_code == 2 and "does not downgrade" in downgrade.output


def next_release(source: Path, destination: Path) -> str:
    """Make `destination` a clone of `source` with one more commit: a higher version whose
    template has a schema change (a column on the users table and its revision)."""
    git("clone", "--quiet", str(source), str(destination), cwd=destination.parent)
    init = destination / "neodyme_cli" / "__init__.py"
    text = init.read_text()
    version = text.split('__version__ = "', 1)[1].split('"', 1)[0]
    major, minor, *_ = version.split(".")
    newer = f"{major}.{int(minor) + 1}.0"
    init.write_text(text.replace(f'__version__ = "{version}"', f'__version__ = "{newer}"'))
    template = destination / "template"
    (models,) = [path for path in template.glob("src/*/models/user.py*")]
    append_to_class(models, "User", "nickname: str | None = None")
    versions = template / VERSIONS_DIR
    (head,) = heads(template)
    (versions / "0099_add_user_nicknames.py").write_text(
        f'''"""Add the users' nicknames."""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0099"
down_revision: str | Sequence[str] | None = "{head}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("nickname", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("nickname")
'''
    )
    commit(destination, f"Release {newer}: users get a nickname")
    return newer


@pytest.fixture(scope="session")
def next_release_wheel(
    neodyme_source: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    source = tmp_path_factory.mktemp("next") / "neodyme"
    version = next_release(neodyme_source, source)
    return build_wheel(source, tmp_path_factory.mktemp("dist-next")), version


def user_edits(project: Path, revision_parent: str) -> None:
    add_items_router(project)
    add_user_setting(project)
    add_phone_number_field(project)
    add_phone_number_revision(project, parent=revision_parent)


def insert_users(database: Path, count: int) -> None:
    """Rows in the users table, whatever its required columns are."""
    with sqlite3.connect(database) as connection:
        columns = connection.execute("PRAGMA table_info(users)").fetchall()
        required = [(name, kind) for _, name, kind, not_null, default, pk in columns
                    if not_null and default is None and not pk]  # fmt: skip
        for number in range(count):
            values = [
                f"user{number}@example.com" if name == "email"
                else 0 if kind.upper() in {"INTEGER", "BOOLEAN"}
                else "2026-01-01 00:00:00.000000" if kind.upper().startswith("DATETIME")
                else f"{name} {number}"
                for name, kind in required
            ]  # fmt: skip
            names = ", ".join(name for name, _ in required)
            marks = ", ".join("?" for _ in required)
            connection.execute(f"INSERT INTO users ({names}) VALUES ({marks})", values)


def offline_home(parent: Path) -> Path:
    """A home folder of its own (so an empty neodyme data folder) with a git identity."""
    home = parent / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Test User\n\temail = test@example.com\n")
    return home


def run_offline(
    executable: Path, *args: str, cwd: Path, home: Path
) -> subprocess.CompletedProcess[str]:
    """An installed neodyme, run with that home and no network."""
    return subprocess.run(
        [str(executable), *args], cwd=cwd, env={**os.environ, "HOME": str(home), **OFFLINE},
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.xdist_group("wheels")
def test_a_newer_neodyme_with_an_empty_data_folder_grows_and_updates_old_projects(
    head_wheel: Path, next_release_wheel: tuple[Path, str], tmp_path: Path
) -> None:
    newer_wheel, newer = next_release_wheel
    home = offline_home(tmp_path)

    def neodyme(executable: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return run_offline(executable, *args, cwd=cwd, home=home)

    first = install_wheel(head_wheel, tmp_path / "venv-first")
    assert neodyme(first, "new", "demo", "--yes", cwd=tmp_path).returncode == 0
    project = tmp_path / "demo"
    (parent,) = heads(project)
    user_edits(project, parent)
    commit(project, "Items, a setting, phone numbers")
    tools = project_env(HOME=str(home))
    uv_run(project, "sync", env=tools)
    uv_run(project, "run", "--no-sync", "alembic", "upgrade", "head", env=tools)
    insert_users(project / "demo.db", 3)
    commit(project, "Lock the dependencies")  # uv.lock
    # Only the newer neodyme from here, with nothing in its data folder.
    for leftover in (tmp_path / "venv-first", home / ".local" / "share" / "neodyme"):
        subprocess.run(["rm", "-rf", str(leftover)], check=True)
    second = install_wheel(newer_wheel, tmp_path / "venv-second")

    checked = neodyme(second, "check", cwd=project)
    added = neodyme(second, "add", "auth", cwd=project)
    commit(project, "Add auth")
    updated = neodyme(second, "update", cwd=project)
    commit(project, f"Update to {newer}")

    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert f"{newer}+" in checked.stdout and "models/user.py" in checked.stdout
    assert added.returncode == 0, added.stdout + added.stderr
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert neodyme(second, "check", cwd=project).returncode == 0
    files = project_files(project)
    assert conflict_markers(files) == []
    assert b"phone_number" in files["src/demo/models/user.py"]
    assert b"nickname" in files["src/demo/models/user.py"]
    assert heads(project) == ["0099"]  # re-parented onto the user's revision: one head
    uv_run(project, "sync", env=tools)
    uv_run(project, "run", "--no-sync", "alembic", "upgrade", "head", env=tools)
    with sqlite3.connect(project / "demo.db") as connection:
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (3,)
        columns = {row[1] for row in connection.execute("PRAGMA table_info(users)")}
    assert {"phone_number", "nickname"} <= columns

    assert neodyme(second, "new", "demo", "--yes", "--auth", "--path", "fresh",
                   cwd=tmp_path).returncode == 0  # fmt: skip
    user_edits(tmp_path / "fresh", parent)
    expected = project_files(tmp_path / "fresh")
    files.pop("uv.lock")
    assert without_revision_parents(files) == without_revision_parents(expected)


@pytest.mark.xdist_group("wheels")
def test_resources_survive_an_update_and_its_migration_goes_after_theirs(
    head_wheel: Path, next_release_wheel: tuple[Path, str], tmp_path: Path
) -> None:
    newer_wheel, _ = next_release_wheel
    home = offline_home(tmp_path)
    project = tmp_path / "demo"

    def neodyme(executable: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return run_offline(executable, *args, cwd=project, home=home)

    first = install_wheel(head_wheel, tmp_path / "venv-first")
    created = run_offline(first, "new", "demo", "--yes", "--auth", cwd=tmp_path, home=home)
    assert created.returncode == 0, created.stderr
    added = neodyme(first, "add", "resource", "gadget", "label:str:80", "maker:ref:users")
    assert added.returncode == 0, added.stdout + added.stderr
    commit(project, "Gadgets")
    (resource_head,) = heads(project)
    resource_files = {
        path: content for path, content in project_files(project).items() if "gadget" in path
    }
    second = install_wheel(newer_wheel, tmp_path / "venv-second")

    updated = neodyme(second, "update")

    assert updated.returncode == 0, updated.stdout + updated.stderr
    files = project_files(project)
    assert conflict_markers(files) == []
    assert {path: files[path] for path in resource_files} == resource_files
    assert b"include_router(gadgets.router)" in files["src/demo/routes/__init__.py"]
    assert heads(project) == ["0099"]
    nickname_revision = files["alembic/versions/0099_add_user_nicknames.py"]
    assert f'down_revision: str | Sequence[str] | None = "{resource_head}"'.encode() in (
        nickname_revision
    )


def test_a_0_1_0_auth_project_with_rows_reaches_the_new_schema_through_update(
    cli: Cli, tmp_path: Path, made_by_0_1_0: Callable[..., Path]
) -> None:
    project = made_by_0_1_0(tmp_path / "demo", "--auth")
    tools = project_env(SECRET_KEY="a-secret-key-for-the-tests-only-long-enough-for-hmac")
    uv_run(project, "sync", env=tools)
    uv_run(project, "run", "--no-sync", "alembic", "upgrade", "head", env=tools)
    emails = ["Ada@Example.com", "grace@example.com", "GRACE@example.com"]
    with sqlite3.connect(project / "demo.db") as connection:
        for number, email in enumerate(emails):
            connection.execute(
                "INSERT INTO users (email, full_name, is_active, hashed_password, is_superuser,"
                " created_at, updated_at) VALUES (?, ?, 1, 'x', 0, ?, ?)",
                (email, f"User {number}", "2026-01-01 00:00:00", "2026-01-01 00:00:00"),
            )
    commit(project, "Lock the dependencies")  # uv.lock

    updated = cli("update", "--path", str(project))

    assert updated.exit_code == 0, updated.output
    uv_run(project, "sync", env=tools)
    uv_run(project, "run", "--no-sync", "alembic", "upgrade", "head", env=tools)
    uv_run(project, "run", "--no-sync", "alembic", "check", env=tools)
    with sqlite3.connect(project / "demo.db") as connection:
        rows = connection.execute("SELECT email, token_version FROM users ORDER BY id").fetchall()
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    # Every row is kept; GRACE@ keeps its spelling, as grace@ holds the address in lower case.
    assert rows == [("ada@example.com", 0), ("grace@example.com", 0), ("GRACE@example.com", 0)]
    assert "auth_sessions" in tables
