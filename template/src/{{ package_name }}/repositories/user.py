"""Data access for users: passwords are hashed here, so no code path can store one in clear."""

from collections.abc import Mapping
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..core.passwords import hash_password
from ..models.base import normalize_email
from ..models.user import User, UserCreate, UserUpdate
from .base import BaseRepository


class UserRepository(BaseRepository[User, UserCreate, UserUpdate]):
    async def get_by_email(self, session: AsyncSession, *, email: str) -> User | None:
        statement = select(User).where(User.email == normalize_email(email))
        return (await session.exec(statement)).first()

    async def create(self, session: AsyncSession, *, obj_in: UserCreate) -> User:
        # Hashed before the first statement, so the session has no connection to hold meanwhile.
        hashed_password = await hash_password(obj_in.password)
        user = User.model_validate(obj_in, update={"hashed_password": hashed_password})
        return await self._save(session, user)

    async def update(
        self, session: AsyncSession, *, db_obj: User, obj_in: UserUpdate | Mapping[str, Any]
    ) -> User:
        if isinstance(obj_in, Mapping):
            changes = dict(obj_in)
        else:
            changes = obj_in.model_dump(exclude_unset=True)
        if "password" in changes:
            changes["hashed_password"] = await hash_password(changes.pop("password"))
        return await super().update(session, db_obj=db_obj, obj_in=changes)

    async def count_other_active_superusers(self, session: AsyncSession, *, user: User) -> int:
        """Active superusers but this one. Their rows stay locked until the transaction ends
        (FOR UPDATE), so two superusers demoting each other at once cannot both succeed.
        """
        statement = (
            select(User.id)
            .where(User.is_superuser, User.is_active, User.id != user.id)
            .with_for_update()
        )
        return len((await session.exec(statement)).all())


# Stateless, so one instance serves every request.
user_repository = UserRepository(User)
