"""The docker module for real: the generated image builds, migrates, serves and stops cleanly.

The all-modules variant is built, on each database, by a local engine from its Dockerfile as
generated (stand-in base images, host networking: tests/docker_engine.py), then run against the
local PostgreSQL, or a volume of its own for SQLite, with nothing but what a platform would give
it: the port, the database and the secret key. compose.yaml needs bridge networks, which these
machines lack: it is checked statically (here for its settings, in test_variants.py its schema).
"""

import json
import re
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import uv
import yaml
from typer.testing import Result

from neodyme_cli.modules import DATABASES
from tests import docker_engine
from tests.conftest import service_unavailable
from tests.docker_engine import docker

Cli = Callable[..., Result]
PACKAGE = "demo"
APP_UID = 10001
# What `docker stop` (and Kubernetes) wait after SIGTERM before they kill the process.
STOP_GRACE_SECONDS = 10
USER = {"email": "ada@example.com", "password": "correct horse battery staple", "full_name": "Ada"}
# What a developer's working copy holds besides the sources: none of it may reach the image.
LOCAL_STATE = (
    ".pytest_cache/v/cache/lastfailed",
    ".mypy_cache/3.11/demo.meta.json",
    ".ruff_cache/CACHEDIR.TAG",
    f"src/{PACKAGE}/__pycache__/stray.cpython-311.pyc",
    "alembic/__pycache__/env.cpython-311.pyc",
    f"{PACKAGE}.db",
)


@pytest.fixture(scope="session")
def engine() -> None:
    try:
        docker_engine.ensure_engine()
    except docker_engine.DockerUnavailable as error:
        service_unavailable(f"no Docker engine: {error}")


@pytest.mark.docker
@pytest.mark.xdist_group("docker")  # one engine, two cores: the builds take turns
@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("database", DATABASES)
def test_image_builds_and_runs_as_in_production(
    cli: Cli, tmp_path: Path, request: pytest.FixtureRequest, database: str
) -> None:
    project = generate(cli, tmp_path, database, "--auth", "--docker", "--monitoring")
    lock_dependencies(project)
    for path in LOCAL_STATE:
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_bytes(b"local state")
    # What a platform gives the container: the address, the database, the secret key.
    settings = {
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "SECRET_KEY": secrets.token_urlsafe(48),
    }
    request_id = f"docker-test-{secrets.token_hex(4)}"
    if database == "postgresql":
        settings["DATABASE_URL"] = request.getfixturevalue("postgres_database")

    with built_image(project) as image:
        assert_holds_only_what_it_runs(image, database)
        assert_refuses_a_weak_secret_key(image, settings)
        with running_container(image, settings, volume=database == "sqlite") as (name, base):
            assert_serves_as_a_platform_expects(name, base, request_id)
            started = time.monotonic()
            docker("stop", f"--time={STOP_GRACE_SECONDS}", name, timeout=60)
            stopped_in = time.monotonic() - started
            state = inspect(name, "State")
            log = container_log(name)

    # SIGTERM: uvicorn finishes what is in flight, shuts the application down, exits 0.
    assert state["ExitCode"] == 0 and stopped_in < STOP_GRACE_SECONDS, (state, stopped_in, log)
    assert_logs_are_json_with_request_ids(log, request_id)


@pytest.mark.parametrize(("database", "auth"), [("sqlite", False), ("postgresql", True)])
def test_compose_runs_the_app_in_production_whatever_dotenv_says(
    cli: Cli, tmp_path: Path, database: str, auth: bool
) -> None:
    modules = ("--docker", "--auth") if auth else ("--docker",)
    project = generate(cli, tmp_path, database, *modules, "--no-git")
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    app = compose["services"]["app"]
    # .env, made for running outside a container, says development...
    assert "ENVIRONMENT=development" in (project / ".env").read_text().splitlines()
    env_files = app["env_file"] if isinstance(app["env_file"], list) else [app["env_file"]]
    assert [entry if isinstance(entry, str) else entry["path"] for entry in env_files] == [".env"]
    # ...and compose gives `environment` precedence over `env_file`. The value is literal: a
    # ${VARIABLE} would be read from .env too, which compose uses for interpolation.
    assert app["environment"]["ENVIRONMENT"] == "production"


def generate(cli: Cli, where: Path, database: str, *options: str) -> Path:
    result = cli("new", PACKAGE, "--yes", "--database", database, *options, cwd=where)
    assert result.exit_code == 0, result.output
    return where / PACKAGE


