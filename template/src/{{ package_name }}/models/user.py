"""The user model family: one table, and the shapes a user takes in and out of the API."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from .base import Email, InputModel, PartialUpdate, Timestamped


class UserBase(SQLModel):
    """The fields a client may both send and see."""

    email: Email = Field(unique=True, index=True, max_length=255)
    full_name: str = Field(max_length=255)
    is_active: bool = True


class User(UserBase, Timestamped, table=True):
    """A row of the `users` table."""

    __tablename__ = "users"
    # AUTOINCREMENT: SQLite would otherwise give a deleted user's id to the next new one.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    hashed_password: str = Field(max_length=255)
    is_superuser: bool = False
    # Moves on every change that must end the user's sessions (password, email, deactivation,
    # logout): tokens carry the version they were issued at, and older ones stop working.
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class UserCreate(UserBase, InputModel):
    """What a client sends to create a user."""

    password: str = Field(min_length=8, max_length=100)
    is_superuser: bool = False


class UserUpdate(PartialUpdate):
    """A partial update: a field left out keeps its value."""

    email: Email | None = Field(default=None, max_length=255)
    full_name: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, min_length=8, max_length=100)
    is_active: bool | None = None
    is_superuser: bool | None = None


class UserPublic(UserBase):
    """What the API shows of a user: never a password, hashed or not."""

    # Read back from the table, where it was validated on the way in: validating it again for
    # every user of a page would cost more than the query.
    email: str = Field(schema_extra={"json_schema_extra": {"format": "email"}})
    id: int
    is_superuser: bool
    created_at: datetime
    updated_at: datetime
