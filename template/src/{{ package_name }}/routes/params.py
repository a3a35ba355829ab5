"""Path and query parameters the routers share, bounded by the columns they address."""

from typing import Annotated

from fastapi import Path, Query

from ..models.base import MAX_INTEGER

# An id in a path: from 1 to the largest value of an INTEGER column; others are a 422.
Id = Annotated[int, Path(ge=1, le=MAX_INTEGER)]
Skip = Annotated[int, Query(ge=0, le=MAX_INTEGER, description="Rows to skip")]
Limit = Annotated[int, Query(ge=1, le=100, description="Rows to return, at most")]
