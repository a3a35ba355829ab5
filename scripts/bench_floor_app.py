"""The floor that scripts/bench_service.py measures the generated service against.

The generated service's read and login endpoints written by hand on Starlette, asyncpg,
PyJWT and pwdlib, with nothing else in the way: what this stack costs for the same work.

- GET /health: `{"status": "healthy"}`.
- POST /api/v1/auth/login (form `username`, `password`): the user by email, argon2id verify
  (in a thread, against the stored hash, so with the parameters the service hashed with),
  then an access and a refresh token (HS256, claims sub, iat, exp, jti, type).
- GET /api/v1/users/me: the bearer token decoded (HS256, required claims, type "access"),
  then the user looked up by id and checked active.
- GET /api/v1/users/?skip=&limit= (superusers only): the caller as above, then a page of
  users ordered by id.
- GET /api/v1/users/{id} (superusers, or the user themselves): the caller, then the user.

Users have the JSON shape of the service's UserPublic: the fields named by --user-fields (the
driver passes the keys of the service's own answer), datetimes in UTC with a "Z" as pydantic
writes them. One asyncpg connection per request, one round trip per query: statements are
prepared once per connection (asyncpg's cache), and connections go back to the pool without
asyncpg's reset query, since this app never changes session state (no SET, LISTEN or locks).

Run by bench_service.py with the generated project's interpreter, which has every dependency:

    FLOOR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<db> FLOOR_SECRET_KEY=<key> \\
        <project>/.venv/bin/python scripts/bench_floor_app.py --port 8100
"""

import argparse
import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

# This script runs in the generated project's venv; neodyme's own venv, where mypy checks it,
# has none of these (and asyncpg ships no type information at all).
import asyncpg  # type: ignore[import-not-found, import-untyped, unused-ignore]
import jwt  # type: ignore[import-not-found, unused-ignore]
import uvicorn  # type: ignore[import-not-found, unused-ignore]
from pwdlib import PasswordHash  # type: ignore[import-not-found, unused-ignore]
from pwdlib.hashers.argon2 import Argon2Hasher  # type: ignore[import-not-found, unused-ignore]
from starlette.applications import Starlette  # type: ignore[import-not-found, unused-ignore]
from starlette.requests import Request  # type: ignore[import-not-found, unused-ignore]
from starlette.responses import JSONResponse  # type: ignore[import-not-found, unused-ignore]
from starlette.routing import Route  # type: ignore[import-not-found, unused-ignore]

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "iat", "exp", "jti", "type"]
ACCESS_TOKEN_LIFETIME = timedelta(minutes=30)
REFRESH_TOKEN_LIFETIME = timedelta(days=7)
SPEC_USER_FIELDS = "email,full_name,is_active,id,created_at,updated_at"
MAX_PAGE_SIZE = 100

USER_BY_ID = "SELECT * FROM users WHERE id = $1"
USER_BY_EMAIL = "SELECT * FROM users WHERE email = $1"
USERS_PAGE = "SELECT * FROM users ORDER BY id LIMIT $1 OFFSET $2"

# pwdlib's argon2id defaults, as the service's; verify() reads the parameters from the hash.
password_hash = PasswordHash((Argon2Hasher(),))
# A login with an unknown email verifies against this, so that it costs as much as a wrong
# password.
UNKNOWN_USER_HASH = password_hash.hash(uuid4().hex)


