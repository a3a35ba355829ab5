"""The user use cases.

The service speaks in domain errors and depends on a repository protocol, not on a
database: unit tests hand it an in-memory fake.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from ..core.exceptions import ConflictError, NotFoundError
from ..models.user import User, UserCreate, UserUpdate

EMAIL_TAKEN = "Email already registered"
USER_NOT_FOUND = "User not found"


class UserRepositoryProtocol(Protocol):
    """What the service needs from a user repository: UserRepository, or a test's fake."""

    async def get(self, session: AsyncSession, *, id: int) -> User | None: ...

    async def get_by_email(self, session: AsyncSession, *, email: str) -> User | None: ...

    async def get_multi(
        self, session: AsyncSession, *, skip: int = 0, limit: int = 100
    ) -> Sequence[User]: ...

    async def create(self, session: AsyncSession, *, obj_in: UserCreate) -> User: ...

    async def update(self, session: AsyncSession, *, db_obj: User, obj_in: UserUpdate) -> User: ...

    async def delete(self, session: AsyncSession, *, db_obj: User) -> None: ...


class UserService:
    """Register, read, change and remove users, within the caller's session."""

    def __init__(self, session: AsyncSession, repository: UserRepositoryProtocol) -> None:
        self.session = session
        self.repository = repository

    async def create_user(self, user_in: UserCreate) -> User:
        await self._check_email_free(user_in.email)
        with _email_taken_on_integrity_error():
            return await self.repository.create(self.session, obj_in=user_in)

    async def get_user(self, user_id: int) -> User:
        user = await self.repository.get(self.session, id=user_id)
        if user is None:
            raise NotFoundError(USER_NOT_FOUND)
        return user

    async def list_users(self, *, skip: int, limit: int) -> Sequence[User]:
        return await self.repository.get_multi(self.session, skip=skip, limit=limit)

    async def update_user(self, user_id: int, user_in: UserUpdate) -> User:
        user = await self.get_user(user_id)
        if user_in.email is not None and user_in.email != user.email:
            await self._check_email_free(user_in.email)
        with _email_taken_on_integrity_error():
            return await self.repository.update(self.session, db_obj=user, obj_in=user_in)

    async def delete_user(self, user_id: int) -> None:
        user = await self.get_user(user_id)
        await self.repository.delete(self.session, db_obj=user)

    async def _check_email_free(self, email: str) -> None:
        if await self.repository.get_by_email(self.session, email=email) is not None:
            raise ConflictError(EMAIL_TAKEN)


@contextmanager
def _email_taken_on_integrity_error() -> Iterator[None]:
    """Reports the unique email constraint firing as the conflict it is.

    The check before a write and the write itself are two statements: a concurrent request
    can take the email in between, and then the database's constraint is what stops it.
    (Email is the only constraint a valid user can break.)
    """
    try:
        yield
    except IntegrityError as error:
        raise ConflictError(EMAIL_TAKEN) from error
