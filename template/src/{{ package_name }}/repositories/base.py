"""Generic data access: the queries every table needs, written once."""

from collections.abc import Sequence
from typing import Generic, TypeVar

from sqlalchemy import func
from sqlalchemy.orm import class_mapper
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

ModelT = TypeVar("ModelT", bound=SQLModel)
CreateT = TypeVar("CreateT", bound=SQLModel)
UpdateT = TypeVar("UpdateT", bound=SQLModel)


class BaseRepository(Generic[ModelT, CreateT, UpdateT]):
    """Reads and writes one table model.

    Repositories hold no state and own no transaction: they flush, so the database assigns
    ids and checks constraints right away, and whoever opened the session commits.
    """

    def __init__(self, model: type[ModelT]) -> None:
        self.model = model

    async def get(self, session: AsyncSession, *, id: int) -> ModelT | None:
        return await session.get(self.model, id)

    async def get_multi(
        self, session: AsyncSession, *, skip: int = 0, limit: int = 100
    ) -> Sequence[ModelT]:
        # Ordered by primary key, so that pages neither overlap nor skip rows.
        primary_key = class_mapper(self.model).primary_key
        statement = select(self.model).order_by(*primary_key).offset(skip).limit(limit)
        return (await session.exec(statement)).all()

    async def count(self, session: AsyncSession) -> int:
        statement = select(func.count()).select_from(self.model)
        return (await session.exec(statement)).one()

    async def create(self, session: AsyncSession, *, obj_in: CreateT) -> ModelT:
        return await self._save(session, self.model.model_validate(obj_in))

    async def update(self, session: AsyncSession, *, db_obj: ModelT, obj_in: UpdateT) -> ModelT:
        db_obj.sqlmodel_update(obj_in.model_dump(exclude_unset=True))
        return await self._save(session, db_obj)

    async def delete(self, session: AsyncSession, *, db_obj: ModelT) -> None:
        await session.delete(db_obj)
        await session.flush()

    async def _save(self, session: AsyncSession, db_obj: ModelT) -> ModelT:
        session.add(db_obj)
        await session.flush()
        return db_obj
