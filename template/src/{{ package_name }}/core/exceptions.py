"""Domain errors, and the one place where errors become HTTP answers.

Every error answer is an RFC 9457 problem document (`application/problem+json`): `type`,
`title`, `status` and `detail`, plus a stable `code` for clients to branch on and the
`request_id` to quote when reporting it. `type` is always "about:blank", so `title` is the
HTTP status phrase and `code` tells errors apart.

Services raise the errors below, never HTTPException: they say what went wrong, and this
module alone decides how that looks over HTTP. Failures of the database are translated here
too: unavailable or overloaded is 503 with Retry-After, never a 500.
"""

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logging import request_id_var

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
# How long a client should wait before retrying when the service or its database is busy.
RETRY_AFTER_SECONDS = 5


class AppError(Exception):
    """An error the client can act on; `detail` is shown to it as is."""

    status_code: ClassVar[int] = HTTPStatus.BAD_REQUEST
    code: ClassVar[str] = "bad_request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def headers(self) -> Mapping[str, str] | None:
        """Headers the answer needs besides its body, e.g. WWW-Authenticate on a 401."""
        return None


class NotFoundError(AppError):
    """The thing asked for does not exist (or no longer does)."""

    status_code = HTTPStatus.NOT_FOUND
    code = "not_found"


class ConflictError(AppError):
    """The request clashes with the current state, e.g. a value that must be unique."""

    status_code = HTTPStatus.CONFLICT
    code = "conflict"


class NotAuthenticatedError(AppError):
    """The request does not prove who sends it: no token, a bad one, or a failed login."""

    status_code = HTTPStatus.UNAUTHORIZED
    code = "not_authenticated"

    @property
    def headers(self) -> Mapping[str, str]:
        # A 401 names the scheme to authenticate with (RFC 9110, RFC 6750).
        return {"WWW-Authenticate": "Bearer"}


class ForbiddenError(AppError):
    """The caller is known, and not allowed to do this."""

    status_code = HTTPStatus.FORBIDDEN
    code = "forbidden"


class RetryLaterError(AppError):
    """An answer that tells the client when to try again (Retry-After, in seconds)."""

    def __init__(self, detail: str, *, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RateLimitedError(RetryLaterError):
    """Too many attempts from this client or on this account."""

    status_code = HTTPStatus.TOO_MANY_REQUESTS
    code = "rate_limited"


class ServiceUnavailableError(RetryLaterError):
    """The service cannot answer now (its database is down, or it is shedding load)."""

    status_code = HTTPStatus.SERVICE_UNAVAILABLE
    code = "service_unavailable"


DATABASE_UNAVAILABLE = "The database is unavailable; try again later."
DATABASE_BUSY = "The service is busy; try again later."


def database_error_as_app_error(error: Exception) -> AppError | None:
    """What a failure of the database means to the client, or None if it is a bug of ours.

    Services turn the failures they expect into their own errors (a taken email is
    "Email already registered"); what reaches this is the rest.
    """
    if isinstance(error, StaleDataError):  # the row was deleted under a concurrent change
        return NotFoundError("It was changed or removed by another request.")
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection became free in time
        return ServiceUnavailableError(DATABASE_BUSY)
    if isinstance(error, sa_exc.IntegrityError):  # a constraint fired under a concurrent change
        return ConflictError("The request conflicts with the current state of the data.")
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError) or (
        isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated
    ):
        return ServiceUnavailableError(DATABASE_UNAVAILABLE)
    # The driver's error: wrapped by SQLAlchemy, or as it is (core/database.py's fetch_first_row).
    if _is_unavailable(error.orig if isinstance(error, sa_exc.DBAPIError) else error):
        return ServiceUnavailableError(DATABASE_UNAVAILABLE)
    if isinstance(error, ConnectionError | TimeoutError):  # raised by the driver itself
        return ServiceUnavailableError(DATABASE_UNAVAILABLE)
    return None


# SQLSTATE classes that mean "not now" rather than "wrong": connection exceptions (08),
# insufficient resources (53), operator intervention: shutdown, timeouts, a dropped
# database (57), and a database that does not exist (3D).
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "53", "57", "3D")


def _is_unavailable(driver_error: BaseException | None) -> bool:
    sqlstate = getattr(driver_error, "sqlstate", None) or getattr(driver_error, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES)


def problem_response(
    status_code: int,
    detail: str,
    code: str,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """The problem document every error answer is made of."""
    problem = {
        "type": "about:blank",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
        **extensions,
    }
    return JSONResponse(
        problem, status_code=status_code, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def app_error_response(error: AppError) -> JSONResponse:
    return problem_response(error.status_code, error.detail, error.code, headers=error.headers)


def register_exception_handlers(app: FastAPI) -> None:
    """Answer domain errors, invalid requests and HTTP errors with problem documents."""

    @app.exception_handler(AppError)
    async def handle_app_error(_: Request, error: AppError) -> JSONResponse:
        return app_error_response(error)

    @app.exception_handler(RequestValidationError)
    async def handle_validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        # Only where, what and why: pydantic's `input` could echo a password back.
        field_errors = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()
        ]
        return problem_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "The request is invalid; see errors.",
            "validation_error",
            errors=field_errors,
        )

    # Starlette's own errors too: unknown routes (404), wrong methods (405), and so on.
    @app.exception_handler(HTTPException)
    async def handle_http_error(_: Request, error: HTTPException) -> JSONResponse:
        status = HTTPStatus(error.status_code)
        return problem_response(status, error.detail, status.name.lower(), headers=error.headers)


class UnhandledErrorMiddleware:
    """The last resort: database failures become their problem documents (503, 409, 404),
    and anything else a bare 500, with its traceback logged.

    Starlette's own last-resort handler sits outside every middleware, where the request id is
    gone; this one runs inside RequestIdMiddleware, so the answer and its log line carry the
    id. It also sees the errors of a commit, which happens after the handler has returned.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        response_started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal response_started
            response_started |= message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception as error:
            if response_started:
                raise  # Too late for an error answer: the server logs it and hangs up.
            app_error = database_error_as_app_error(error)
            if app_error is None:
                logger.exception("Unhandled error in %s %s", scope["method"], scope["path"])
                response = problem_response(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    "An unexpected error occurred.",
                    "internal_error",
                )
            else:
                # The type and SQLSTATE say what happened; the message could quote the data.
                logger.warning(
                    "%s %s answered %d: %s (%s)",
                    scope["method"],
                    scope["path"],
                    app_error.status_code,
                    type(error).__name__,
                    getattr(getattr(error, "orig", error), "sqlstate", None) or "-",
                )
                response = app_error_response(app_error)
            await response(scope, receive, send)
