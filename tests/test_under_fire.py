"""The generated service under fire (SPEC §3 "Under fire", issue 7), served for real.

The all-modules project runs on each database and is hit as production would hit it: a burst
of sign-ups, racing changes of one row, hostile values, oversized bodies, a database that
stalls or drops, replicas starting together and bad settings. Every loop is bounded in count
and in time.
"""

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from tests.conftest import POSTGRES_HOST
from tests.faults import (
    DatabaseProxy,
    honouring_file_permissions,
    read_only,
    sqlite_file,
    write_locked,
)
from tests.live import (
    NO_ANSWER,
    ONLY_POSTGRESQL,
    ONLY_SQLITE,
    Answer,
    LiveProject,
    Server,
    Tokens,
    all_users,
    assert_problem,
    assert_unavailable,
    at_once,
    create_account,
    fresh_postgres_database,
    missing_postgres_database,
    new_client,
    sign_in,
    sign_in_as_superuser,
    summarize,
    unique_email,
    upload,
)

pytest_plugins = ("tests.live_fixtures",)

BURST_EMAILS = 100  # distinct accounts in the burst...
BURST_SIZE = 150  # ...and sign-ups for them: 50 come twice, in another letter case
MAX_REQUEST_BODY_BYTES = 1024 * 1024  # the service's default
OVERSIZED_BODY_BYTES = 8 * MAX_REQUEST_BODY_BYTES
FAULT_TIMEOUT_SECONDS = 2  # connect, statement and pool timeouts of the PostgreSQL server
SQLITE_BUSY_TIMEOUT_MS = 1000
RECOVERY_SECONDS = 15
REPLICAS = 3
START_UP_FAILURE_SECONDS = 20  # "within seconds": uv and Python start, the check fails


@pytest.fixture(scope="module")
def server(live_project: LiveProject) -> Iterator[Server]:
    """The service with its defaults, but for a registration limit no burst reaches."""
    with (
        live_project.fresh_database() as database_url,
        live_project.serving(database_url, REGISTER_RATE_LIMIT="10000/hour") as server,
    ):
        yield server


@pytest.fixture(scope="module")
def admin(server: Server) -> str:
    """The first superuser's access token."""
    return sign_in_as_superuser(server).access


# --- A burst of sign-ups --------------------------------------------------------------------


@dataclass(frozen=True)
class SignUp:
    email: str
    door: str  # "register" (anyone) or "admin" (a superuser's POST /api/v1/users/)
    answer: Answer


@pytest.fixture(scope="module")
def sign_up_burst(server: Server, admin: str) -> list[SignUp]:
    """BURST_SIZE sign-ups at once, through both doors, some emails twice in another case."""
    emails = [f"burst.{number}@example.com" for number in range(BURST_EMAILS)]
    emails += [email.title() for email in emails[: BURST_SIZE - BURST_EMAILS]]
    random.Random(7).shuffle(emails)
    doors = ["register", "admin"] * (BURST_SIZE // 2)

    def sign_up(email: str, door: str) -> Answer:
        user = {"email": email, "full_name": "Burst", "password": "burst-password"}
        if door == "register":
            return server.call("POST", "/api/v1/auth/register", payload=user, timeout=120)
        return server.call("POST", "/api/v1/users/", payload=user, token=admin, timeout=120)

    answers = at_once(
        [partial(sign_up, email, door) for email, door in zip(emails, doors, strict=True)]
    )
    return [SignUp(*sign_up) for sign_up in zip(emails, doors, answers, strict=True)]


def test_a_burst_of_sign_ups_answers_only_201_409_or_503_with_retry_after(
    sign_up_burst: list[SignUp],
) -> None:
    answers = [sign_up.answer for sign_up in sign_up_burst]

    unexpected = [
        answer
        for answer in answers
        if answer.status not in {201, 409}
        and not (answer.status == 503 and answer.headers.get("Retry-After"))
    ]
    assert not unexpected, summarize(answers)


def test_a_burst_of_sign_ups_stores_one_row_per_email(
    sign_up_burst: list[SignUp], server: Server, admin: str
) -> None:
    created = Counter(s.email.lower() for s in sign_up_burst if s.answer.status == 201)
    rows = Counter(user["email"].lower() for user in all_users(server, admin))
    wrong = {
        email: f"{rows[email]} rows, {created[email]} answered 201"
        for email in {s.email.lower() for s in sign_up_burst}
        if not rows[email] == created[email] <= 1
    }
    assert not wrong, wrong


# --- Racing changes of one row --------------------------------------------------------------

RACE_ROUNDS = 3
RACERS = 8  # of each kind: PATCH, PUT and DELETE


@pytest.fixture(scope="module")
def race(server: Server, admin: str) -> list[tuple[str, Answer]]:
    """RACE_ROUNDS times, one new user changed and deleted by 3 x RACERS requests at once."""
    answers: list[tuple[str, Answer]] = []
    for _ in range(RACE_ROUNDS):
        user = create_account(server, admin)
        path = f"/api/v1/users/{user.id}"
        methods = ["PATCH", "PUT", "DELETE"] * RACERS
        calls = [
            partial(server.call, method, path, token=admin,
                    payload=None if method == "DELETE" else {"full_name": f"Racer {index}"})
            for index, method in enumerate(methods)
        ]  # fmt: skip
        answers += zip(methods, at_once(calls), strict=True)
    return answers


def test_concurrent_changes_and_deletes_of_one_user_never_answer_5xx(
    race: list[tuple[str, Answer]],
) -> None:
    answers = [answer for _, answer in race]
    failed = [answer for answer in answers if not NO_ANSWER < answer.status < 500]
    assert not failed, summarize(answers)


def test_concurrent_deletes_of_one_user_delete_it_once(race: list[tuple[str, Answer]]) -> None:
    deletes = [answer for method, answer in race if method == "DELETE"]
    rounds = [deletes[start : start + RACERS] for start in range(0, len(deletes), RACERS)]
    for answers in rounds:
        statuses = sorted(answer.status for answer in answers)
        assert statuses == [204] + [404] * (RACERS - 1), summarize(answers)


# --- Hostile values -------------------------------------------------------------------------

NUL = "\u0000"
LONG_EMAIL = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 63}.com"  # 259 characters
NEW_USER = {"full_name": "Hostile", "password": "hostile-password"}  # and a unique email


