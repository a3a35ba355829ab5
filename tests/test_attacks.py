"""Issue 8's attacks on the auth module, replayed against the running service on each database.

Each test is one attack and what must stop it; none may answer 5xx. Every test sends from
loopback addresses of its own (new_client()), so that the per-client rate limits of one test
never meet another's, not even through the Redis that every run shares. NUL characters in the
login form and in full_name are replayed by test_under_fire's hostile values.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from functools import partial

import pytest

from tests.live import (
    NO_ANSWER,
    PROBLEM_FIELDS,
    SUPERUSER_EMAIL,
    SUPERUSER_PASSWORD,
    Account,
    Answer,
    LiveProject,
    Server,
    Tokens,
    assert_problem,
    at_once,
    create_account,
    free_port,
    new_client,
    register,
    require_redis,
    sign_in,
    sign_in_as_superuser,
    summarize,
    unique_email,
)

pytest_plugins = ("tests.live_fixtures",)

# The limits the contract gives as defaults, set explicitly so that the tests say what they test.
LOGIN_LIMIT, LOGIN_CLIENT_LIMIT, ACCOUNT_LIMIT, REGISTER_LIMIT, REFRESH_LIMIT = 5, 20, 10, 10, 30
LIMITS = {
    "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT}/minute",
    "LOGIN_CLIENT_RATE_LIMIT": f"{LOGIN_CLIENT_LIMIT}/minute",
    "ACCOUNT_RATE_LIMIT": f"{ACCOUNT_LIMIT}/15 minutes",
    "REGISTER_RATE_LIMIT": f"{REGISTER_LIMIT}/hour",
    "REFRESH_RATE_LIMIT": f"{REFRESH_LIMIT}/minute",
}
LOGIN_BURST = 60  # concurrent logins for one email


@pytest.fixture(scope="module")
def server(live_project: LiveProject) -> Iterator[Server]:
    """The service as several replicas would run it: limits counted in Redis."""
    with (
        live_project.fresh_database() as database_url,
        live_project.serving(database_url, REDIS_URL=require_redis(), **LIMITS) as server,
    ):
        yield server


@pytest.fixture(scope="module")
def admin(server: Server) -> str:
    """The first superuser's access token."""
    return sign_in_as_superuser(server).access


def attempt_login(server: Server, email: str, password: str, client: str) -> Answer:
    form = {"username": email, "password": password}
    return server.call("POST", "/api/v1/auth/login", form=form, client=client)


def refresh(server: Server, refresh_token: str, client: str | None = None) -> Answer:
    payload = {"refresh_token": refresh_token}
    return server.call("POST", "/api/v1/auth/refresh", payload=payload, client=client)


def sign_up(server: Server, email: str, client: str) -> Answer:
    user = {"email": email, "full_name": "Signed Up", "password": "password-1"}
    return server.call("POST", "/api/v1/auth/register", payload=user, client=client)


def read_me(server: Server, access_token: str) -> Answer:
    return server.call("GET", "/api/v1/users/me", token=access_token)


def tokens_of(answer: Answer) -> Tokens:
    assert answer.status == 200, answer
    return Tokens(answer.json()["access_token"], answer.json()["refresh_token"])


def until_limited(attempt: Callable[[], Answer], attempts: int) -> list[Answer]:
    """Up to ATTEMPTS answers of ATTEMPT, stopping at the first 429."""
    answers: list[Answer] = []
    while len(answers) < attempts and (not answers or answers[-1].status != 429):
        answers.append(attempt())
    return answers


def assert_limited(answers: list[Answer], *, within: int) -> None:
    """A 429 with Retry-After came by attempt WITHIN, and nothing before it was a 5xx."""
    assert answers[-1].status == 429 and len(answers) <= within, summarize(answers)
    assert answers[-1].headers.get("Retry-After"), answers[-1]
    assert not [a for a in answers if not NO_ANSWER < a.status < 500], summarize(answers)


# --- Ids and tokens bound to the account ----------------------------------------------------


@pytest.fixture(scope="module")
def id_reuse(server: Server, admin: str) -> tuple[Account, Tokens, Account]:
    """Mallory signs up and in, a superuser deletes her, and then Victor signs up."""
    client = new_client()
    mallory = register(server, client=client, email=unique_email("mallory"))
    mallorys_tokens = sign_in(server, mallory.email, mallory.password, client=client)
    deleted = server.call("DELETE", f"/api/v1/users/{mallory.id}", token=admin)
    assert deleted.status == 204, deleted
    victor = register(server, client=client, email=unique_email("victor"))
    return mallory, mallorys_tokens, victor


