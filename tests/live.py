"""Generated projects served for real, and the HTTP calls that test them from the outside.

The black-box suites (test_end_to_end, test_under_fire, test_schemathesis, test_attacks) drive
running servers as their users and attackers would. Everything here is bounded: every call and
every wait has a timeout, every server is stopped. Traffic goes to 127.0.0.1 only; a call may be
sent *from* another loopback address (`new_client()`; on Linux all of 127.0.0.0/8 is local), so
that each test is a client of its own to the server's per-client rate limits.
"""

import http.client
import json
import os
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import uv

from neodyme_cli.project import create_project
from tests.conftest import POSTGRES_HOST, REDIS_URL, UV_CACHE_DIR, service_unavailable

PROJECT_NAME = "live-app"
ALL_MODULES = {"auth": True, "docker": True, "monitoring": True}
SUPERUSER_EMAIL = "admin@example.com"
SUPERUSER_PASSWORD = "admin-password-1"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "request_id"}

# Every test of one database shares an xdist group (scripts/test: --dist loadgroup), so one
# worker installs the project once and serves all of them.
SQLITE = pytest.param("sqlite", marks=pytest.mark.xdist_group("sqlite"), id="sqlite")
POSTGRESQL = pytest.param(
    "postgresql", marks=pytest.mark.xdist_group("postgresql"), id="postgresql"
)
DATABASES = [SQLITE, POSTGRESQL]
ONLY_SQLITE = pytest.mark.parametrize("live_project", [SQLITE], indirect=True)
ONLY_POSTGRESQL = pytest.mark.parametrize("live_project", [POSTGRESQL], indirect=True)

NO_ANSWER = 0  # the status of an Answer that never came


# --- HTTP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the server answered, and how long it took."""

    status: int
    headers: Message
    body: bytes
    seconds: float

    @property
    def media_type(self) -> str | None:
        value = self.headers.get("Content-Type")
        return value.split(";")[0].strip() if value else None

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        shown = ("Content-Type", "Retry-After", "Location", "Cache-Control")
        headers = {name: self.headers[name] for name in shown if name in self.headers}
        body = self.body[:400].decode(errors="replace")
        return f"<{self.status} after {self.seconds:.2f} s {headers} {body!r}>"


def call(
    url: str,
    method: str = "GET",
    *,
    payload: Any = None,
    form: Mapping[str, str] | None = None,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    client: str | None = None,
    timeout: float = 30,
) -> Answer:
    """One request on a connection of its own; redirects are answers, not followed.

    `payload` is sent as JSON, `form` as an HTML form, `token` as a bearer token, all from the
    loopback address `client` when given. A network error or silence for `timeout` seconds
    gives an Answer with status NO_ANSWER and the error as its body: tests assert on statuses.
    """
    request_headers = dict(headers or {})
    body: bytes | None = None
    if payload is not None:
        body = json.dumps(payload).encode()
        request_headers.setdefault("Content-Type", "application/json")
    elif form is not None:
        body = urllib.parse.urlencode(form).encode()
        request_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if token is not None:
        request_headers["Authorization"] = f"Bearer {token}"
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    source = (client, 0) if client else None
    connection = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=timeout, source_address=source
    )
    started = time.monotonic()
    try:
        connection.request(method, target, body=body, headers=request_headers)
        response = connection.getresponse()
        return Answer(
            response.status, response.headers, response.read(), time.monotonic() - started
        )
    except (OSError, http.client.HTTPException) as error:
        return Answer(NO_ANSWER, Message(), repr(error).encode(), time.monotonic() - started)
    finally:
        connection.close()


def at_once(calls: Sequence[Callable[[], Answer]], *, timeout: float = 120) -> list[Answer]:
    """Make every call at the same moment, one thread each; their answers, in order."""
    start_together = threading.Barrier(len(calls))

    def make(one_call: Callable[[], Answer]) -> Answer:
        start_together.wait(timeout=30)
        return one_call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(make, one_call) for one_call in calls]
        return [future.result(timeout=timeout) for future in futures]


def new_client() -> str:
    """A loopback address no other test uses (127.x.y.z, never 127.0.0.1): a new client."""
    octets = secrets.token_bytes(3)
    return f"127.{octets[0] % 254 + 1}.{octets[1]}.{octets[2] % 254 + 1}"


