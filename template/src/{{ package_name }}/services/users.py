"""The user use cases.

The service speaks in domain errors and depends on a repository protocol, not on a
database: unit tests hand it an in-memory fake.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from ..core.exceptions import ConflictError, NotFoundError
from ..core.passwords import hash_password
from ..models.user import User, UserCreate, UserUpdate

EMAIL_TAKEN = "Email already registered"
USER_NOT_FOUND = "User not found"
USER_REFERENCED = "The user is still referenced by other records; remove those first"
LAST_SUPERUSER = "The last active superuser cannot be deleted, deactivated or demoted"
# Changes after which tokens issued before must stop working (see User.token_version).
TOKEN_REVOKING_FIELDS = frozenset({"hashed_password", "email", "is_active"})


class UserRepositoryProtocol(Protocol):
    """What the service needs from a user repository: UserRepository, or a test's fake."""

    async def get(self, session: AsyncSession, *, id: int) -> User | None: ...

    async def get_by_email(self, session: AsyncSession, *, email: str) -> User | None: ...

    async def get_multi(
        self, session: AsyncSession, *, skip: int = 0, limit: int = 100
    ) -> Sequence[User]: ...

    async def create(self, session: AsyncSession, *, obj_in: UserCreate) -> User: ...

    async def update(
        self, session: AsyncSession, *, db_obj: User, obj_in: UserUpdate | Mapping[str, Any]
    ) -> User: ...

    async def delete(self, session: AsyncSession, *, id: int) -> User | None: ...

    async def count_other_active_superusers(self, session: AsyncSession, *, user: User) -> int: ...


class UserService:
    """Register, read, change and remove users, within the caller's session."""

    def __init__(self, session: AsyncSession, repository: UserRepositoryProtocol) -> None:
        self.session = session
        self.repository = repository

    async def create_user(self, user_in: UserCreate) -> User:
        # No "is the email free?" query first: the unique index answers that, also for two
        # requests at once, and the session takes no connection while the password hashes.
        with _user_errors():
            return await self.repository.create(self.session, obj_in=user_in)

    async def get_user(self, user_id: int) -> User:
        user = await self.repository.get(self.session, id=user_id)
        if user is None:
            raise NotFoundError(USER_NOT_FOUND)
        return user

    async def list_users(self, *, skip: int, limit: int) -> Sequence[User]:
        return await self.repository.get_multi(self.session, skip=skip, limit=limit)

    async def update_user(self, user_id: int, user_in: UserUpdate) -> User:
        changes = user_in.model_dump(exclude_unset=True)
        if "password" in changes:  # hashed before the user is read: no connection waits on it
            changes["hashed_password"] = await hash_password(changes.pop("password"))
        user = await self.get_user(user_id)
        return await self.apply_changes(user, changes)

    async def apply_changes(self, user: User, changes: Mapping[str, Any]) -> User:
        """Save changes to a user (a new password already hashed), as one who may make them."""
        changes = {key: value for key, value in changes.items() if getattr(user, key) != value}
        if changes.get("is_active") is False or changes.get("is_superuser") is False:
            await self._keep_an_active_superuser(user)
        if TOKEN_REVOKING_FIELDS & changes.keys():
            changes["token_version"] = user.token_version + 1
        with _user_errors():
            return await self.repository.update(self.session, db_obj=user, obj_in=changes)

    async def delete_user(self, user_id: int) -> User:
        user = await self.get_user(user_id)
        await self._keep_an_active_superuser(user)
        with _user_errors(referenced=USER_REFERENCED):
            deleted = await self.repository.delete(self.session, id=user_id)
        if deleted is None:  # deleted by another request since it was read
            raise NotFoundError(USER_NOT_FOUND)
        return deleted

    async def _keep_an_active_superuser(self, user: User) -> None:
        """Refuses to take away the last active superuser: nobody could administer users then."""
        if not (user.is_superuser and user.is_active):
            return
        if await self.repository.count_other_active_superusers(self.session, user=user) == 0:
            raise ConflictError(LAST_SUPERUSER)


@contextmanager
def _user_errors(*, referenced: str = EMAIL_TAKEN) -> Iterator[None]:
    """Reports what the database refused under concurrent requests as the domain errors they are.

    A constraint firing is a taken email (the only unique column), or, for a delete, rows of
    other tables that still point at the user; a row gone under an update was deleted meanwhile.
    """
    try:
        yield
    except IntegrityError as error:
        raise ConflictError(referenced) from error
    except StaleDataError as error:
        raise NotFoundError(USER_NOT_FOUND) from error