class Floor:
    """The app's state: settings, and the pool opened and closed by the lifespan."""

    def __init__(self, database_url: str, secret_key: str, pool_size: int, fields: Sequence[str]):
        self.database_url = database_url
        self.secret_key = secret_key
        self.pool_size = pool_size
        self.user_fields = tuple(fields)
        self.pool: Any = None

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.pool = await asyncpg.create_pool(
            self.database_url,
            min_size=self.pool_size,
            max_size=self.pool_size,
            reset=_keep_session_state,
        )
        try:
            yield
        finally:
            await self.pool.close()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/health", self.health),
                Route("/api/v1/auth/login", self.login, methods=["POST"]),
                Route("/api/v1/users/me", self.read_me),
                Route("/api/v1/users/", self.list_users),
                Route("/api/v1/users/{user_id:int}", self.read_user),
            ],
            lifespan=self.lifespan,
        )

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "healthy"})

    async def login(self, request: Request) -> JSONResponse:
        form = await request.form()
        email, password = str(form.get("username", "")), str(form.get("password", ""))
        async with self.pool.acquire() as connection:
            user = await connection.fetchrow(USER_BY_EMAIL, email)
        # The connection is back in the pool before the slow hash runs.
        hashed_password = UNKNOWN_USER_HASH if user is None else user["hashed_password"]
        right = await asyncio.to_thread(password_hash.verify, password, hashed_password)
        if user is None or not right:
            return _error(401, "Incorrect email or password", {"WWW-Authenticate": "Bearer"})
        if not user["is_active"]:
            return _error(403, "Inactive user")
        tokens = {
            "access_token": self._token(user["id"], "access", ACCESS_TOKEN_LIFETIME),
            "refresh_token": self._token(user["id"], "refresh", REFRESH_TOKEN_LIFETIME),
            "token_type": "bearer",
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        }
        return JSONResponse(tokens, headers={"Cache-Control": "no-store"})

    async def read_me(self, request: Request) -> JSONResponse:
        async with self.pool.acquire() as connection:
            caller = await self._caller(request, connection)
        if caller is None:
            return _unauthenticated()
        return JSONResponse(self._user_json(caller))

    async def list_users(self, request: Request) -> JSONResponse:
        try:
            skip = int(request.query_params.get("skip", 0))
            limit = int(request.query_params.get("limit", MAX_PAGE_SIZE))
        except ValueError:
            return _error(422, "skip and limit are integers")
        if skip < 0 or not 1 <= limit <= MAX_PAGE_SIZE:
            return _error(422, f"skip >= 0, 1 <= limit <= {MAX_PAGE_SIZE}")
        async with self.pool.acquire() as connection:
            caller = await self._caller(request, connection)
            if caller is None:
                return _unauthenticated()
            if not caller["is_superuser"]:
                return _error(403, "Superuser privileges required")
            users = await connection.fetch(USERS_PAGE, limit, skip)
        return JSONResponse([self._user_json(user) for user in users])

    async def read_user(self, request: Request) -> JSONResponse:
        user_id: int = request.path_params["user_id"]
        async with self.pool.acquire() as connection:
            caller = await self._caller(request, connection)
            if caller is None:
                return _unauthenticated()
            if not caller["is_superuser"] and caller["id"] != user_id:
                return _error(403, "Superuser privileges required")
            is_caller = caller["id"] == user_id
            user = caller if is_caller else await connection.fetchrow(USER_BY_ID, user_id)
        if user is None:
            return _error(404, "User not found")
        return JSONResponse(self._user_json(user))

    async def _caller(self, request: Request, connection: Any) -> Any:
        """The active user the request's bearer access token names, or None."""
        scheme, _, token = str(request.headers.get("Authorization", "")).partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = jwt.decode(
                token, self.secret_key, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
            )
            user_id = int(claims["sub"])
        except (jwt.InvalidTokenError, ValueError):
            return None
        if claims["type"] != "access":
            return None
        user = await connection.fetchrow(USER_BY_ID, user_id)
        return user if user is not None and user["is_active"] else None

    def _token(self, user_id: int, token_type: str, lifetime: timedelta) -> str:
        issued_at = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "iat": issued_at,
            "exp": issued_at + lifetime,
            "jti": uuid4().hex,
            "type": token_type,
        }
        return str(jwt.encode(claims, self.secret_key, algorithm=ALGORITHM))

    def _user_json(self, user: Any) -> dict[str, object]:
        return {field: _json_value(user[field]) for field in self.user_fields}


async def _keep_session_state(connection: object) -> None:
    """Replaces asyncpg's reset on release, a round trip this app has no use for."""


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        # As pydantic writes an aware UTC datetime.
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status": status, "detail": detail}, status_code=status, headers=headers)


def _unauthenticated() -> JSONResponse:
    return _error(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool-size", type=int, default=15, help="the service's 5 + 10 overflow")
    parser.add_argument(
        "--user-fields", default=SPEC_USER_FIELDS, help="a user's JSON keys, in order"
    )
    arguments = parser.parse_args()
    floor = Floor(
        database_url=os.environ["FLOOR_DATABASE_URL"],
        secret_key=os.environ["FLOOR_SECRET_KEY"],
        pool_size=arguments.pool_size,
        fields=arguments.user_fields.split(","),
    )
    # As the service's server: uvloop and httptools when installed, one worker; no access log.
    uvicorn.run(floor.app(), host="127.0.0.1", port=arguments.port, log_level="warning")


if __name__ == "__main__":
    main()