def lock_dependencies(project: Path) -> None:
    """`uv lock`, as the README says before `docker build`: the image installs from uv.lock."""
    completed = subprocess.run(
        [uv.find_uv_bin(), "lock", "--python", "python3"], cwd=project, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr


@contextmanager
def built_image(project: Path) -> Iterator[str]:
    """The project's image, built from its Dockerfile unchanged; removed afterwards (the build
    cache stays, so that the next run builds warm)."""
    try:
        docker_engine.ensure_stand_ins(project / "Dockerfile")
    except docker_engine.DockerUnavailable as error:
        service_unavailable(f"no stand-in base images: {error}")
    image = f"neodyme-test-{secrets.token_hex(6)}"
    docker_engine.build_image(project, image)
    try:
        yield image
    finally:
        docker("image", "rm", "--force", image, check=False)


@contextmanager
def running_container(
    image: str, settings: dict[str, str], *, volume: bool
) -> Iterator[tuple[str, str]]:
    """IMAGE running on the host's network with SETTINGS (and, if VOLUME, a volume of its own
    at /app/data); yields its name and base URL once /health/live answers."""
    name = f"neodyme-test-{secrets.token_hex(6)}"
    # The image's HEALTHCHECK, every second rather than every 30.
    options = [f"--name={name}", "--network=host", "--health-interval=1s"]
    options += [f"--env={key}" for key in settings]
    if volume:
        options.append(f"--volume={name}:/app/data")  # a new volume takes the image's owner
    base = f"http://127.0.0.1:{settings['PORT']}"
    try:
        docker("run", "--detach", *options, image, environment=settings)
        wait_until(lambda: answers(f"{base}/health/live"), "/health/live answers 200", name)
        yield name, base
    finally:
        docker("rm", "--force", "--volumes", name, check=False)
        if volume:
            docker("volume", "rm", name, check=False)


def assert_holds_only_what_it_runs(image: str, database: str) -> None:
    paths = docker_engine.image_paths(image)
    app = {path.split("/")[1] for path in paths if path.startswith("app/")}
    runs = {".venv", "src", "alembic", "alembic.ini"}
    if database == "sqlite":
        runs.add("data")  # where the volume goes, the one directory the app's user owns
    assert app == runs  # no .env, .git, tests, tool caches or local database
    copied_bytecode = [path for path in paths if re.match(r"app/(src|alembic)/.*__pycache__", path)]
    assert not copied_bytecode
    assert not [path for path in paths if path.split("/")[-1] in {".env", ".git"}]
    assert not [path for path in paths if path.startswith("root/.cache")]  # uv's cache


def assert_refuses_a_weak_secret_key(image: str, settings: dict[str, str]) -> None:
    """The image runs in production without being told: there a weak key stops the start."""
    weak = {**settings, "SECRET_KEY": "secret"}
    name = f"neodyme-test-{secrets.token_hex(6)}"
    options = [f"--name={name}", "--network=host", *(f"--env={key}" for key in weak)]
    try:
        refused = docker("run", *options, image, check=False, timeout=30, environment=weak)
    except subprocess.TimeoutExpired:
        pytest.fail("the image serves with SECRET_KEY=secret: it does not run in production")
    finally:
        docker("rm", "--force", name, check=False)
    output = (refused.stdout + refused.stderr).strip()
    assert refused.returncode != 0 and "SECRET_KEY" in output.splitlines()[-1], output


def assert_serves_as_a_platform_expects(name: str, base: str, request_id: str) -> None:
    status, headers, _ = call(
        "POST", f"{base}/api/v1/auth/register", USER, headers={"X-Request-ID": request_id}
    )
    assert status == 201 and headers["X-Request-ID"] == request_id
    login = {"username": USER["email"], "password": USER["password"]}
    status, _, tokens = call("POST", f"{base}/api/v1/auth/login", form=login)
    assert status == 200, tokens
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    status, _, me = call("GET", f"{base}/api/v1/users/me", headers=bearer)
    assert status == 200 and me["email"] == USER["email"]

    # The server migrated its database before it served: it is at the head revision.
    assert "(head)" in docker("exec", name, "alembic", "current").stdout
    # The server is PID 1 and not root (real, effective, saved and file-system ids).
    status_lines = docker("exec", name, "cat", "/proc/1/status").stdout.splitlines()
    assert f"Uid:\t{APP_UID}\t{APP_UID}\t{APP_UID}\t{APP_UID}" in status_lines
    wait_until(lambda: inspect(name, "State")["Health"]["Status"] == "healthy", "healthy", name)


def assert_logs_are_json_with_request_ids(log: str, request_id: str) -> None:
    records = []
    for line in log.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line is not JSON: {line!r}\n{log}")
    assert any(record["message"].startswith("Running upgrade") for record in records), log
    assert all("request_id" in record for record in records), log
    # Each request's line carries its id: the client's when it sent one, else a new one.
    requests = [record for record in records if record["logger"] == f"{PACKAGE}.access"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", line["request_id"]) for line in requests), log
    sent = [line["path"] for line in requests if line["request_id"] == request_id]
    assert sent == ["/api/v1/auth/register"], log


def inspect(container: str, field: str) -> dict[str, Any]:
    value = json.loads(docker("inspect", f"--format={{{{json .{field}}}}}", container).stdout)
    assert isinstance(value, dict)
    return value


def container_log(container: str) -> str:
    logs = docker("logs", container)
    return logs.stdout + logs.stderr


def wait_until(condition: Callable[[], bool], what: str, container: str) -> None:
    deadline = time.monotonic() + 90
    while not condition():
        state = inspect(container, "State")
        assert state["Running"], f"the container stopped: {state}\n{container_log(container)}"
        assert time.monotonic() < deadline, f"not {what} within 90 s\n{container_log(container)}"
        time.sleep(0.3)


def answers(url: str) -> bool:
    try:
        return call("GET", url)[0] == 200
    except OSError:
        return False


def call(
    method: str,
    url: str,
    body: Any = None,
    *,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Message, Any]:
    """One HTTP call: status, headers and the JSON body (None if empty)."""
    headers = dict(headers or {})
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, response_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, response_headers, raw = error.code, error.headers, error.read()
    return status, response_headers, json.loads(raw) if raw else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