def test_the_user_after_a_deleted_one_gets_a_new_id(
    id_reuse: tuple[Account, Tokens, Account],
) -> None:
    mallory, _, victor = id_reuse

    assert victor.id != mallory.id


def test_a_deleted_users_tokens_answer_401(
    server: Server, id_reuse: tuple[Account, Tokens, Account]
) -> None:
    _, mallorys_tokens, _ = id_reuse

    assert_problem(read_me(server, mallorys_tokens.access), 401)
    assert_problem(refresh(server, mallorys_tokens.refresh, client=new_client()), 401)


def change_password(server: Server, account: Account, tokens: Tokens, admin: str) -> Answer:
    payload = {"password": "a-new-password-2", "current_password": account.password}
    return server.call("PATCH", "/api/v1/users/me", payload=payload, token=tokens.access)


def change_email(server: Server, account: Account, tokens: Tokens, admin: str) -> Answer:
    payload = {"email": unique_email("moved"), "current_password": account.password}
    return server.call("PATCH", "/api/v1/users/me", payload=payload, token=tokens.access)


def deactivate(server: Server, account: Account, tokens: Tokens, admin: str) -> Answer:
    payload = {"is_active": False}
    return server.call("PATCH", f"/api/v1/users/{account.id}", payload=payload, token=admin)


def log_out(server: Server, account: Account, tokens: Tokens, admin: str) -> Answer:
    return server.call("POST", "/api/v1/auth/logout", token=tokens.access)


@pytest.mark.parametrize(
    "account_change",
    [change_password, change_email, deactivate, log_out],
    ids=["password change", "email change", "deactivation", "logout"],
)
def test_every_earlier_token_answers_401_after_an_account_change(
    server: Server, admin: str, account_change: Callable[..., Answer]
) -> None:
    account = create_account(server, admin)
    two_logins = [sign_in(server, account.email, account.password) for _ in range(2)]

    changed = account_change(server, account, two_logins[0], admin)

    assert 200 <= changed.status < 300, f"the change itself: {changed!r}"
    answers = {
        f"login {number} {kind}": answer.status
        for number, tokens in enumerate(two_logins, start=1)
        for kind, answer in (
            ("access token", read_me(server, tokens.access)),
            ("refresh token", refresh(server, tokens.refresh, client=new_client())),
        )
    }
    assert answers == dict.fromkeys(answers, 401), answers


def test_each_refresh_returns_a_new_pair_that_works(server: Server, admin: str) -> None:
    account = create_account(server, admin)
    first = sign_in(server, account.email, account.password)

    second = tokens_of(refresh(server, first.refresh, client=new_client()))

    assert second.access != first.access and second.refresh != first.refresh
    assert read_me(server, second.access).status == 200


def test_a_reused_refresh_token_answers_401_and_revokes_its_family(
    server: Server, admin: str
) -> None:
    account = create_account(server, admin)
    client = new_client()
    first = sign_in(server, account.email, account.password)
    second = tokens_of(refresh(server, first.refresh, client=client))

    reused = refresh(server, first.refresh, client=client)

    assert_problem(reused, 401)
    family = {
        "newest refresh token": refresh(server, second.refresh, client=client),
        "newest access token": read_me(server, second.access),
        "first access token": read_me(server, first.access),
    }
    statuses = {name: answer.status for name, answer in family.items()}
    assert statuses == dict.fromkeys(family, 401), statuses


@pytest.mark.parametrize(
    ("current_password", "status"),
    [(None, 422), ("not-the-password", 403)],
    ids=["without current_password", "wrong current_password"],
)
def test_changing_the_email_needs_the_current_password(
    server: Server, admin: str, current_password: str | None, status: int
) -> None:
    account = create_account(server, admin)
    tokens = sign_in(server, account.email, account.password)
    change = {"email": unique_email("stolen")}
    if current_password is not None:
        change["current_password"] = current_password

    answer = server.call("PATCH", "/api/v1/users/me", payload=change, token=tokens.access)

    assert_problem(answer, status)
    assert read_me(server, tokens.access).json()["email"] == account.email


# --- Emails ---------------------------------------------------------------------------------


