"""Generic data access: the queries every table needs, written once."""

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import delete, func
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
        self._primary_key = class_mapper(model).primary_key

    async def get(self, session: AsyncSession, *, id: int) -> ModelT | None:
        return await session.get(self.model, id)

    async def get_multi(
        self, session: AsyncSession, *, skip: int = 0, limit: int = 100
    ) -> Sequence[ModelT]:
        # Ordered by primary key, so that pages neither overlap nor skip rows.
        statement = select(self.model).order_by(*self._primary_key).offset(skip).limit(limit)
        return (await session.exec(statement)).all()

    async def count(self, session: AsyncSession) -> int:
        statement = select(func.count()).select_from(self.model)
        return (await session.exec(statement)).one()

    async def create(self, session: AsyncSession, *, obj_in: CreateT) -> ModelT:
        return await self._save(session, self.model.model_validate(obj_in))

    async def update(
        self, session: AsyncSession, *, db_obj: ModelT, obj_in: UpdateT | Mapping[str, Any]
    ) -> ModelT:
        """Change the fields `obj_in` holds: a model's fields that were set, or a dict's keys."""
        changes = obj_in if isinstance(obj_in, Mapping) else obj_in.model_dump(exclude_unset=True)
        db_obj.sqlmodel_update(dict(changes))
        return await self._save(session, db_obj)

    async def delete(self, session: AsyncSession, *, id: int) -> ModelT | None:
        """Delete the row with this id; return it, or None if there was none.

        One statement (DELETE ... RETURNING): of two requests deleting the same row at once,
        one gets the row back and the other None, never both.
        """
        (primary_key,) = self._primary_key
        statement = delete(self.model).where(primary_key == id).returning(self.model)
        deleted: ModelT | None = (await session.exec(statement)).scalar_one_or_none()
        if deleted is not None:
            session.expunge(deleted)  # its row is gone: the session no longer tracks it
        return deleted

    async def _save(self, session: AsyncSession, db_obj: ModelT) -> ModelT:
        session.add(db_obj)
        await session.flush()
        return db_obj