def summarize(answers: Sequence[Answer]) -> str:
    """`201 x70, 500 x80` and the first answer of each status: a failure message's summary."""
    counts = Counter(answer.status for answer in answers)
    first = {status: next(a for a in answers if a.status == status) for status in counts}
    tally = ", ".join(f"{status} x{count}" for status, count in sorted(counts.items()))
    examples = "\n".join(f"  {answer!r}" for answer in first.values())
    return f"{len(answers)} answers: {tally}\n{examples}"


def assert_problem(answer: Answer, status: int) -> dict[str, Any]:
    """The answer is an RFC 9457 problem document of that status; returns it."""
    assert answer.status == status, answer
    assert answer.media_type == "application/problem+json", answer
    problem: dict[str, Any] = answer.json()
    assert problem.keys() >= PROBLEM_FIELDS, answer
    assert problem["status"] == status, answer
    return problem


def assert_unavailable(answer: Answer, *, within: float) -> None:
    """A 503 problem document with Retry-After, answered within `within` seconds."""
    assert_problem(answer, 503)
    assert answer.headers.get("Retry-After"), answer
    assert answer.seconds <= within, f"the 503 took {answer.seconds:.1f} s (> {within} s)"


def upload(
    url: str,
    *,
    size: int,
    chunked: bool,
    token: str | None = None,
    chunk_size: int = 64 * 1024,
    timeout: float = 30,
) -> tuple[Answer, int]:
    """POST a JSON body of `size` bytes, in paced chunks, watching for an early answer.

    Returns the answer and how many body bytes had been sent when it came: a server that
    refuses an oversized body before reading it whole answers while the client still sends.
    Pacing (a few ms between chunks) keeps the kernel's buffers from hiding what it reads.
    """
    parts = urllib.parse.urlsplit(url)
    filler = size - len(b'{"full_name": ""}')
    body = b'{"full_name": "' + b"a" * filler + b'"}'
    head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    head.append("Content-Type: application/json")
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    if token is not None:
        head.append(f"Authorization: Bearer {token}")
    started = time.monotonic()
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as connection:
        try:
            connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            while sent < size and not select.select([connection], [], [], 0.005)[0]:
                piece = body[sent : sent + chunk_size]
                connection.sendall(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked and sent == size:
                connection.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed its side: its answer may be waiting all the same
        response = http.client.HTTPResponse(connection, method="POST")
        try:
            response.begin()
            answer_body = response.read()
        except (OSError, http.client.HTTPException) as error:
            answer = Answer(NO_ANSWER, Message(), repr(error).encode(), time.monotonic() - started)
            return answer, sent
        seconds = time.monotonic() - started
        return Answer(response.status, response.headers, answer_body, seconds), sent


# --- Servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def project_environment(**settings: str) -> dict[str, str]:
    """The environment a generated project's commands run in: this one, uv's shared cache."""
    env = {name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"}
    env |= {"UV_CACHE_DIR": UV_CACHE_DIR, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    return env | settings


class Server:
    """A server process of a generated project: its URL, its log, and how to stop it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path

    @classmethod
    def start(
        cls,
        project: Path,
        *command: str,
        wrapper: Sequence[str] = (),
        **settings: str,
    ) -> "Server":
        """`uv COMMAND` in PROJECT with PORT set (and `{port}` in COMMAND filled in), not
        waiting for it to serve. Its stdout and stderr go to a log file in PROJECT/logs."""
        port = free_port()
        log_path = project / "logs" / f"server-{port}-{secrets.token_hex(3)}.log"
        log_path.parent.mkdir(exist_ok=True)
        argv = [*wrapper, uv.find_uv_bin(), *(part.format(port=port) for part in command)]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv, cwd=project, env=project_environment(PORT=str(port), **settings),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return cls(process, port, log_path)

    def call(self, method: str, path: str, **options: Any) -> Answer:
        return call(self.url + path, method, **options)

    def wait_until_serving(self, probe: str = "/health", timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while self.call("GET", probe, timeout=2).status != 200:
            if self.process.poll() is not None:
                exited = f"the server exited with {self.process.returncode}"
                raise AssertionError(f"{exited}; {self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the server did not serve within {timeout} s; {self.log_tail()}"
                )
            time.sleep(0.2)

    def log_tail(self, lines: int = 15) -> str:
        """The end of the log, where a failure says what it was, and where the rest is."""
        tail = "\n".join(self.log().splitlines()[-lines:])
        return f"the end of {self.log_path}:\n{tail}"

    def stop(self) -> None:
        """SIGTERM to the server's process group; SIGKILL if it is still there 15 s later."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log(self, since: int = 0) -> str:
        """What the server has written to stdout and stderr, from byte `since` on."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")


@contextmanager
def serving(
    project: Path, *command: str, probe: str = "/health", wrapper: Sequence[str] = (),
    **settings: str,
) -> Iterator[Server]:  # fmt: skip
    """`Server.start(...)`, yielded once PROBE answers 200, stopped when the block ends."""
    server = Server.start(project, *command, wrapper=wrapper, **settings)
    try:
        server.wait_until_serving(probe)
        yield server
    finally:
        server.stop()


def uv_command(project: Path, *args: str, timeout: float = 900) -> str:
    """`uv ARGS` in PROJECT; its output, or an assertion error that shows it."""
    completed = subprocess.run(
        [uv.find_uv_bin(), *args], cwd=project, env=project_environment(),
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


# --- PostgreSQL and Redis ---------------------------------------------------------------------


@contextmanager
def postgres_admin() -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the local server's `postgres` database."""
    errors = []
    for user in ("postgres", "root"):
        try:
            connection = psycopg.connect(
                host=POSTGRES_HOST, user=user, dbname="postgres", autocommit=True, connect_timeout=5
            )
            break
        except psycopg.OperationalError as error:
            errors.append(error)
    else:
        service_unavailable(f"PostgreSQL on {POSTGRES_HOST}:5432 does not answer: {errors[-1]}")
    with connection:
        yield connection


@dataclass(frozen=True)
class PostgresDatabase:
    name: str
    user: str

    def url(self, *, host: str = POSTGRES_HOST, port: int = 5432) -> str:
        return f"postgresql+asyncpg://{self.user}@{host}:{port}/{self.name}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(
            host=POSTGRES_HOST, user=self.user, dbname=self.name, connect_timeout=5
        ) as connection:
            return connection.execute(sql.encode()).fetchall()


def missing_postgres_database() -> PostgresDatabase:
    """A database name the local server does not have (nothing creates it)."""
    with postgres_admin() as admin:
        return PostgresDatabase(f"neodyme_missing_{secrets.token_hex(4)}", _user(admin))


@contextmanager
def fresh_postgres_database() -> Iterator[PostgresDatabase]:
    """A new, empty database on the local server, dropped (connections and all) at the end."""
    name = f"neodyme_live_{os.getpid()}_{secrets.token_hex(4)}"
    with postgres_admin() as admin:
        user = _user(admin)
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
        try:
            yield PostgresDatabase(name, user)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def _user(connection: psycopg.Connection[Any]) -> str:
    row = connection.execute(b"SELECT current_user").fetchone()
    assert row is not None
    return str(row[0])


def require_redis() -> str:
    """The local Redis's URL (tests.conftest.REDIS_URL), once it answers a ping."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        service_unavailable(f"Redis at {REDIS_URL} does not answer: {error}")
    return REDIS_URL


# --- The all-modules project ----------------------------------------------------------------


@dataclass(frozen=True)
class LiveProject:
    """A project with every module on, generated and installed once per database."""

    path: Path
    database: str

    @property
    def run_command(self) -> tuple[str, ...]:
        """The README's run command (it migrates, then serves), without a sync each time."""
        return ("run", "--no-sync", PROJECT_NAME)

    @contextmanager
    def fresh_database(self) -> Iterator[str]:
        """The URL of a new, empty database of the project's kind."""
        if self.database == "sqlite":
            folder = self.path / "databases"
            folder.mkdir(exist_ok=True)
            yield f"sqlite+aiosqlite:///{folder / f'{secrets.token_hex(4)}.db'}"
        else:
            with fresh_postgres_database() as database:
                yield database.url()

    def settings(self, database_url: str, **overrides: str) -> dict[str, str]:
        """A server's settings: its database, the first superuser, counts in Redis of its own
        (a fresh database gives out the ids of an earlier run's users again), then OVERRIDES.
        """
        return {
            "DATABASE_URL": database_url,
            "FIRST_SUPERUSER_EMAIL": SUPERUSER_EMAIL,
            "FIRST_SUPERUSER_PASSWORD": SUPERUSER_PASSWORD,
            "REDIS_KEY_PREFIX": f"neodyme-test-{uuid.uuid4().hex}",
        } | overrides

    def start(self, database_url: str, **overrides: str) -> Server:
        return Server.start(
            self.path, *self.run_command, **self.settings(database_url, **overrides)
        )

    @contextmanager
    def serving(
        self, database_url: str, *, wrapper: Sequence[str] = (), **overrides: str
    ) -> Iterator[Server]:
        settings = self.settings(database_url, **overrides)
        with serving(self.path, *self.run_command, wrapper=wrapper, **settings) as server:
            yield server

    def run(self, *, timeout: float, **settings: str) -> subprocess.CompletedProcess[str]:
        """The run command with SETTINGS, to its end (for start-ups that must fail)."""
        return subprocess.run(
            [uv.find_uv_bin(), *self.run_command], cwd=self.path,
            env=project_environment(**{"PORT": str(free_port())} | settings),
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip


def install_live_project(database: str, root: Path) -> LiveProject:
    """Generate the all-modules project through the library API, then `uv sync` it."""
    home = root / "home"
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("HOME", str(home))
        environment.setenv("NEODYME_HOME", str(home / "neodyme"))
        environment.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL"):
            environment.delenv(name, raising=False)
        created = create_project(
            name=PROJECT_NAME,
            destination=root / PROJECT_NAME,
            answers={"database": database, **ALL_MODULES},
            git=False,
        )
    uv_command(created.path, "sync", "--python", "python3")
    return LiveProject(created.path, database)


# --- Accounts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    password: str


def sign_in(server: Server, email: str, password: str, *, client: str | None = None) -> Tokens:
    answer = server.call(
        "POST", "/api/v1/auth/login", form={"username": email, "password": password},
        client=client or new_client(),
    )  # fmt: skip
    assert answer.status == 200, f"signing in as {email}: {answer!r}"
    tokens = answer.json()
    return Tokens(tokens["access_token"], tokens["refresh_token"])


def sign_in_as_superuser(server: Server) -> Tokens:
    return sign_in(server, SUPERUSER_EMAIL, SUPERUSER_PASSWORD)


def unique_email(label: str = "user") -> str:
    return f"{label}-{secrets.token_hex(4)}@example.com"


def create_account(
    server: Server, superuser_token: str, *, email: str | None = None, password: str = "password-1"
) -> Account:
    """A new user, created by a superuser through POST /api/v1/users/."""
    email = email or unique_email()
    answer = server.call(
        "POST", "/api/v1/users/", token=superuser_token, client=new_client(),
        payload={"email": email, "full_name": "Test User", "password": password},
    )  # fmt: skip
    assert answer.status == 201, f"creating {email}: {answer!r}"
    return Account(int(answer.json()["id"]), email, password)


def register(
    server: Server, *, client: str, email: str | None = None, password: str = "password-1"
) -> Account:
    """A new user, signed up by themselves through POST /api/v1/auth/register."""
    email = email or unique_email()
    answer = server.call(
        "POST", "/api/v1/auth/register", client=client,
        payload={"email": email, "full_name": "Signed Up", "password": password},
    )  # fmt: skip
    assert answer.status == 201, f"registering {email}: {answer!r}"
    return Account(int(answer.json()["id"]), email, password)


def all_users(server: Server, superuser_token: str) -> list[dict[str, Any]]:
    """Every user, page by page (100 a page, at most 50 pages)."""
    users: list[dict[str, Any]] = []
    for page in range(50):
        answer = server.call(
            "GET", f"/api/v1/users/?skip={page * 100}&limit=100", token=superuser_token
        )
        assert answer.status == 200, answer
        users += answer.json()
        if len(answer.json()) < 100:
            return users
    raise AssertionError("more than 5,000 users: the listing does not end")
