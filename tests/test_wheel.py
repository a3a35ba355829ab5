"""The installed wheel: the template ships inside it, and projects outlive the environment."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import uv
import yaml

from tests.conftest import git

REPO = Path(__file__).resolve().parent.parent
# Any attempt to reach the network from neodyme would go through this dead proxy and fail.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "ALL_PROXY": "http://127.0.0.1:9", "GIT_TERMINAL_PROMPT": "0"}  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [uv.find_uv_bin(), "build", "--wheel", "--out-dir", str(out), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    (built,) = out.glob("neodyme-*.whl")
    return built


def install(wheel: Path, venv: Path) -> Path:
    uv_bin = uv.find_uv_bin()
    subprocess.run([uv_bin, "venv", "--quiet", "--python", "python3", str(venv)], check=True)
    subprocess.run(
        [uv_bin, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
        check=True,
    )
    return venv / "bin" / "neodyme"


def neodyme(executable: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(executable), *args], cwd=cwd, env={**os.environ, **OFFLINE},
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_installed_wheel_creates_and_grows_projects_after_a_reinstall(
    wheel: Path, tmp_path: Path
) -> None:
    first = install(wheel, tmp_path / "venv-one")
    elsewhere = tmp_path / "unrelated"
    elsewhere.mkdir()

    created = neodyme(first, "new", "demo", "--yes", cwd=elsewhere)

    assert created.returncode == 0, created.stderr
    project = elsewhere / "demo"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert "venv-one" not in answers["_src_path"]
    assert answers["_src_path"].startswith("~/")

    shutil.rmtree(tmp_path / "venv-one")
    second = install(wheel, tmp_path / "venv-two")
    added = neodyme(second, "add", "auth", cwd=project)

    assert added.returncode == 0, added.stderr + added.stdout
    assert (project / "src" / "demo" / "routes" / "auth.py").is_file()
    assert "routes/auth.py" in git("status", "--porcelain", "--untracked-files=all", cwd=project)