@dataclass(frozen=True)
class Hostile:
    """A request that must answer 422, sent with a superuser's token unless `as_user`.

    `{user_id}` in the path is a fresh user's id; `as_user` sends that user's token instead;
    `new_email` adds a unique email to the payload, so only the hostile value is wrong in it.
    """

    name: str
    method: str
    path: str
    payload: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    as_user: bool = False
    new_email: bool = False


def _hostile_values() -> list[Hostile]:
    cases = []
    for user_id in (2**31, 2**63, 2**70, -1):
        for method in ("GET", "PATCH", "PUT", "DELETE"):
            payload = None if method in {"GET", "DELETE"} else {"full_name": "x"}
            cases.append(Hostile(f"{method} id={user_id}", method, f"/api/v1/users/{user_id}",
                                 payload))  # fmt: skip
    for query in (f"skip={2**63}", "limit=0", "limit=101"):
        cases.append(Hostile(f"list {query}", "GET", f"/api/v1/users/?{query}"))
    for door, path in (("POST /users/", "/api/v1/users/"), ("register", "/api/v1/auth/register")):
        cases += [
            Hostile(f"{door} NUL in full_name", "POST", path,
                    {**NEW_USER, "full_name": f"Eve{NUL}"}, new_email=True),
            Hostile(f"{door} NUL in email", "POST", path,
                    {**NEW_USER, "email": f"eve{NUL}@example.com"}),
            Hostile(f"{door} 256-char full_name", "POST", path,
                    {**NEW_USER, "full_name": "x" * 256}, new_email=True),
            Hostile(f"{door} 259-char email", "POST", path, {**NEW_USER, "email": LONG_EMAIL}),
            Hostile(f"{door} 101-char password", "POST", path,
                    {**NEW_USER, "password": "p" * 101}, new_email=True),
            Hostile(f"{door} unknown field", "POST", path,
                    {**NEW_USER, "nickname": "eve"}, new_email=True),
        ]  # fmt: skip
    for door, path, as_user in (
        ("PATCH /users/{id}", "/api/v1/users/{user_id}", False),
        ("PATCH /users/me", "/api/v1/users/me", True),
    ):
        # A new password of one's own needs the current one (create_account's default).
        current = {"current_password": "password-1"} if as_user else {}
        new_password = {"password": "p" * 101, **current}
        cases += [
            Hostile(f"{door} NUL in full_name", "PATCH", path, {"full_name": f"Eve{NUL}"},
                    as_user=as_user),
            Hostile(f"{door} 256-char full_name", "PATCH", path, {"full_name": "x" * 256},
                    as_user=as_user),
            Hostile(f"{door} 101-char password", "PATCH", path, new_password, as_user=as_user),
            Hostile(f"{door} unknown field", "PATCH", path, {"nickname": "eve"},
                    as_user=as_user),
        ]  # fmt: skip
    cases += [
        Hostile("login NUL in username", "POST", "/api/v1/auth/login",
                form={"username": f"admin{NUL}@example.com", "password": "password-1"}),
        Hostile("login NUL in password", "POST", "/api/v1/auth/login",
                form={"username": "admin@example.com", "password": f"password{NUL}1"}),
        Hostile("refresh unknown field", "POST", "/api/v1/auth/refresh",
                {"refresh_token": "x", "nickname": "eve"}),
    ]  # fmt: skip
    return cases


