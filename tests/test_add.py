"""`neodyme add` on real git repositories, modelled on Copier's own update tests:
copy, commit, edit, add, then assert exact contents, markers, refusals, equivalence."""

import shutil
from collections.abc import Callable
from difflib import SequenceMatcher
from pathlib import Path

import copier
import pytest
import yaml
from typer.testing import Result

from neodyme_cli.modules import MODULES
from tests.conftest import git

Cli = Callable[..., Result]


@pytest.fixture
def project(cli: Cli, tmp_path: Path) -> Path:
    assert cli("new", "demo", "--yes", cwd=tmp_path).exit_code == 0
    return tmp_path / "demo"


def commit(project: Path, message: str = "user edits") -> None:
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", message, cwd=project)


def tree(root: Path) -> dict[str, bytes]:
    """Every file of a project but git's own and the git-ignored .env (it holds a random key)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts and path.name != ".env"
    }


@pytest.mark.parametrize("module", MODULES)
def test_added_module_equals_generated_module(cli: Cli, tmp_path: Path, module: str) -> None:
    assert cli("new", "demo", "--yes", f"--{module}", "--path", "with", cwd=tmp_path).exit_code == 0
    assert cli("new", "demo", "--yes", "--path", "later", cwd=tmp_path).exit_code == 0

    result = cli("add", module, "--path", str(tmp_path / "later"))

    assert result.exit_code == 0, result.output
    generated, added = tree(tmp_path / "with"), tree(tmp_path / "later")
    assert sorted(generated) == sorted(added)
    differing = [name for name in generated if generated[name] != added[name]]
    assert differing == []


def test_add_keeps_user_edits(cli: Cli, project: Path) -> None:
    users_route = project / "src" / "demo" / "routes" / "users.py"
    main_module = project / "src" / "demo" / "main.py"
    own_route = '\n\n@router.get("/ping")\nasync def ping() -> dict[str, int]:\n    return {}\n'
    users_route.write_text(users_route.read_text() + own_route)
    main_module.write_text("# Owned by the demo team.\n" + main_module.read_text())
    commit(project)

    result = cli("add", "auth", "--path", str(project))

    assert result.exit_code == 0, result.output
    assert users_route.read_text().endswith(own_route)
    assert main_module.read_text().startswith("# Owned by the demo team.\n")
    assert "<<<<<<<" not in users_route.read_text() + main_module.read_text()
    assert (project / "src" / "demo" / "core" / "security.py").is_file()
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["auth"] is True
    assert "SECRET_KEY=" in (project / ".env").read_text()
    assert "auth" in result.output


def edit_a_line_the_module_changes(project: Path, with_module: Path) -> Path:
    """Rewrite, in `project`, the first line of a shared file that the module changes too
    (compared with `with_module`, the same project generated with it): a true conflict,
    whatever the template's contents."""
    for theirs_path in sorted(with_module.rglob("*")):
        relative = theirs_path.relative_to(with_module)
        ours_path = project / relative
        if relative.parts[0] == ".git" or relative.name in (".copier-answers.yml", ".env"):
            continue
        if not (theirs_path.is_file() and ours_path.is_file()):
            continue
        ours = ours_path.read_text().splitlines(keepends=True)
        theirs = theirs_path.read_text().splitlines(keepends=True)
        for tag, start, _end, _, _ in SequenceMatcher(None, ours, theirs).get_opcodes():
            if tag != "equal":
                ours[min(start, len(ours) - 1)] = "# the team's own line\n"
                ours_path.write_text("".join(ours))
                return relative
    raise AssertionError("the module changes no shared file")


def test_conflicting_edit_leaves_markers_lists_files_and_exits_1(cli: Cli, tmp_path: Path) -> None:
    assert cli("new", "demo", "--yes", "--auth", "--path", "with", cwd=tmp_path).exit_code == 0
    assert cli("new", "demo", "--yes", "--path", "demo", cwd=tmp_path).exit_code == 0
    project = tmp_path / "demo"
    conflicted = edit_a_line_the_module_changes(project, tmp_path / "with")
    commit(project)

    result = cli("add", "auth", "--path", str(project))

    assert result.exit_code == 1
    assert str(conflicted) in result.output and "conflict" in result.output.lower()
    assert "git add -A && git commit" in result.output
    assert "src/demo/core/security.py" in result.output  # the clean changes are listed too
    text = (project / conflicted).read_text()
    assert "<<<<<<< " in text and ">>>>>>> " in text
    assert "# the team's own line" in text


def test_dirty_tree_is_refused_and_untouched(cli: Cli, project: Path) -> None:
    main_module = project / "src" / "demo" / "main.py"
    main_module.write_text(main_module.read_text() + "# not committed\n")
    before = tree(project)

    result = cli("add", "auth", "--path", str(project))

    assert result.exit_code == 1
    assert "uncommitted" in result.output and "git stash" in result.output
    assert tree(project) == before


@pytest.mark.parametrize("make", ["empty", "plain-git"])
def test_not_a_neodyme_project_is_refused(cli: Cli, tmp_path: Path, make: str) -> None:
    if make == "plain-git":
        git("init", "-q", cwd=tmp_path)
        (tmp_path / "README.md").write_text("# mine\n")
        commit(tmp_path)
    before = tree(tmp_path)

    result = cli("add", "auth", "--path", str(tmp_path))

    assert result.exit_code == 2
    assert "not a neodyme project" in result.output
    assert tree(tmp_path) == before


def test_unknown_module_is_refused(cli: Cli, project: Path) -> None:
    result = cli("add", "billing", "--path", str(project))

    assert result.exit_code == 2
    assert "auth, docker, monitoring" in result.output
    assert "Did you mean" not in result.output


def test_a_misspelt_module_gets_a_suggestion(cli: Cli, project: Path) -> None:
    result = cli("add", "auht", "--path", str(project))

    assert result.exit_code == 2
    assert "Did you mean 'auth'?" in result.output


def test_module_already_present_changes_nothing(cli: Cli, tmp_path: Path) -> None:
    assert cli("new", "demo", "--yes", "--auth", cwd=tmp_path).exit_code == 0
    project = tmp_path / "demo"
    before = tree(project)

    result = cli("add", "auth", "--path", str(project))

    assert result.exit_code == 0
    assert "already" in result.output
    assert tree(project) == before
    assert git("status", "--porcelain", cwd=project) == ""


def test_a_failed_add_restores_the_project(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree(project)

    def half_done_update(*, dst_path: Path, **_kwargs: object) -> None:
        (Path(dst_path) / "src" / "demo" / "main.py").write_text("half written\n")
        (Path(dst_path) / "stray.py").write_text("x = 1\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(copier, "run_update", half_done_update)

    result = cli("add", "auth", "--path", str(project))

    assert result.exit_code == 130
    assert tree(project) == before
    assert git("status", "--porcelain", cwd=project) == ""


def test_add_works_when_the_template_repository_was_wiped(
    cli: Cli, project: Path, isolated_home: Path
) -> None:
    shutil.rmtree(isolated_home / ".local" / "share" / "neodyme")

    result = cli("add", "docker", "--path", str(project))

    assert result.exit_code == 0, result.output
    assert (project / "Dockerfile").is_file()
