"""The installed wheel: the template ships inside it, and projects outlive the environment."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import git, install_wheel

pytestmark = pytest.mark.xdist_group("wheels")  # one worker builds the wheels, once
# Any attempt to reach the network from neodyme would go through this dead proxy and fail.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "ALL_PROXY": "http://127.0.0.1:9", "GIT_TERMINAL_PROMPT": "0"}  # fmt: skip


def neodyme(executable: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(executable), *args], cwd=cwd, env={**os.environ, **OFFLINE},
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_installed_wheel_creates_and_grows_projects_after_a_reinstall(
    head_wheel: Path, tmp_path: Path
) -> None:
    first = install_wheel(head_wheel, tmp_path / "venv-one")
    elsewhere = tmp_path / "unrelated"
    elsewhere.mkdir()

    created = neodyme(first, "new", "demo", "--yes", cwd=elsewhere)

    assert created.returncode == 0, created.stderr
    project = elsewhere / "demo"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert "venv-one" not in answers["_src_path"]
    assert answers["_src_path"].startswith("~/")

    shutil.rmtree(tmp_path / "venv-one")
    second = install_wheel(head_wheel, tmp_path / "venv-two")
    added = neodyme(second, "add", "auth", cwd=project)

    assert added.returncode == 0, added.stderr + added.stdout
    assert (project / "src" / "demo" / "routes" / "auth.py").is_file()
    assert "routes/auth.py" in git("status", "--porcelain", "--untracked-files=all", cwd=project)