def test_an_email_differing_only_in_case_is_already_registered(server: Server) -> None:
    client = new_client()
    alice = register(server, client=client, email=unique_email("Alice"))

    answer = sign_up(server, alice.email.lower(), client)

    assert_problem(answer, 409)


def test_signing_in_accepts_the_email_in_another_case(server: Server, admin: str) -> None:
    carol = create_account(server, admin, email=unique_email("Carol"))

    answer = attempt_login(server, carol.email.upper(), carol.password, new_client())

    assert answer.status == 200, answer


# --- Rate limits ----------------------------------------------------------------------------


def test_spraying_one_password_over_many_emails_is_rate_limited(server: Server) -> None:
    client = new_client()

    answers = until_limited(
        lambda: attempt_login(server, unique_email("sprayed"), "Summer2024!", client), attempts=40
    )

    assert_limited(answers, within=39)


def test_registration_is_rate_limited_per_client(server: Server) -> None:
    client = new_client()

    answers = until_limited(
        lambda: sign_up(server, unique_email("bot"), client), REGISTER_LIMIT + 1
    )

    assert_limited(answers, within=REGISTER_LIMIT + 1)


def test_refreshing_is_rate_limited_per_client(server: Server) -> None:
    client = new_client()

    answers = until_limited(lambda: refresh(server, "guessed-token", client), REFRESH_LIMIT + 1)

    assert_limited(answers, within=REFRESH_LIMIT + 1)


def test_current_password_checks_are_rate_limited_per_account(server: Server, admin: str) -> None:
    account = create_account(server, admin)
    tokens = sign_in(server, account.email, account.password)
    guess = {"password": "a-new-password-2", "current_password": "a-guess"}

    answers = until_limited(
        lambda: server.call("PATCH", "/api/v1/users/me", payload=guess, token=tokens.access),
        ACCOUNT_LIMIT + 1,
    )

    assert_limited(answers, within=ACCOUNT_LIMIT + 1)


def test_failed_logins_are_rate_limited_per_account_across_clients(
    server: Server, admin: str
) -> None:
    account = create_account(server, admin)

    answers = until_limited(
        lambda: attempt_login(server, account.email, "a-guess", new_client()), ACCOUNT_LIMIT + 1
    )

    assert_limited(answers, within=ACCOUNT_LIMIT + 1)


def assert_burst_checks_at_most_the_limit(server: Server, admin: str) -> None:
    account = create_account(server, admin)
    attempt = partial(attempt_login, server, account.email, "a-guess", new_client())

    answers = at_once([attempt] * LOGIN_BURST)

    checked = [answer for answer in answers if answer.status != 429]
    assert len(checked) <= LOGIN_LIMIT, summarize(answers)
    assert not [a for a in answers if not NO_ANSWER < a.status < 500], summarize(answers)


def test_a_login_burst_checks_at_most_the_limit_of_passwords(server: Server, admin: str) -> None:
    assert_burst_checks_at_most_the_limit(server, admin)


@pytest.fixture(scope="module")
def server_without_redis(live_project: LiveProject) -> Iterator[Server]:
    """The service told to count in a Redis that does not answer (nothing listens there)."""
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    with (
        live_project.fresh_database() as database_url,
        live_project.serving(database_url, REDIS_URL=dead_redis, **LIMITS) as server,
    ):
        yield server


def test_a_login_burst_with_redis_down_still_checks_at_most_the_limit_of_passwords(
    server_without_redis: Server,
) -> None:
    admin = sign_in_as_superuser(server_without_redis).access

    assert_burst_checks_at_most_the_limit(server_without_redis, admin)


# --- What the log must never hold ----------------------------------------------------------


def test_the_server_log_holds_no_password_hash_or_sql_parameters(
    server: Server, admin: str
) -> None:
    log_start = server.log_size()
    passwords = [f"leak-password-{number}" for number in range(6)]
    client = new_client()
    account = register(server, client=client, password=passwords[0])
    attempt_login(server, account.email, passwords[1], client)
    # NUL characters that reach PostgreSQL make its driver fail with the statement's parameters.
    attempt_login(server, f"eve\u0000{account.email}", passwords[2], client)
    eve = {"email": unique_email("eve"), "full_name": "Eve\u0000", "password": passwords[3]}
    server.call("POST", "/api/v1/auth/register", payload=eve, client=client)
    tokens = sign_in(server, account.email, passwords[0])
    server.call(
        "PATCH", "/api/v1/users/me", token=tokens.access,
        payload={"password": passwords[4], "current_password": passwords[0]},
    )  # fmt: skip
    # Creations of one email at once: the losers' INSERTs fail on the unique constraint.
    twin = {"email": unique_email("twin"), "full_name": "Twin", "password": passwords[5]}
    at_once([partial(server.call, "POST", "/api/v1/users/", payload=twin, token=admin)] * 8)

    log = server.log(log_start)

    forbidden = [*passwords, "$argon2", "[parameters:"]
    leaks = [line for line in log.splitlines() if any(text in line for text in forbidden)]
    assert not leaks, f"{len(leaks)} log lines leak, e.g.:\n" + "\n".join(leaks[:5])


