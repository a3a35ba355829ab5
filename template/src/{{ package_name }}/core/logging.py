"""Logging set-up, and the request id that ties each log line to the request it served."""

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import uuid4

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import settings

REQUEST_ID_HEADER = "X-Request-ID"
# A client's id ends up in our logs and responses: accept only short ids of safe characters.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
LOG_FORMAT = "%(asctime)s %(levelname)-8s [%(request_id)s] %(name)s: %(message)s"

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Gives every record a `request_id`: the current request's, or "-" outside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


# What a record holds besides the `extra` of its call: the attributes every record has, the
# request id, and uvicorn's color_message (the message again, in terminal colours).
_NOT_EXTRA = frozenset(vars(logging.makeLogRecord({}))) | {
    "asctime",
    "color_message",
    "message",
    "request_id",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors: no parsing rules to write or maintain.

    Each line has the time (UTC), level, logger, message and request id, the traceback if
    any, and the fields the call passed as `extra`, such as those of the access log.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        line |= {k: v for k, v in vars(record).items() if k not in _NOT_EXTRA}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


def configure_logging(level: str, log_format: Literal["json", "console"]) -> None:
    """Send every log line, the server's and the libraries' too, to stderr with its request id."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # Uvicorn's lines go through the handler above too, even where uvicorn set up a handler
    # of its own; its access log is off: the monitoring module logs requests with more.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def ensure_logging_configured() -> None:
    """Set up logging from the settings when a server starts the app and nobody else has.

    `uv run <project>` and the test suite set it up themselves; other servers, such as
    `uvicorn <package>.main:app`, do not, and the application's lines would go nowhere.
    """
    if not logging.getLogger().handlers:
        configure_logging(settings.log_level, settings.log_format)


class RequestIdMiddleware:
    """Gives each request an id and puts it on the response as X-Request-ID.

    The id is the client's X-Request-ID when it is a sane one, a new one otherwise. While the
    request runs, it is in `request_id_var`, where log records and error bodies find it.
    A pure ASGI middleware: unlike BaseHTTPMiddleware it adds no task or stream per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        given = Headers(scope=scope).get(REQUEST_ID_HEADER)
        request_id = given if given and _VALID_REQUEST_ID.fullmatch(given) else uuid4().hex

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        token = request_id_var.set(request_id)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            request_id_var.reset(token)
