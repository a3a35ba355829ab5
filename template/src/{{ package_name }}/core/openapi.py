"""An OpenAPI document that tells the truth: every status each operation can answer, with the
problem schema of its body, and the headers every answer carries.

Routes name the errors of their own use cases (`responses=problem_responses(404, 409)`);
the answers any operation can give (413 for a body too large, 503 when the database is
unavailable, 500) are added here, once, for all, so a client generated from the document
knows every answer it may get.
"""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from .exceptions import PROBLEM_MEDIA_TYPE


class Problem(BaseModel):
    """An RFC 9457 problem document: the body of every error answer."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str  # stable: what clients branch on
    request_id: str | None


class FieldError(BaseModel):
    loc: list[str | int]  # where: e.g. ["body", "email"]
    msg: str
    type: str


class ValidationProblem(Problem):
    """The problem document of a 422: which fields are invalid, and why."""

    errors: list[FieldError]


DESCRIPTIONS = {
    HTTPStatus.BAD_REQUEST: "The body cannot be parsed",
    HTTPStatus.UNAUTHORIZED: "Not signed in, or the token is invalid, expired or revoked",
    HTTPStatus.FORBIDDEN: "Signed in, but not allowed to do this",
    HTTPStatus.NOT_FOUND: "Not found",
    HTTPStatus.CONFLICT: "Conflicts with the current state of the data",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "The request body is too large",
    HTTPStatus.UNPROCESSABLE_ENTITY: "The request is invalid: `errors` says where and why",
    HTTPStatus.TOO_MANY_REQUESTS: "Too many attempts: retry after Retry-After seconds",
    HTTPStatus.INTERNAL_SERVER_ERROR: "An unexpected error",
    HTTPStatus.SERVICE_UNAVAILABLE: "The database is unavailable or the service is busy: "
    "retry after Retry-After seconds",
}

_HEADERS = {
    "X-Request-ID": {
        "description": "The request's id, as in the service's logs: the client's own, or a new one",
        "required": True,
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "string"},
    },
    "WWW-Authenticate": {
        "description": "The scheme to authenticate with",
        "required": True,
        "schema": {"type": "string"},
    },
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route or router, for the errors its use cases answer."""
    return {status: {"description": DESCRIPTIONS[HTTPStatus(status)]} for status in statuses}


class DocumentedFastAPI(FastAPI):
    """FastAPI whose OpenAPI document lists the problem answers of every operation."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = _document_answers(super().openapi())
        return self.openapi_schema


def _document_answers(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, ValidationProblem, FieldError):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    # FastAPI's own 422 schemas: replaced by ValidationProblem above.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)

    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses: dict[str, Any] = operation["responses"]
            if "requestBody" in operation:  # a body that is not JSON, or too large
                responses.setdefault("400", {})
                responses.setdefault("413", {})
            if path.startswith("/api/"):  # what uses the database, which may be unavailable
                responses.setdefault("503", {})
            responses.setdefault("500", {})
            for status, response in responses.items():
                _document_answer(int(status), response)
    return document


def _document_answer(status: int, response: dict[str, Any]) -> None:
    headers = response.setdefault("headers", {})
    headers["X-Request-ID"] = _HEADERS["X-Request-ID"]
    if status == HTTPStatus.NO_CONTENT:
        response.pop("content", None)
    if status < 400:
        return
    phrase = HTTPStatus(status).phrase
    response.setdefault("description", DESCRIPTIONS.get(HTTPStatus(status), phrase))
    model = ValidationProblem if status == HTTPStatus.UNPROCESSABLE_ENTITY else Problem
    response["content"] = {
        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
    }
    if status == HTTPStatus.UNAUTHORIZED:
        headers["WWW-Authenticate"] = _HEADERS["WWW-Authenticate"]
    if status in (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE):
        headers["Retry-After"] = _HEADERS["Retry-After"]
