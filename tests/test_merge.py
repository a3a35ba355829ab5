"""The merge machinery of `add` and `update`, on a tiny template of two versions.

A tiny template keeps these tests fast and independent of neodyme's real template: version 1
has a file that version 2 drops, version 2 adds settings to `.env.example` and an Alembic
revision. Projects are real git repositories with user edits in them.
"""

import errno
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy

from neodyme_cli import merge
from neodyme_cli.errors import InterruptedAfterMerge, TemplateError
from neodyme_cli.merge import MergeReport, merge_template, record_source
from neodyme_cli.migrations import heads
from neodyme_cli.project import read_answers
from neodyme_cli.template_source import (
    find_target,
    find_version,
    recorded_src_path,
    template_repository,
)
from tests.conftest import git
from tests.projects import add_phone_number_revision, append, commit, project_files

OLD, NEW = "0.1.0+aaaaaaaaaaaa", "0.1.1+bbbbbbbbbbbb"
REVISION = '''"""{doc}"""

revision = "{revision}"
down_revision = {parent!r}


def upgrade() -> None:
    pass
'''
OLD_FILES = {
    "copier.yml": "_subdirectory: template\n_templates_suffix: .jinja\n"
    "project_name:\n  type: str\n",
    "template/.copier-answers.yml.jinja": "{{ _copier_answers | to_nice_yaml }}",
    "template/.gitignore": ".env\n",
    "template/README.md.jinja": "# {{ project_name }}\n\nThe team's service.\n",
    "template/.env.example": "APP_NAME=demo\n\n# Yours below this line.\n",
    "template/dropped.py": "OLD = 1\n",
    "template/unchanged_then_dropped.py": "GONE = 1\n",
    "template/alembic/versions/0001_users.py": REVISION.format(
        doc="Users.", revision="0001", parent=None
    ),
}
NEW_FILES = {
    **{name: text for name, text in OLD_FILES.items() if "dropped" not in name},
    "template/README.md.jinja": "# {{ project_name }}\n\nThe team's service, version 2.\n",
    "template/.env.example": "APP_NAME=demo\nSECRET_KEY=change-me\nNEW_SETTING=on\n\n"
    "# Yours below this line.\n",
    "template/alembic/versions/0002_nicknames.py": REVISION.format(
        doc="Nicknames.", revision="0002", parent="0001"
    ),
}


def publish(repo: Path, files: dict[str, str], tag: str) -> None:
    for entry in repo.iterdir():
        if entry.name != ".git":
            git("rm", "-rq", "--ignore-unmatch", entry.name, cwd=repo)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    commit(repo, f"template {tag}")
    git("tag", tag, cwd=repo)