@pytest.mark.parametrize("case", _hostile_values(), ids=lambda case: case.name)
def test_a_hostile_value_answers_422(case: Hostile, server: Server, admin: str) -> None:
    path, token = case.path, admin
    if "{user_id}" in path or case.as_user:
        user = create_account(server, admin)
        path = path.format(user_id=user.id)
        token = sign_in(server, user.email, user.password).access if case.as_user else admin
    payload = case.payload
    if case.new_email and payload is not None:
        payload = {**payload, "email": unique_email("hostile")}

    answer = server.call(
        case.method, path, payload=payload, form=case.form, token=token, client=new_client()
    )

    problem = assert_problem(answer, 422)
    assert problem.get("errors"), answer


# --- Bodies, slashes, 204 -------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_answers_413_before_it_is_read_in_full(
    server: Server, admin: str, chunked: bool
) -> None:
    answer, sent = upload(
        f"{server.url}/api/v1/users/", size=OVERSIZED_BODY_BYTES, chunked=chunked, token=admin
    )

    assert_problem(answer, 413)
    assert sent < OVERSIZED_BODY_BYTES, f"the 413 came after all {sent} bytes were sent"


def test_post_users_without_the_trailing_slash_creates_the_user(server: Server, admin: str) -> None:
    user = {"email": unique_email(), "full_name": "No Slash", "password": "password-1"}

    answer = server.call("POST", "/api/v1/users", payload=user, token=admin)

    assert answer.status == 201, answer
    assert answer.json()["email"] == user["email"]


def test_a_204_answer_has_no_body_and_no_content_type(server: Server, admin: str) -> None:
    user = create_account(server, admin)

    answer = server.call("DELETE", f"/api/v1/users/{user.id}", token=admin)

    assert answer.status == 204, answer
    assert answer.body == b""
    assert "Content-Type" not in answer.headers, answer.headers.items()


# --- A database that stalls or drops --------------------------------------------------------


@dataclass(frozen=True)
class FaultyService:
    """A served project whose database fails on demand (see tests/faults.py).

    `stalled`: PostgreSQL stops answering / SQLite's write lock is taken by another connection.
    `dropped`: PostgreSQL closes and refuses connections / the SQLite file turns read-only.
    """

    server: Server
    admin: Tokens
    user_id: int  # the user whose record `write` changes and `read` reads
    stalled: Callable[[], AbstractContextManager[None]]
    dropped: Callable[[], AbstractContextManager[None]]
    deadline: float  # seconds within which a request must give up on a stalled database

    def write(self) -> Answer:
        return self.server.call(
            "PATCH", f"/api/v1/users/{self.user_id}", token=self.admin.access,
            payload={"full_name": f"Written {time.monotonic()}"}, timeout=self.patience,
        )  # fmt: skip

    def read(self) -> Answer:
        path = f"/api/v1/users/{self.user_id}"
        return self.server.call("GET", path, token=self.admin.access, timeout=self.patience)

    @property
    def patience(self) -> float:
        """How long a call waits for an answer: a little longer than it may take."""
        return self.deadline + 3


@pytest.fixture(scope="module")
def faulty_service(live_project: LiveProject) -> Iterator[FaultyService]:
    with ExitStack() as stack:
        if live_project.database == "sqlite":
            yield _serve_on_faulty_sqlite(live_project, stack)
        else:
            yield _serve_on_faulty_postgresql(live_project, stack)


