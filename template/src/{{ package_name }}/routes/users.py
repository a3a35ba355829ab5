"""The /users endpoints.

They return table models; `response_model=UserPublic` decides what of them leaves the API.
"""

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from ..core.database import SessionDep
from ..models.user import User, UserCreate, UserPublic, UserUpdate
from ..repositories.user import user_repository
from ..services.users import UserService

router = APIRouter(prefix="/users", tags=["users"])


async def get_user_service(session: SessionDep) -> UserService:
    return UserService(session, user_repository)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]


@router.post("/", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(user_in: UserCreate, users: UserServiceDep) -> User:
    return await users.create_user(user_in)


@router.get("/", response_model=list[UserPublic])
async def list_users(
    users: UserServiceDep,
    skip: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> Sequence[User]:
    return await users.list_users(skip=skip, limit=limit)


@router.get("/{user_id}", response_model=UserPublic)
async def get_user(user_id: int, users: UserServiceDep) -> User:
    return await users.get_user(user_id)


@router.put("/{user_id}", response_model=UserPublic)
@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(user_id: int, user_in: UserUpdate, users: UserServiceDep) -> User:
    """Change the fields sent, keep the others (PUT and PATCH alike)."""
    return await users.update_user(user_id, user_in)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(user_id: int, users: UserServiceDep) -> None:
    await users.delete_user(user_id)
