"""A generated project used as its README says, over real HTTP: serve, call, restart, grow.

Slow (installs projects); each test is one user story from the issues' acceptance.
"""

import json
import os
import signal
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
from typer.testing import Result

from tests.conftest import git

Cli = Callable[..., Result]
CHAPTER_2_USER = {
    "email": "test@example.com",
    "full_name": "Test User",
    "password": "securepassword123",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(
    method: str, url: str, body: Any = None, *, form: bool = False, token: str | None = None
) -> tuple[int, Message, Any]:
    """One HTTP call; the headers answer case-insensitively, as HTTP's do."""
    headers = {}
    data = None
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            status, response_headers = response.status, response.headers
    except urllib.error.HTTPError as error:
        raw = error.read()
        status, response_headers = error.code, error.headers
    return status, response_headers, json.loads(raw) if raw else None


def uv_command(project: Path, *args: str, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        [uv.find_uv_bin(), *args], cwd=project, env=env or os.environ.copy(),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


@contextmanager
def serving(project: Path, *command: str, probe: str = "/health", **settings: str) -> Iterator[str]:
    """`uv COMMAND` with PORT set (and `{port}` in COMMAND filled in); yields the base URL
    once PROBE answers 200. The server's output goes to server.log in the project."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), **settings}
    log_path = project / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [uv.find_uv_bin(), *(part.format(port=port) for part in command)], cwd=project,
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if call("GET", f"{base}{probe}")[0] == 200:
                        break
                except OSError:
                    pass
                assert server.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "the server did not answer within 120 s"
                time.sleep(0.3)
            yield base
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


@pytest.fixture
def demo(cli: Cli, tmp_path: Path) -> Path:
    assert cli("new", "demo", "--yes", cwd=tmp_path).exit_code == 0
    project = tmp_path / "demo"
    uv_command(project, "sync", "--python", "python3")
    return project


def test_readme_commands_serve_the_api_and_data_survives_a_restart(demo: Path) -> None:
    with serving(demo, "run", "demo") as base:
        status, headers, created = call("POST", f"{base}/api/v1/users/", CHAPTER_2_USER)
        assert status == 201
        assert {"id", "email", "full_name", "is_active", "created_at", "updated_at"} <= set(created)
        assert not any("password" in key for key in created)
        assert headers["X-Request-ID"]

        status, headers, problem = call("POST", f"{base}/api/v1/users/", CHAPTER_2_USER)
        assert status == 409 and problem["detail"] == "Email already registered"
        assert headers["Content-Type"] == "application/problem+json"
        assert {"type", "title", "status", "detail", "code", "request_id"} <= set(problem)

        status, _, problem = call("GET", f"{base}/api/v1/users/999")
        assert status == 404 and problem["detail"] == "User not found"
        bad = {**CHAPTER_2_USER, "email": "not-an-email"}
        status, _, problem = call("POST", f"{base}/api/v1/users/", bad)
        assert status == 422 and problem["errors"]
        status, _, patched = call(
            "PATCH", f"{base}/api/v1/users/{created['id']}", {"full_name": "Renamed"}
        )
        assert status == 200 and patched["full_name"] == "Renamed"

    with serving(demo, "run", "demo") as base:
        status, _, users = call("GET", f"{base}/api/v1/users/")
        assert status == 200
        assert [user["email"] for user in users] == ["test@example.com"]
        assert call("DELETE", f"{base}/api/v1/users/{created['id']}")[0] == 204
        assert call("GET", f"{base}/api/v1/users/{created['id']}")[0] == 404


def test_add_auth_keeps_edits_and_data_and_logs_in_over_http(cli: Cli, demo: Path) -> None:
    with serving(demo, "run", "demo") as base:
        assert call("POST", f"{base}/api/v1/users/", CHAPTER_2_USER)[0] == 201
    users_route = demo / "src" / "demo" / "routes" / "users.py"
    main_module = demo / "src" / "demo" / "main.py"
    own_route = '\n\n@router.get("/count")\nasync def count() -> dict[str, str]:\n    return {}\n'
    users_route.write_text(users_route.read_text() + own_route)
    main_module.write_text('"""Our service."""\n\n' + main_module.read_text())
    git("add", "-A", cwd=demo)
    git("commit", "-qm", "our edits", cwd=demo)

    result = cli("add", "auth", "--path", str(demo))

    assert result.exit_code == 0, result.output
    assert users_route.read_text().endswith(own_route)
    assert main_module.read_text().startswith('"""Our service."""\n\n')
    uv_command(demo, "run", "alembic", "upgrade", "head")
    uv_command(
        demo, "run", "alembic", "check"
    )  # the core schema was ready: auth needs no migration
    admin = {
        "FIRST_SUPERUSER_EMAIL": "admin@example.com",
        "FIRST_SUPERUSER_PASSWORD": "adminpass123",
    }
    with serving(demo, "run", "demo", **admin) as base:
        status, _, tokens = call(
            "POST", f"{base}/api/v1/auth/login",
            {"username": "admin@example.com", "password": "adminpass123"}, form=True,
        )  # fmt: skip
        assert status == 200 and tokens["token_type"] == "bearer"
        status, _, users = call("GET", f"{base}/api/v1/users/", token=tokens["access_token"])
        assert status == 200
        assert "test@example.com" in [user["email"] for user in users]  # the row survived
        status, headers, _ = call("GET", f"{base}/api/v1/users/me")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
    output = uv_command(demo, "run", "pytest", "-q", "-p", "no:cacheprovider")
    assert " passed" in output


def test_monitoring_with_a_dead_database_is_live_not_ready_and_logs_json(
    cli: Cli, tmp_path: Path
) -> None:
    assert (
        cli("new", "x", "--yes", "--monitoring", "--database", "postgresql", cwd=tmp_path).exit_code
        == 0
    )
    project = tmp_path / "x"
    uv_command(project, "sync", "--python", "python3")
    dead_database = {
        "DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:9/x",
        "LOG_FORMAT": "json",
    }
    uvicorn = ("run", "--no-sync", "uvicorn", "x.main:app", "--port", "{port}")
    with serving(project, *uvicorn, probe="/health/live", **dead_database) as base:
        live = call("GET", f"{base}/health/live")
        ready = call("GET", f"{base}/health/ready")
        with urllib.request.urlopen(f"{base}/metrics", timeout=30) as metrics:
            metrics_status, metrics_text = metrics.status, metrics.read().decode()

    assert live[0] == 200
    assert ready[0] == 503
    assert ready[1]["Content-Type"] == "application/problem+json"
    assert "database" in json.dumps(ready[2])
    assert metrics_status == 200 and "/health/ready" in metrics_text
    log = (project / "server.log").read_text()
    request_lines = [line for line in log.splitlines() if "/health/" in line]
    assert request_lines, log
    for line in request_lines:
        record = json.loads(line)  # every request line is JSON
        assert record["request_id"]
