"""Data access for users: passwords are hashed here, so no code path can store one in clear."""

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..core.passwords import hash_password
from ..models.user import User, UserCreate, UserUpdate
from .base import BaseRepository


class UserRepository(BaseRepository[User, UserCreate, UserUpdate]):
    async def get_by_email(self, session: AsyncSession, *, email: str) -> User | None:
        statement = select(User).where(User.email == email)
        return (await session.exec(statement)).first()

    async def create(self, session: AsyncSession, *, obj_in: UserCreate) -> User:
        hashed_password = await hash_password(obj_in.password)
        user = User.model_validate(obj_in, update={"hashed_password": hashed_password})
        return await self._save(session, user)

    async def update(self, session: AsyncSession, *, db_obj: User, obj_in: UserUpdate) -> User:
        changes = obj_in.model_dump(exclude_unset=True)
        if "password" in changes:
            changes["hashed_password"] = await hash_password(changes.pop("password"))
        db_obj.sqlmodel_update(changes)
        return await self._save(session, db_obj)


# Stateless, so one instance serves every request.
user_repository = UserRepository(User)