@pytest.fixture
def tiny_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder whose template repository holds the two versions of the tiny template."""
    monkeypatch.setenv("NEODYME_HOME", str(tmp_path / "neodyme-data"))
    repo = template_repository()
    repo.mkdir(parents=True)
    git("init", "-q", cwd=repo)
    publish(repo, OLD_FILES, OLD)
    publish(repo, NEW_FILES, NEW)
    return repo


@pytest.fixture
def project(tiny_template: Path, tmp_path: Path) -> Path:
    """A project made from version 1, committed, with a `.env` of its own."""
    project = tmp_path / "demo"
    run_copy(str(tiny_template), project, data={"project_name": "demo"}, vcs_ref=OLD,
             defaults=True, quiet=True)  # fmt: skip
    record_source(project / ".copier-answers.yml", "~/.local/share/neodyme/template", OLD)
    git("init", "-q", cwd=project)
    commit(project, "Create demo")
    (project / ".env").write_text("APP_NAME=mine\n")
    return project


def update(project: Path) -> MergeReport:
    return merge_template(
        project, action="update", data={}, answers=read_answers(project),
        base=find_version(OLD), target=find_target(NEW),
    )  # fmt: skip


def test_a_clean_merge_reports_every_change(project: Path) -> None:
    report = update(project)

    assert report.conflicts == ()
    assert sorted(map(str, report.changed("added"))) == ["alembic/versions/0002_nicknames.py"]
    assert sorted(map(str, report.changed("deleted"))) == [
        "dropped.py", "unchanged_then_dropped.py"
    ]  # fmt: skip
    assert {".copier-answers.yml", ".env.example", "README.md"} <= set(
        map(str, report.changed("modified"))
    )
    assert (report.from_version, report.to_version) == (OLD, NEW)
    assert "version 2" in (project / "README.md").read_text()
    assert not (project / "dropped.py").exists()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["_commit"], answers["_src_path"]) == (NEW, recorded_src_path())


def test_the_scratch_worktree_is_gone_afterwards(project: Path) -> None:
    update(project)

    assert not [path.name for path in (project / ".git").glob("neodyme-merge-*")]
    assert git("worktree", "list", "--porcelain", cwd=project).count("worktree ") == 1


def test_env_gets_only_the_settings_the_template_added(project: Path) -> None:
    append(project / ".env.example", "TEAM_FLAG=on\n")  # the user's own: never copied to .env
    commit(project)

    report = update(project)

    assert report.env_added == ("SECRET_KEY", "NEW_SETTING")
    env = dict(line.split("=", 1) for line in (project / ".env").read_text().splitlines())
    assert env["APP_NAME"] == "mine"  # the user's value stays
    assert env["NEW_SETTING"] == "on"
    assert len(env["SECRET_KEY"]) >= 40 and env["SECRET_KEY"] != "change-me"
    assert "TEAM_FLAG" not in env
    assert "TEAM_FLAG=on" in (project / ".env.example").read_text()


def test_a_file_the_template_dropped_but_the_user_changed_is_kept(project: Path) -> None:
    append(project / "dropped.py", "MINE = 2\n")
    commit(project)

    report = update(project)

    assert [str(path) for path in report.kept] == ["dropped.py"]
    assert (project / "dropped.py").read_text() == "OLD = 1\nMINE = 2\n"
    assert [str(path) for path in report.changed("deleted")] == ["unchanged_then_dropped.py"]
    assert not (project / "unchanged_then_dropped.py").exists()


def test_conflicts_are_listed_with_the_other_changes(project: Path) -> None:
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("The team's service.", "Our own words."))
    commit(project)

    report = update(project)

    assert [str(path) for path in report.conflicts] == ["README.md"]
    text = readme.read_text()
    assert "<<<<<<< " in text and "Our own words." in text and "version 2" in text
    assert len(report.changes) > 1  # the clean changes are reported as well
    assert report.env_added  # and the rest of the merge happened


def test_template_revisions_follow_the_users_head(project: Path) -> None:
    add_phone_number_revision(project)  # the user's own, on top of 0001
    commit(project)

    report = update(project)

    assert [(moved.revision, moved.new_parents) for moved in report.reparented] == [
        ("0002", ("c0ffee000001",))
    ]
    assert heads(project) == ["0002"]
    text = (project / "alembic" / "versions" / "0002_nicknames.py").read_text()
    assert 'down_revision = "c0ffee000001"\n' in text
    assert (
        text.replace('"c0ffee000001"', "'0001'")
        == NEW_FILES["template/alembic/versions/0002_nicknames.py"]
    )  # every other byte as the template wrote it


def test_without_revisions_of_the_users_nothing_is_reparented(project: Path) -> None:
    report = update(project)

    assert report.reparented == ()
    assert heads(project) == ["0002"]


@pytest.mark.parametrize("failure", ["copier", "disk full while moving in"])
def test_a_failed_merge_leaves_the_project_as_it_was(
    project: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    before = project_files(project)
    env_before = (project / ".env").read_text()
    if failure == "copier":

        def broken_update(**_options: object) -> None:
            raise TemplateError("simulated")

        monkeypatch.setattr(merge, "_copier_update", lambda *args: broken_update())
        expected: type[Exception] = TemplateError
    else:
        real_replace, real_move_in = os.replace, merge._move_in
        moved: list[Path] = []

        def replace_until_the_disk_fills(source: Path, destination: Path) -> None:
            moved.append(Path(destination))
            if len(moved) == 4:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(destination))
            real_replace(source, destination)

        def move_in_on_a_filling_disk(*args: Any, **kwargs: Any) -> None:
            with monkeypatch.context() as during_the_move_in:
                during_the_move_in.setattr(os, "replace", replace_until_the_disk_fills)
                real_move_in(*args, **kwargs)

        monkeypatch.setattr(merge, "_move_in", move_in_on_a_filling_disk)
        expected = OSError

    with pytest.raises(expected):
        update(project)

    assert project_files(project) == before
    assert (project / ".env").read_text() == env_before
    assert git("status", "--porcelain", cwd=project) == ""


def test_ctrl_c_during_the_move_in_finishes_it_first(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_move_in: Callable[..., None] = merge._move_in

    def interrupted_move_in(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, right as the move-in starts
        real_move_in(*args, **kwargs)

    monkeypatch.setattr(merge, "_move_in", interrupted_move_in)

    with pytest.raises(InterruptedAfterMerge) as caught:
        update(project)

    assert caught.value.report.env_added == ("SECRET_KEY", "NEW_SETTING")
    assert "SECRET_KEY=" in (project / ".env").read_text()
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == NEW
    assert not list((project / ".git").glob("neodyme-merge-*"))