# --- Administration -------------------------------------------------------------------------


def set_superuser(server: Server, admin: str, account: Account, value: bool) -> Answer:
    payload = {"is_superuser": value}
    return server.call("PATCH", f"/api/v1/users/{account.id}", payload=payload, token=admin)


def test_a_superuser_grants_superuser_rights(server: Server, admin: str) -> None:
    bob = create_account(server, admin)

    answer = set_superuser(server, admin, bob, True)

    assert answer.status == 200 and answer.json().get("is_superuser") is True, answer
    bobs_token = sign_in(server, bob.email, bob.password).access
    assert server.call("GET", "/api/v1/users/", token=bobs_token).status == 200


def test_a_superuser_revokes_superuser_rights(server: Server, admin: str) -> None:
    bob = create_account(server, admin)
    assert set_superuser(server, admin, bob, True).status == 200

    answer = set_superuser(server, admin, bob, False)

    assert answer.status == 200 and answer.json().get("is_superuser") is False, answer
    bobs_token = sign_in(server, bob.email, bob.password).access
    assert_problem(server.call("GET", "/api/v1/users/", token=bobs_token), 403)


class LoneSuperuserServers:
    """Servers whose first superuser is the only one: the same server for as long as that
    superuser stays an active superuser, and a new one (on a new database) once it is not."""

    def __init__(self, project: LiveProject, stack: ExitStack) -> None:
        self._project = project
        self._stack = stack  # stops every server and drops every database at the end
        self._current: Server | None = None

    def intact(self) -> Server:
        if self._current is None or not self._has_active_superuser(self._current):
            database_url = self._stack.enter_context(self._project.fresh_database())
            self._current = self._stack.enter_context(self._project.serving(database_url))
        return self._current

    @staticmethod
    def _has_active_superuser(server: Server) -> bool:
        form = {"username": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD}
        login = server.call("POST", "/api/v1/auth/login", form=form, client=new_client())
        if login.status != 200:
            return False
        return server.call("GET", "/api/v1/users/", token=tokens_of(login).access).status == 200


@pytest.fixture(scope="module")
def lone_superuser_servers(live_project: LiveProject) -> Iterator[LoneSuperuserServers]:
    with ExitStack() as stack:
        yield LoneSuperuserServers(live_project, stack)


@pytest.fixture
def lone_superuser_server(lone_superuser_servers: LoneSuperuserServers) -> Server:
    """A server whose first superuser is its only one. A test that fails may spoil that; the
    next test then gets a new server, so that one failure never shows up in another test."""
    return lone_superuser_servers.intact()


@pytest.mark.parametrize(
    ("method", "payload"),
    [("DELETE", None), ("PATCH", {"is_active": False}), ("PATCH", {"is_superuser": False})],
    ids=["delete", "deactivate", "demote"],
)
def test_the_last_superuser_cannot_remove_themselves(
    lone_superuser_server: Server, method: str, payload: dict[str, bool] | None
) -> None:
    server = lone_superuser_server
    token = sign_in_as_superuser(server).access
    own_id = read_me(server, token).json()["id"]

    answer = server.call(method, f"/api/v1/users/{own_id}", payload=payload, token=token)

    assert_problem(answer, 409)
    still_superuser = sign_in_as_superuser(server).access
    assert server.call("GET", "/api/v1/users/", token=still_superuser).status == 200


