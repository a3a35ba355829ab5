"""Logging set-up, and the request id that ties each log line to the request it served."""

import logging
import re
from contextvars import ContextVar
from uuid import uuid4

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def configure_logging(level: str) -> None:
    """Send every log line, the server's and the libraries' too, to stderr with its request id."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)


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
