"""The template history neodyme carries: rebuilt from main's commits, the same everywhere,
and loaded into an empty data folder so old projects can be merged offline."""

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import Result

from neodyme_cli import __version__, template_source
from neodyme_cli.history import folder_digest, template_states, write_bundle
from neodyme_cli.template_source import current_release, template_repository
from tests.conftest import REPO, git

Cli = Callable[..., Result]
# What every project made by neodyme 0.1.0 records as its template: it must stay findable.
RELEASE_0_1_0 = "0.1.0+4eeaaee0921d"


@pytest.fixture(scope="module")
def bundle_refs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    bundle = tmp_path_factory.mktemp("history") / "history.bundle"
    assert write_bundle(REPO, bundle)
    heads = git("bundle", "list-heads", str(bundle), cwd=bundle.parent)
    return {ref.removeprefix("refs/tags/"): sha for sha, ref in map(str.split, heads.splitlines())}


def test_the_history_tags_every_committed_state_and_every_release(
    bundle_refs: dict[str, str],
) -> None:
    states = template_states(REPO)
    assert {state.ref for state in states} <= bundle_refs.keys()
    assert RELEASE_0_1_0 in bundle_refs
    assert bundle_refs["0.1.0"] == bundle_refs[RELEASE_0_1_0]  # 0.1.0's last commit
    latest = [state for state in states if state.version == states[-1].version][-1]
    assert bundle_refs[latest.version] == bundle_refs[latest.ref]


def test_a_committed_state_has_the_digest_of_its_checkout(tmp_path: Path) -> None:
    release = [state for state in template_states(REPO) if state.version == "0.1.0"][-1]
    archive = subprocess.run(["git", "archive", release.commit], cwd=REPO, capture_output=True,
                             check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive, check=True)

    assert release.ref == RELEASE_0_1_0
    assert folder_digest(tmp_path).startswith(release.digest)


def test_the_history_is_the_same_on_every_machine(
    bundle_refs: dict[str, str], tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(REPO), str(clone), cwd=tmp_path)
    assert write_bundle(clone, tmp_path / "again.bundle")

    again = git("bundle", "list-heads", str(tmp_path / "again.bundle"), cwd=tmp_path)
    refs = {ref.removeprefix("refs/tags/"): sha for sha, ref in map(str.split, again.splitlines())}
    assert refs == bundle_refs


def test_an_empty_data_folder_is_filled_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEODYME_HOME", str(tmp_path / "data"))

    current_release()
    loaded = (template_repository() / ".git" / "neodyme-history").stat().st_mtime_ns
    current_release()

    tags = git("tag", cwd=template_repository()).split()
    assert RELEASE_0_1_0 in tags and "0.1.0" in tags and __version__ in tags
    assert (template_repository() / ".git" / "neodyme-history").stat().st_mtime_ns == loaded


def test_a_project_from_an_edited_checkout_falls_back_to_its_release_elsewhere(
    cli: Cli, tmp_path: Path, template_snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = tmp_path / "edited-neodyme"
    shutil.copytree(template_snapshot, edited)
    readme = next((edited / "template").glob("README.md*"))
    readme.write_text(readme.read_text() + "\nEdited in a checkout.\n")
    monkeypatch.setattr(template_source, "bundled_template_dir", lambda: edited)
    monkeypatch.setenv("NEODYME_HOME", str(tmp_path / "my-data"))
    assert cli("new", "demo", "--yes", cwd=tmp_path).exit_code == 0
    project = tmp_path / "demo"
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"]
    assert recorded == f"{__version__}+{folder_digest(edited)[:12]}"
    # A teammate: the unedited neodyme, and a data folder that never saw the edited template.
    monkeypatch.setattr(template_source, "bundled_template_dir", lambda: template_snapshot)
    monkeypatch.setenv("NEODYME_HOME", str(tmp_path / "teammate-data"))

    result = cli("add", "docker", "--path", str(project))

    assert result.exit_code == 0, result.output
    assert f"records template {recorded}" in result.output
    assert f"release {__version__}" in result.output
    assert (project / "Dockerfile").is_file()
    assert "Edited in a checkout." in (project / "README.md").read_text()  # as if the user's
