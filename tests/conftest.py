"""Shared fixtures: an isolated home for every test, the CLI runner, real services."""

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from neodyme_cli import template_source
from neodyme_cli.cli import app
from neodyme_cli.history import TEMPLATE_FILES

REPO = Path(__file__).resolve().parent.parent
# uv's and pip's caches outlive the per-test home below, so projects install from them.
UV_CACHE_DIR = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")
PIP_CACHE_DIR = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_HOST = os.environ.get("NEODYME_TEST_POSTGRES_HOST", "127.0.0.1")
REDIS_URL = os.environ.get("NEODYME_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def home_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    return home


@pytest.fixture(scope="session")
def template_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain copy of copier.yml and template/, taken once: what every test renders.

    Never the repository itself: a project generated inside the clone (the README's first
    command makes ./myapp) or an edit made while the suite runs cannot change what is tested.
    """
    snapshot = tmp_path_factory.mktemp("template")
    for name in TEMPLATE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, snapshot / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, snapshot / name)
    return snapshot


@pytest.fixture(autouse=True)
def rendered_from_snapshot(template_snapshot: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """neodyme, run in-process, takes its template from the snapshot."""
    monkeypatch.setattr(template_source, "bundled_template_dir", lambda: template_snapshot)


@pytest.fixture(autouse=True)
def isolated_home(home_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing a test does touches the real home: template store, git and Copier config."""
    monkeypatch.setenv("HOME", str(home_dir))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "NEODYME_HOME", "GIT_CONFIG_GLOBAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("UV_CACHE_DIR", UV_CACHE_DIR)
    monkeypatch.setenv("PIP_CACHE_DIR", PIP_CACHE_DIR)
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    return home_dir


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `neodyme ARGS` through Typer's runner, in `cwd` when given."""

    def run(*args: str, cwd: Path | None = None) -> Result:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        return CliRunner().invoke(app, list(args))

    return run


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def service_unavailable(reason: str) -> None:
    """Outside CI a missing service skips the test; under CI=true it fails it."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: local services are required)")
    pytest.skip(reason)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database on the local server; yields its asyncpg URL, then drops it."""
    from tests.live import fresh_postgres_database  # tests.live imports this module

    with fresh_postgres_database() as database:
        yield database.url()


@pytest.fixture
def redis_url() -> str:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        service_unavailable(f"Redis at {REDIS_URL} does not answer: {error}")
    return REDIS_URL


# Wheels: built once per session (the tests that use them share one xdist group, "wheels").


def clone_with_working_tree(destination: Path) -> Path:
    """A clone of this repository at HEAD, plus the working tree's uncommitted changes as one
    more commit when there are any: CI's clean clone gives HEAD exactly, a developer's run
    tests their work."""
    git("clone", "--quiet", str(REPO), str(destination), cwd=destination.parent)
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for name in filter(None, listed.split("\0")):
        source, copy = REPO / name, destination / name
        if name.endswith("/") or not source.is_file():
            continue  # a nested repository (./myapp), or a file deleted in the work tree
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy)
    for name in filter(None, git("ls-files", "-z", "--deleted", cwd=REPO).split("\0")):
        (destination / name).unlink(missing_ok=True)
    if git("status", "--porcelain", cwd=destination):
        git("add", "-A", cwd=destination)
        git("-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q",
            "-m", "The working tree's uncommitted changes", cwd=destination)  # fmt: skip
    return destination


def build_wheel(source: Path, out: Path) -> Path:
    import uv

    completed = subprocess.run(
        [uv.find_uv_bin(), "build", "--wheel", "--out-dir", str(out), str(source)],
        capture_output=True, text=True, env={**os.environ, "UV_PYTHON": "python3"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (built,) = out.glob("neodyme-*.whl")
    return built


def install_wheel(wheel: Path, venv: Path) -> Path:
    """A fresh environment with only that neodyme in it; returns its `neodyme` command."""
    import uv

    uv_bin = uv.find_uv_bin()
    subprocess.run([uv_bin, "venv", "--quiet", "--python", "python3", str(venv)], check=True)
    subprocess.run(
        [uv_bin, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
        check=True,
    )
    return venv / "bin" / "neodyme"


@pytest.fixture(scope="session")
def neodyme_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clone_with_working_tree(tmp_path_factory.mktemp("source") / "neodyme")


@pytest.fixture(scope="session")
def head_wheel(neodyme_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of neodyme as it is: what `pip install .` in the clone installs."""
    return build_wheel(neodyme_source, tmp_path_factory.mktemp("dist"))
