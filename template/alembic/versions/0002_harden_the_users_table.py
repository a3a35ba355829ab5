"""Harden the users table: emails in one form, ids never reused, a version for tokens.

- Emails are stored trimmed and lower-cased, so that they are unique whatever their case.
  Where two accounts differ only in case, one keeps the address (the one already in that
  form, else the older) and the others keep theirs as they were: logins are case-insensitive
  now, so those cannot log in until a superuser gives them another email. The migration logs
  their ids. Downgrading leaves emails as they are.
- On SQLite the table is rebuilt with AUTOINCREMENT, so that the id of a deleted user is never
  given to a new one (PostgreSQL's sequences never reuse ids).
- `token_version` moves when a user's earlier tokens must stop working.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    # On SQLite the table is copied into a new one, the only way to add AUTOINCREMENT.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "users",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
        )
    normalize_emails()


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("token_version")


def normalize_emails() -> None:
    users = sa.table("users", sa.column("id", sa.Integer()), sa.column("email", sa.String()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(users.c.id, users.c.email).order_by(users.c.id)).all()
    in_use = {email for _, email in rows}
    kept_as_they_were = []
    for user_id, email in rows:
        normalized = email.strip().lower()
        if normalized == email:
            continue
        if normalized in in_use:
            kept_as_they_were.append(user_id)
            continue
        connection.execute(users.update().where(users.c.id == user_id).values(email=normalized))
        in_use.discard(email)
        in_use.add(normalized)
    if kept_as_they_were:
        logger.warning(
            "Users %s keep their email as it was: another account has it in lower case. "
            "They cannot log in until a superuser changes their email.",
            ", ".join(map(str, kept_as_they_were)),
        )
