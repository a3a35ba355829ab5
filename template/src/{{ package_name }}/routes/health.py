"""Liveness: is the process up and answering?"""

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Answers as long as the process serves requests; it does not touch the database."""
    return {"status": "healthy"}
