"""The API's routers.

`api_router` is served under /api/v1, after neodyme's own routers (users, auth, ...). Include
your routers in it, here, e.g.:

    from . import items

    api_router.include_router(items.router)

`neodyme add resource` includes the routers it writes here too.
"""

from fastapi import APIRouter

api_router = APIRouter()