def _serve_on_faulty_sqlite(project: LiveProject, stack: ExitStack) -> FaultyService:
    wrapper = honouring_file_permissions()
    if wrapper is None:
        pytest.skip("root ignores file permissions, and there is no setpriv to change that")
    database_url = stack.enter_context(project.fresh_database())
    busy_timeout = {"DATABASE_BUSY_TIMEOUT_MS": str(SQLITE_BUSY_TIMEOUT_MS)}
    server = stack.enter_context(project.serving(database_url, wrapper=wrapper, **busy_timeout))
    database = sqlite_file(database_url)
    return _faulty(
        server,
        stalled=partial(write_locked, database),
        dropped=partial(read_only, database),
        deadline=SQLITE_BUSY_TIMEOUT_MS / 1000 + 2,
    )


def _serve_on_faulty_postgresql(project: LiveProject, stack: ExitStack) -> FaultyService:
    database = stack.enter_context(fresh_postgres_database())
    proxy = stack.enter_context(DatabaseProxy(POSTGRES_HOST, 5432))
    timeouts = dict.fromkeys(
        ["DATABASE_CONNECT_TIMEOUT_SECONDS", "DATABASE_STATEMENT_TIMEOUT_SECONDS",
         "DATABASE_POOL_TIMEOUT"],
        str(FAULT_TIMEOUT_SECONDS),
    )  # fmt: skip
    url = database.url(host="127.0.0.1", port=proxy.port)
    server = stack.enter_context(project.serving(url, **timeouts))
    # A pooled connection's ping, then a new connection, may each take the timeout.
    return _faulty(
        server,
        stalled=proxy.stalled,
        dropped=proxy.dropped,
        deadline=2 * FAULT_TIMEOUT_SECONDS + 2,
    )


def _faulty(
    server: Server,
    *,
    stalled: Callable[[], AbstractContextManager[None]],
    dropped: Callable[[], AbstractContextManager[None]],
    deadline: float,
) -> FaultyService:
    admin = sign_in_as_superuser(server)
    user = create_account(server, admin.access)
    return FaultyService(server, admin, user.id, stalled, dropped, deadline)


