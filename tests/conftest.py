"""Shared fixtures: an isolated home for every test, the CLI runner, real services."""

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from neodyme_cli.cli import app

# uv's cache outlives the per-test home below, so generated projects install from it.
UV_CACHE_DIR = os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv")
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


@pytest.fixture(autouse=True)
def isolated_home(home_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing a test does touches the real home: template store, git and Copier config."""
    monkeypatch.setenv("HOME", str(home_dir))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "NEODYME_HOME", "GIT_CONFIG_GLOBAL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("UV_CACHE_DIR", UV_CACHE_DIR)
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
    psycopg = pytest.importorskip("psycopg")
    name = f"neodyme_test_{os.getpid()}_{os.urandom(4).hex()}"
    for user in ("postgres", "root"):
        try:
            admin = psycopg.connect(
                host=POSTGRES_HOST, user=user, dbname="postgres", autocommit=True, connect_timeout=5
            )
            break
        except psycopg.OperationalError as error:
            last_error = error
    else:
        service_unavailable(f"PostgreSQL on {POSTGRES_HOST}:5432 does not answer: {last_error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+asyncpg://{user}@{POSTGRES_HOST}:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> str:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        service_unavailable(f"Redis at {REDIS_URL} does not answer: {error}")
    return REDIS_URL
