"""A generated project used as its README says, over real HTTP: serve, call, restart, grow.

Slow (installs projects); each test is one user story from the issues' acceptance.
"""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from tests.conftest import git
from tests.live import serving, uv_command

Cli = Callable[..., Result]
CHAPTER_2_USER = {
    "email": "test@example.com",
    "full_name": "Test User",
    "password": "securepassword123",
}


@pytest.fixture
def demo(cli: Cli, tmp_path: Path) -> Path:
    assert cli("new", "demo", "--yes", cwd=tmp_path).exit_code == 0
    project = tmp_path / "demo"
    uv_command(project, "sync", "--python", "python3")
    return project


def test_readme_commands_serve_the_api_and_data_survives_a_restart(demo: Path) -> None:
    with serving(demo, "run", "demo") as server:
        answer = server.call("POST", "/api/v1/users/", payload=CHAPTER_2_USER)
        assert answer.status == 201, answer
        created = answer.json()
        assert {"id", "email", "full_name", "is_active", "created_at", "updated_at"} <= set(created)
        assert not any("password" in key for key in created)
        assert answer.headers["X-Request-ID"]

        answer = server.call("POST", "/api/v1/users/", payload=CHAPTER_2_USER)
        assert answer.status == 409 and answer.json()["detail"] == "Email already registered"
        assert answer.media_type == "application/problem+json"
        assert {"type", "title", "status", "detail", "code", "request_id"} <= set(answer.json())

        answer = server.call("GET", "/api/v1/users/999")
        assert answer.status == 404 and answer.json()["detail"] == "User not found"
        bad = {**CHAPTER_2_USER, "email": "not-an-email"}
        answer = server.call("POST", "/api/v1/users/", payload=bad)
        assert answer.status == 422 and answer.json()["errors"]
        renamed = {"full_name": "Renamed"}
        answer = server.call("PATCH", f"/api/v1/users/{created['id']}", payload=renamed)
        assert answer.status == 200 and answer.json()["full_name"] == "Renamed"

    with serving(demo, "run", "demo") as server:
        answer = server.call("GET", "/api/v1/users/")
        assert answer.status == 200
        assert [user["email"] for user in answer.json()] == ["test@example.com"]
        assert server.call("DELETE", f"/api/v1/users/{created['id']}").status == 204
        assert server.call("GET", f"/api/v1/users/{created['id']}").status == 404


def test_add_auth_keeps_edits_and_data_and_logs_in_over_http(cli: Cli, demo: Path) -> None:
    with serving(demo, "run", "demo") as server:
        assert server.call("POST", "/api/v1/users/", payload=CHAPTER_2_USER).status == 201
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
    # The core schema was ready: auth needs no migration.
    uv_command(demo, "run", "alembic", "check")
    admin = {
        "FIRST_SUPERUSER_EMAIL": "admin@example.com",
        "FIRST_SUPERUSER_PASSWORD": "adminpass123",
    }
    with serving(demo, "run", "demo", **admin) as server:
        credentials = {"username": "admin@example.com", "password": "adminpass123"}
        answer = server.call("POST", "/api/v1/auth/login", form=credentials)
        assert answer.status == 200 and answer.json()["token_type"] == "bearer"
        token = answer.json()["access_token"]
        answer = server.call("GET", "/api/v1/users/", token=token)
        assert answer.status == 200
        assert "test@example.com" in [user["email"] for user in answer.json()]  # the row survived
        answer = server.call("GET", "/api/v1/users/me")
        assert answer.status == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    output = uv_command(demo, "run", "pytest", "-q", "-p", "no:cacheprovider")
    assert " passed" in output


def test_monitoring_with_a_dead_database_is_live_not_ready_and_logs_json(
    cli: Cli, tmp_path: Path
) -> None:
    new = ("new", "x", "--yes", "--monitoring", "--database", "postgresql")
    assert cli(*new, cwd=tmp_path).exit_code == 0
    project = tmp_path / "x"
    uv_command(project, "sync", "--python", "python3")
    dead_database = {
        "DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:9/x",
        "LOG_FORMAT": "json",
    }
    uvicorn = ("run", "--no-sync", "uvicorn", "x.main:app", "--port", "{port}")
    with serving(project, *uvicorn, probe="/health/live", **dead_database) as server:
        live = server.call("GET", "/health/live")
        ready = server.call("GET", "/health/ready")
        metrics = server.call("GET", "/metrics")

    assert live.status == 200
    assert ready.status == 503
    assert ready.media_type == "application/problem+json"
    assert "database" in json.dumps(ready.json())
    assert metrics.status == 200 and "/health/ready" in metrics.body.decode()
    request_lines = [line for line in server.log().splitlines() if "/health/" in line]
    assert request_lines, server.log()
    for line in request_lines:
        record = json.loads(line)  # every request line is JSON
        assert record["request_id"]
