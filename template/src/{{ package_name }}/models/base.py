"""Building blocks shared by the table models."""

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def utc_now() -> datetime:
    return datetime.now(UTC)


class Timestamped(SQLModel):
    """`created_at` and `updated_at` columns; `updated_at` moves on every UPDATE of the row.

    SQLModel stores `datetime` fields as timezone-aware UTC on every database, SQLite
    included, and refuses naive values, so these always come back with their timezone.
    """

    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now, sa_column_kwargs={"onupdate": utc_now})


def reject_null(value: object) -> object:
    """A field validator for partial updates, where None means "left out".

    A null sent on purpose would empty a required column, so it is refused instead.
    """
    if value is None:
        raise ValueError("must not be null; leave the field out to keep its value")
    return value
