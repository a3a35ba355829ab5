"""Domain errors, and the one place where errors become HTTP answers.

Every error answer is an RFC 9457 problem document (`application/problem+json`): `type`,
`title`, `status` and `detail`, plus a stable `code` for clients to branch on and the
`request_id` to quote when reporting it. `type` is always "about:blank", so `title` is the
HTTP status phrase and `code` tells errors apart.

Services raise the errors below, never HTTPException: they say what went wrong, and this
module alone decides how that looks over HTTP.
"""

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logging import request_id_var

logger = logging.getLogger(__name__)


class AppError(Exception):
    """An error the client can act on; `detail` is shown to it as is."""

    status_code: ClassVar[int] = HTTPStatus.BAD_REQUEST
    code: ClassVar[str] = "bad_request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(AppError):
    """The thing asked for does not exist."""

    status_code = HTTPStatus.NOT_FOUND
    code = "not_found"


class ConflictError(AppError):
    """The request clashes with the current state, e.g. a value that must be unique."""

    status_code = HTTPStatus.CONFLICT
    code = "conflict"


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
        problem,
        status_code=status_code,
        headers=headers,
        media_type="application/problem+json",
    )


def register_exception_handlers(app: FastAPI) -> None:
    """Answer domain errors, invalid requests and HTTP errors with problem documents."""

    @app.exception_handler(AppError)
    async def handle_app_error(_: Request, error: AppError) -> JSONResponse:
        return problem_response(error.status_code, error.detail, error.code)

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
    """Answers any exception nothing else handled with a bare 500 and logs its traceback.

    Starlette's last-resort handler sits outside every middleware, where the request id is
    gone; this one runs inside RequestIdMiddleware, so the 500 and its log line carry the id.
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
        except Exception:
            if response_started:
                raise  # Too late for an error answer: the server logs it and hangs up.
            logger.exception("Unhandled error in %s %s", scope["method"], scope["path"])
            response = problem_response(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "An unexpected error occurred.",
                "internal_error",
            )
            await response(scope, receive, send)
