"""Building blocks shared by the models: timestamps, the rules of every input, column bounds."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, EmailStr, field_validator
from sqlmodel import Field, SQLModel

# The largest value of an INTEGER column (32-bit on PostgreSQL; SQLite is held to the same):
# ids and offsets beyond it are refused as invalid input before any query sees them.
MAX_INTEGER = 2**31 - 1


def utc_now() -> datetime:
    return datetime.now(UTC)


class Timestamped(SQLModel):
    """`created_at` and `updated_at` columns; `updated_at` moves on every UPDATE of the row.

    SQLModel stores `datetime` fields as timezone-aware UTC on every database, SQLite
    included, and refuses naive values, so these always come back with their timezone.
    """

    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now, sa_column_kwargs={"onupdate": utc_now})


def reject_nul(value: str) -> str:
    """NUL characters end strings in C: PostgreSQL refuses to store them, and no text needs one."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def normalize_email(email: str) -> str:
    """Emails are compared, stored and made unique in one form: trimmed and lower-cased."""
    return email.strip().lower()


# A string without NUL characters, for inputs that are not models: form fields, query parameters.
NulFreeStr = Annotated[str, AfterValidator(reject_nul)]
# An email address as it is stored: validated, then normalised.
Email = Annotated[EmailStr, AfterValidator(normalize_email)]


class InputModel(SQLModel):
    """The base of every model a client sends: one rule for every input.

    A field the model does not have is refused with 422, not silently dropped: a typo in a
    field name must not look like a success. So are NUL characters in any text.
    """

    model_config = SQLModel.model_config | {"extra": "forbid"}

    @field_validator("*", mode="after")
    @classmethod
    def reject_nul_characters(cls, value: Any) -> Any:
        if isinstance(value, str):
            reject_nul(value)
        return value


class PartialUpdate(InputModel):
    """An input whose fields may each be left out: a field left out keeps its value.

    A null sent on purpose would empty a required column, so it is refused instead.
    """

    @field_validator("*", mode="before")
    @classmethod
    def reject_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null; leave the field out to keep its value")
        return value
