"""HTTP rules every response follows, as pure ASGI middlewares (no task or stream per request)."""

from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .exceptions import problem_response

CONTENT_TOO_LARGE = "The request body is larger than the service accepts."


class BodySizeLimitMiddleware:
    """Answers 413 to a request whose body is over `max_body_bytes`, before it is read in full.

    At once when its Content-Length says so; otherwise (a chunked body) as soon as what has
    arrived grows past the limit: a client cannot make the service buffer a body of any size.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            response = problem_response(413, CONTENT_TOO_LARGE, "request_entity_too_large")
            await response(scope, receive, send)
            return

        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # Raised where FastAPI reads the body, which answers it as any HTTP error.
                    raise HTTPException(413, CONTENT_TOO_LARGE)
            return message

        await self.app(scope, receive_within_limit, send)


class SecurityHeadersMiddleware:
    """Headers that keep browsers and caches from misusing answers.

    Every response is `X-Content-Type-Options: nosniff` (a JSON answer is never run as a
    script), and the API's are `Cache-Control: no-store` unless a route says otherwise: they
    carry account data and tokens, which no cache may keep (RFC 6749 §5.1).
    """

    def __init__(self, app: ASGIApp, *, no_store_prefix: str) -> None:
        self.app = app
        self.no_store_prefix = no_store_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        no_store = scope["path"].startswith(self.no_store_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if no_store and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TrailingSlashMiddleware:
    """Serves a collection's path without its trailing slash as the path with it.

    `POST /api/v1/users` is `POST /api/v1/users/`. Starlette would answer the first with a
    redirect, which many clients do not follow for a POST, and which loses the body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._slashless: frozenset[str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self._collection_paths(scope):
            scope = {**scope, "path": scope["path"] + "/"}
            if "raw_path" in scope:
                scope["raw_path"] += b"/"
        await self.app(scope, receive, send)

    def _collection_paths(self, scope: Scope) -> frozenset[str]:
        """The paths of routes ending in "/" (without it), found once all routes are in."""
        if self._slashless is None:
            templates = (route.path_format for route in iter_route_contexts(scope["app"].routes))
            self._slashless = frozenset(
                template.rstrip("/")
                for template in templates
                if template and template.endswith("/") and template != "/" and "{" not in template
            )
        return self._slashless