@pytest.fixture
def service(faulty_service: FaultyService) -> FaultyService:
    """The faulty service, serving normally again before each test (or the test fails)."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while (answer := faulty_service.write()).status != 200:
        assert time.monotonic() < deadline, f"no recovery from the last fault: {answer!r}"
        time.sleep(0.2)
    return faulty_service


def test_a_stalled_database_answers_writes_503_within_the_timeout(service: FaultyService) -> None:
    with service.stalled():
        answer = service.write()

    assert_unavailable(answer, within=service.deadline)


@ONLY_POSTGRESQL
def test_a_stalled_postgresql_database_answers_reads_503_within_the_timeout(
    service: FaultyService,
) -> None:
    with service.stalled():
        answer = service.read()

    assert_unavailable(answer, within=service.deadline)


@ONLY_SQLITE
def test_a_write_locked_sqlite_database_still_serves_reads(service: FaultyService) -> None:
    with service.stalled():
        answer = service.read()

    assert answer.status == 200, answer
    assert answer.seconds < 1, answer


def test_health_answers_at_once_while_the_database_stalls(service: FaultyService) -> None:
    with service.stalled():
        stuck, health = at_once([service.write, partial(service.server.call, "GET", "/health")])

    assert health.status == 200, health
    assert health.seconds < 1, f"/health took {health.seconds:.1f} s (a stuck write: {stuck!r})"


def test_the_service_recovers_from_a_dropped_database_without_a_restart(
    service: FaultyService,
) -> None:
    with service.dropped():
        at_once([service.write] * 20)  # the fault reaches every pooled connection
    clean_bursts, burst, deadline = 0, [], time.monotonic() + RECOVERY_SECONDS
    while clean_bursts < 3 and time.monotonic() < deadline:
        burst = at_once([service.write] * 10)
        clean_bursts = clean_bursts + 1 if all(a.status == 200 for a in burst) else 0
        time.sleep(0.1)

    assert clean_bursts == 3, f"not recovered in {RECOVERY_SECONDS} s; last: {summarize(burst)}"


# The last two need no healthy start, only the fault: whatever an earlier test left behind.


@ONLY_POSTGRESQL
def test_a_dropped_postgresql_database_answers_503_with_retry_after(
    faulty_service: FaultyService,
) -> None:
    with faulty_service.dropped():
        answers = [faulty_service.write(), faulty_service.read()]

    for answer in answers:
        assert_unavailable(answer, within=faulty_service.deadline)


@ONLY_SQLITE
def test_a_read_only_sqlite_database_answers_writes_with_503_not_500(
    faulty_service: FaultyService,
) -> None:
    # At once: connections opened now, not only those pooled before, meet the read-only file.
    with faulty_service.dropped():
        answers = at_once([faulty_service.write] * 20)

    unexpected = [answer for answer in answers if answer.status not in {200, 503}]
    assert not unexpected, summarize(answers)
    unavailable = [answer for answer in answers if answer.status == 503]
    assert unavailable, f"no write noticed the read-only file: {summarize(answers)}"
    for answer in unavailable:
        assert_unavailable(answer, within=faulty_service.deadline)


# --- Start-up -------------------------------------------------------------------------------


@ONLY_POSTGRESQL
def test_replicas_starting_together_on_a_fresh_database_all_serve_and_migrate_once(
    live_project: LiveProject,
) -> None:
    with fresh_postgres_database() as database, DatabaseProxy(POSTGRES_HOST, 5432) as proxy:
        # Each replica's first connection waits in a stall until all three have come, so that
        # their migrations start together (start-ups alone drift apart by hundreds of ms).
        with proxy.stalled():
            replicas = [
                live_project.start(
                    database.url(host="127.0.0.1", port=proxy.port),
                    DATABASE_CONNECT_TIMEOUT_SECONDS="60",
                )
                for _ in range(REPLICAS)
            ]
            proxy.wait_for_held_connections(REPLICAS, timeout=45)
        failures = []
        try:
            for replica in replicas:
                try:
                    replica.wait_until_serving(timeout=60)
                except AssertionError as failure:
                    failures.append(str(failure))
        finally:
            for replica in replicas:
                replica.stop()
        versions = database.query("SELECT version_num FROM alembic_version")

    assert not failures, "\n\n".join(failures)
    assert len(versions) == 1, versions


def _start_up_failure(live_project: LiveProject, **settings: str) -> tuple[float, int, str]:
    """Seconds, exit code and stderr of the run command with SETTINGS, which must fail."""
    started = time.monotonic()
    completed = live_project.run(timeout=60, **settings)
    return time.monotonic() - started, completed.returncode, completed.stderr


def _assert_one_readable_line(stderr: str, *names: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    shown = "\n".join(lines[-12:])  # a traceback's end says what it is about
    assert "Traceback" not in stderr, f"{len(lines)} lines on stderr, a traceback:\n{shown}"
    assert len(lines) == 1, f"{len(lines)} lines on stderr:\n{shown}"
    assert all(name in lines[0] for name in names), f"{names} not named in: {lines[0]}"


@pytest.mark.parametrize(
    ("setting", "settings"),
    [
        ("PORT", {"PORT": "abc"}),
        ("SECRET_KEY", {"ENVIRONMENT": "production", "SECRET_KEY": "too-short"}),
    ],
    ids=["PORT=abc", "short SECRET_KEY in production"],
)
def test_a_bad_setting_stops_the_start_up_with_one_line_naming_it(
    live_project: LiveProject, setting: str, settings: dict[str, str]
) -> None:
    with live_project.fresh_database() as database_url:
        seconds, exit_code, stderr = _start_up_failure(
            live_project, **live_project.settings(database_url, **settings)
        )

    assert exit_code != 0, stderr
    assert seconds < START_UP_FAILURE_SECONDS
    _assert_one_readable_line(stderr, setting)


@ONLY_POSTGRESQL
def test_a_missing_postgresql_database_stops_the_start_up_with_one_line_naming_it(
    live_project: LiveProject,
) -> None:
    missing = missing_postgres_database()

    seconds, exit_code, stderr = _start_up_failure(
        live_project, **live_project.settings(missing.url())
    )

    assert exit_code != 0, stderr
    assert seconds < START_UP_FAILURE_SECONDS
    _assert_one_readable_line(stderr, missing.name)


@ONLY_SQLITE
def test_a_sqlite_database_in_a_missing_folder_stops_the_start_up_with_one_line_naming_it(
    live_project: LiveProject,
) -> None:
    folder = live_project.path / "no-such-folder"
    url = f"sqlite+aiosqlite:///{folder / 'app.db'}"

    seconds, exit_code, stderr = _start_up_failure(live_project, **live_project.settings(url))

    assert exit_code != 0, stderr
    assert seconds < START_UP_FAILURE_SECONDS
    _assert_one_readable_line(stderr, str(folder))
