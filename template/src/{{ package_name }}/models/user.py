"""The user model family: one table, and the shapes a user takes in and out of the API."""

from datetime import datetime

from pydantic import EmailStr, field_validator
from sqlmodel import Field, SQLModel

from .base import Timestamped, reject_null


class UserBase(SQLModel):
    """The fields a client may both send and see."""

    email: EmailStr = Field(unique=True, index=True, max_length=255)
    full_name: str = Field(max_length=255)
    is_active: bool = True


class User(UserBase, Timestamped, table=True):
    """A row of the `users` table."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    hashed_password: str = Field(max_length=255)
    is_superuser: bool = False


class UserCreate(UserBase):
    """What a client sends to register."""

    password: str = Field(min_length=8, max_length=100)


class UserUpdate(SQLModel):
    """A partial update: a field left out keeps its value."""

    email: EmailStr | None = Field(default=None, max_length=255)
    full_name: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, min_length=8, max_length=100)
    is_active: bool | None = None

    reject_nulls = field_validator("*", mode="before")(reject_null)


class UserPublic(UserBase):
    """What the API shows of a user: never a password, hashed or not."""

    id: int
    created_at: datetime
    updated_at: datetime
