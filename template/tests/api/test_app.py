"""What every response shares: the request id; and the app's own endpoints."""

import gc
import re

import pytest
from fastapi import FastAPI
from httpx import AsyncClient


async def test_health(client: AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


async def test_start_up_leaves_what_it_made_out_of_garbage_collection(app: FastAPI) -> None:
    gc.unfreeze()  # whatever an earlier test's start-up froze
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


async def test_openapi_schema_builds(client: AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    assert "/api/v1/users/{user_id}" in response.json()["paths"]


async def test_request_id_is_echoed_when_given(client: AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "abc-123_XYZ.7"})

    assert response.headers["X-Request-ID"] == "abc-123_XYZ.7"


@pytest.mark.parametrize(
    "given",
    [None, "", "has spaces", "<script>", "x" * 129],
    ids=["absent", "empty", "spaces", "markup", "too long"],
)
async def test_request_id_is_made_when_absent_or_unfit(
    client: AsyncClient, given: str | None
) -> None:
    headers = {} if given is None else {"X-Request-ID": given}

    response = await client.get("/health", headers=headers)

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
