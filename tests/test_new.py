"""`neodyme new` through Typer's runner: what it makes, what it refuses, what it never leaves."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import Result

from neodyme_cli import project as project_module
from neodyme_cli.errors import GitError
from tests.conftest import git

Cli = Callable[..., Result]


def test_new_renders_commits_and_summarises(cli: Cli, tmp_path: Path) -> None:
    result = cli("new", "demo", "--yes", cwd=tmp_path)

    assert result.exit_code == 0, result.output
    project = tmp_path / "demo"
    for relative in ("pyproject.toml", "src/demo/main.py", "alembic.ini", ".env.example", ".env"):
        assert (project / relative).is_file(), relative
    assert git("status", "--porcelain", cwd=project) == ""  # .env is ignored, all else committed
    assert len(git("log", "--oneline", cwd=project).splitlines()) == 1
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == "~/.local/share/neodyme/template"
    assert answers["_commit"].startswith("0.")
    assert answers["database"] == "sqlite"
    assert not any(answers[module] for module in ("auth", "docker", "monitoring"))
    assert "uv run demo" in result.output
    assert "uv run pytest" in result.output


def test_options_become_answers(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "new", "shop-api", "--path", str(tmp_path / "x" / "shop"), "--database", "postgresql",
        "--no-git", cwd=tmp_path,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    project = tmp_path / "x" / "shop"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "shop-api"
    assert answers["database"] == "postgresql"
    assert (project / "src" / "shop_api" / "main.py").is_file()
    assert not (project / ".git").exists()


@pytest.mark.parametrize("name", ["1app", "class", "my app", "typing", "../x", ""])
def test_bad_names_exit_2_and_create_nothing(cli: Cli, tmp_path: Path, name: str) -> None:
    result = cli("new", name, "--yes", cwd=tmp_path)

    assert result.exit_code == 2
    assert "error:" in result.output and "hint:" in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []
    assert not (tmp_path.parent / "x").exists()


def test_non_empty_destination_is_refused_and_untouched(cli: Cli, tmp_path: Path) -> None:
    destination = tmp_path / "demo"
    destination.mkdir()
    (destination / "notes.txt").write_text("mine\n")

    result = cli("new", "demo", "--yes", cwd=tmp_path)

    assert result.exit_code == 1
    assert "not empty" in result.output
    assert [p.name for p in destination.iterdir()] == ["notes.txt"]
    assert (destination / "notes.txt").read_text() == "mine\n"
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_an_empty_destination_is_used(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()

    assert cli("new", "demo", "--yes", "--no-git", cwd=tmp_path).exit_code == 0
    assert (tmp_path / "demo" / "pyproject.toml").is_file()


def test_a_failure_leaves_no_half_written_directory(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_commit(*_args: object, **_kwargs: object) -> None:
        raise GitError("`git commit` failed: simulated")

    monkeypatch.setattr(project_module, "commit_all", broken_commit)

    result = cli("new", "demo", "--yes", cwd=tmp_path)

    assert result.exit_code == 1
    assert "simulated" in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_exits_130_and_leaves_nothing(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(_project: Path) -> list[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr(project_module, "sync_env_file", interrupted)

    result = cli("new", "demo", "--yes", cwd=tmp_path)

    assert result.exit_code == 130
    assert list(tmp_path.iterdir()) == []


def test_first_commit_works_without_a_git_identity(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)

    result = cli("new", "demo", "--yes", cwd=tmp_path)

    assert result.exit_code == 0, result.output
    assert "neodyme" in git("log", "--format=%an", cwd=tmp_path / "demo")


def test_env_file_gets_the_example_settings(cli: Cli, tmp_path: Path) -> None:
    assert cli("new", "demo", "--yes", cwd=tmp_path).exit_code == 0

    project = tmp_path / "demo"
    example_keys = {
        line.split("=", 1)[0]
        for line in (project / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    env_keys = {line.split("=", 1)[0] for line in (project / ".env").read_text().splitlines()}
    assert example_keys <= env_keys
    assert ".env" in git("check-ignore", ".env", cwd=project)


def test_without_a_terminal_it_never_waits_for_input(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "neodyme_cli", "new", "demo", "--no-git"],
        cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "demo" / "pyproject.toml").is_file()


def test_description_option_is_the_whole_description(cli: Cli, tmp_path: Path) -> None:
    result = cli("new", "demo", "--yes", "--no-git", "--description", "Orders and invoices",
                 cwd=tmp_path)  # fmt: skip

    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((tmp_path / "demo" / ".copier-answers.yml").read_text())
    assert answers["description"] == "Orders and invoices"
    assert (
        'description = "Orders and invoices"' in (tmp_path / "demo" / "pyproject.toml").read_text()
    )


def test_version_and_help(cli: Cli) -> None:
    version = cli("--version")
    assert version.exit_code == 0 and version.output.startswith("neodyme 0.")
    for args in (["--help"], ["new", "--help"], ["add", "--help"], ["update", "--help"],
                 ["check", "--help"]):  # fmt: skip
        result = cli(*args)
        assert result.exit_code == 0 and "Usage:" in result.output