# --- Hardening ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sampled_answers(server: Server, admin: str) -> dict[str, Answer]:
    """An answer of every kind the service gives: successes and errors, API, docs, probes."""
    client = new_client()
    account = create_account(server, admin)
    tokens = sign_in(server, account.email, account.password)
    doomed = create_account(server, admin)
    call = server.call
    sample = {
        "GET /health": call("GET", "/health"),
        "GET /health/ready": call("GET", "/health/ready"),
        "GET /metrics": call("GET", "/metrics"),
        "GET /openapi.json": call("GET", "/openapi.json"),
        "GET /docs": call("GET", "/docs"),
        "GET /nowhere": call("GET", "/nowhere"),
        "DELETE /health": call("DELETE", "/health"),
        "POST /api/v1/auth/login (wrong password)": attempt_login(
            server, account.email, "x", client
        ),
        "POST /api/v1/auth/login (no form)": call("POST", "/api/v1/auth/login", client=client),
        "POST /api/v1/auth/refresh (bad token)": refresh(server, "not-a-token", client),
        "POST /api/v1/auth/register": sign_up(server, unique_email(), client),
        "POST /api/v1/auth/register (taken)": sign_up(server, account.email, client),
        "GET /api/v1/users/me": read_me(server, tokens.access),
        "GET /api/v1/users/me (no token)": call("GET", "/api/v1/users/me"),
        "PATCH /api/v1/users/me": call(
            "PATCH", "/api/v1/users/me", payload={"full_name": "Renamed"}, token=tokens.access
        ),
        "GET /api/v1/users/": call("GET", "/api/v1/users/", token=admin),
        "GET /api/v1/users/ (not a superuser)": call("GET", "/api/v1/users/", token=tokens.access),
        "GET /api/v1/users/{id}": call("GET", f"/api/v1/users/{account.id}", token=admin),
        "GET /api/v1/users/{missing id}": call("GET", "/api/v1/users/999999", token=admin),
        "POST /api/v1/users/ (invalid)": call("POST", "/api/v1/users/", payload={}, token=admin),
        "DELETE /api/v1/users/{id}": call("DELETE", f"/api/v1/users/{doomed.id}", token=admin),
    }
    # Last: a login's tokens, and their refresh.
    login = attempt_login(server, account.email, account.password, client)
    sample["POST /api/v1/auth/login"] = login
    if login.status == 200:
        sample["POST /api/v1/auth/refresh"] = refresh(server, tokens_of(login).refresh, client)
    return sample


def test_every_answer_carries_nosniff(sampled_answers: dict[str, Answer]) -> None:
    sniffable = {
        request: answer.status
        for request, answer in sampled_answers.items()
        if answer.headers.get("X-Content-Type-Options") != "nosniff"
    }
    assert not sniffable, f"no X-Content-Type-Options: nosniff on {sniffable}"


def test_every_answer_carries_a_request_id(sampled_answers: dict[str, Answer]) -> None:
    unmarked = {
        request: answer.status
        for request, answer in sampled_answers.items()
        if not answer.headers.get("X-Request-ID")
    }
    assert not unmarked, f"no X-Request-ID on {unmarked}"


def test_every_error_answer_is_a_problem_document(sampled_answers: dict[str, Answer]) -> None:
    malformed = {
        request: f"{answer.status} {answer.media_type}: {answer.body[:80]!r}"
        for request, answer in sampled_answers.items()
        if answer.status >= 400 and not is_problem(answer)
    }
    assert not malformed, malformed


def is_problem(answer: Answer) -> bool:
    if answer.media_type != "application/problem+json":
        return False
    problem: dict[str, object] = answer.json()
    return problem.keys() >= PROBLEM_FIELDS and problem["status"] == answer.status


def test_account_and_token_answers_are_never_cached(sampled_answers: dict[str, Answer]) -> None:
    cacheable = {
        request: (answer.status, answer.headers.get("Cache-Control"))
        for request, answer in sampled_answers.items()
        if " /api/v1/users" in request or " /api/v1/auth" in request
        if "no-store" not in (answer.headers.get("Cache-Control") or "")
    }
    assert not cacheable, f"no Cache-Control: no-store on {cacheable}"


@pytest.fixture(scope="module")
def production_server(live_project: LiveProject) -> Iterator[Server]:
    """ENVIRONMENT=production, and the strong SECRET_KEY that `neodyme new` wrote to .env."""
    with (
        live_project.fresh_database() as database_url,
        live_project.serving(database_url, ENVIRONMENT="production") as server,
    ):
        yield server


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_production_does_not_serve_the_api_docs(production_server: Server, path: str) -> None:
    assert_problem(production_server.call("GET", path), 404)
