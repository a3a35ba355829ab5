"""The /users endpoints.

They return table models; `response_model=UserPublic` decides what of them leaves the API.
Handlers that only read take a read session, those that write a unit of work.
"""

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from ..core.database import ReadSessionDep, SessionDep
from ..core.openapi import problem_responses
from ..models.user import User, UserCreate, UserPublic, UserUpdate
from ..repositories.user import user_repository
from ..services.users import UserService
from .params import Id, Limit, Skip

router = APIRouter(prefix="/users", tags=["users"])


async def get_user_service(session: SessionDep) -> UserService:
    return UserService(session, user_repository)


async def get_user_reader(session: ReadSessionDep) -> UserService:
    return UserService(session, user_repository)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
UserReaderDep = Annotated[UserService, Depends(get_user_reader)]


@router.post(
    "/",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409),
)
async def create_user(user_in: UserCreate, users: UserServiceDep) -> User:
    return await users.create_user(user_in)


@router.get("/", response_model=list[UserPublic])
async def list_users(users: UserReaderDep, skip: Skip = 0, limit: Limit = 100) -> Sequence[User]:
    return await users.list_users(skip=skip, limit=limit)


@router.get("/{user_id}", response_model=UserPublic, responses=problem_responses(404))
async def get_user(user_id: Id, users: UserReaderDep) -> User:
    return await users.get_user(user_id)


@router.put("/{user_id}", response_model=UserPublic, responses=problem_responses(404, 409))
@router.patch("/{user_id}", response_model=UserPublic, responses=problem_responses(404, 409))
async def update_user(user_id: Id, user_in: UserUpdate, users: UserServiceDep) -> User:
    """Change the fields sent, keep the others (PUT and PATCH alike)."""
    return await users.update_user(user_id, user_in)


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(404, 409),
)
async def delete_user(user_id: Id, users: UserServiceDep) -> None:
    await users.delete_user(user_id)
