"""`neodyme add resource` through the CLI, in a project that keeps growing: the resource is
written all or nothing, survives the modules added after it, and is protected by auth when
auth comes later. (What the slice holds and that it passes its checks: test_resources.py.)"""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from tests.conftest import git
from tests.projects import commit, conflict_markers, project_files

Cli = Callable[..., Result]
POST = ("resource", "post", "title:str:200", "body:text?")


def resource_files(project: Path) -> dict[str, bytes]:
    """The files a `post` resource wrote or edited."""
    return {
        path: content
        for path, content in project_files(project).items()
        if "post" in path or path.endswith("routes/__init__.py")
    }


@pytest.fixture
def project(cli: Cli, tmp_path: Path) -> Path:
    assert cli("new", "demo", "--yes", cwd=tmp_path).exit_code == 0
    return tmp_path / "demo"


def test_a_resource_is_written_and_reported(cli: Cli, project: Path) -> None:
    result = cli("add", *POST, "--path", str(project))

    assert result.exit_code == 0, result.output
    assert "Added resource post" in result.output
    for path in ("src/demo/models/post.py", "src/demo/routes/posts.py", "tests/api/test_posts.py"):
        assert path in result.output
        assert (project / path).is_file()
    assert (
        "api_router.include_router(posts.router)"
        in (project / "src/demo/routes/__init__.py").read_text()
    )


def test_a_resource_needs_a_committed_tree_and_a_second_one_is_refused(
    cli: Cli, project: Path
) -> None:
    assert cli("add", *POST, "--path", str(project)).exit_code == 0
    dirty = cli("add", "resource", "comment", "body:text", "--path", str(project))
    commit(project)
    before = project_files(project)
    again = cli("add", *POST, "--path", str(project))

    assert dirty.exit_code == 1
    assert "uncommitted" in dirty.output
    assert again.exit_code == 2
    assert "post" in again.output
    assert project_files(project) == before


def test_a_write_that_fails_halfway_leaves_the_project_as_it_was(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = project_files(project)
    renames = 0
    original_replace = os.replace

    def replace_until_the_disk_fills(source: Path, destination: Path) -> None:
        nonlocal renames
        renames += 1
        if renames == 5:  # some files are in place already
            raise OSError(28, "No space left on device")
        original_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace_until_the_disk_fills)

    result = cli("add", *POST, "--path", str(project))

    assert result.exit_code == 1
    assert renames > 5  # the ones made were undone
    assert project_files(project) == before
    assert git("status", "--porcelain", cwd=project) == ""


@pytest.mark.parametrize("module", ["auth", "monitoring", "docker"])
def test_a_resource_survives_the_modules_added_after_it(
    cli: Cli, project: Path, module: str
) -> None:
    assert cli("add", *POST, "--path", str(project)).exit_code == 0
    commit(project, "add posts")
    written = resource_files(project)

    result = cli("add", module, "--path", str(project))

    assert result.exit_code == 0, result.output
    assert conflict_markers(project_files(project)) == []
    assert resource_files(project) == written


def test_auth_added_after_a_resource_protects_it(cli: Cli, project: Path) -> None:
    assert cli("add", *POST, "--path", str(project)).exit_code == 0
    commit(project, "add posts")
    deps = project / "src/demo/routes/deps.py"
    assert "SIGNED_IN: list[params.Depends] = []" in deps.read_text()

    assert cli("add", "auth", "--path", str(project)).exit_code == 0

    # The posts router is declared with SIGNED_IN, which now requires a signed-in user.
    assert "dependencies=SIGNED_IN" in (project / "src/demo/routes/posts.py").read_text()
    assert "Depends(get_current_user)" in deps.read_text()
