"""encrypted secrets: users.totp_secret is stored as a Fernet token made with KEFU_ENCRYPTION_KEY

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 23:00:00.000000

The column widens from 64 to 184 characters (the token of a 64-byte secret) and every stored secret is
encrypted with the first key of KEFU_ENCRYPTION_KEY; the downgrade decrypts them (with any listed key)
and narrows the column again. The keys are read here, not through kefu_core.crypto, so this revision keeps
doing what it did when the app's code moves on.

SQLite cannot change a column's type in place, and rebuilding `users` (batch mode) with foreign keys on
would cascade-delete its sessions and recovery codes and drop 0009's triggers: there the column is replaced
by a new one (ADD COLUMN, copy, DROP COLUMN, RENAME COLUMN: SQLite 3.35+), which rebuilds nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from kefu_core.settings import get_settings

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAIN_WIDTH = 64
TOKEN_WIDTH = 184  # kefu_core.crypto.ciphertext_length(64)

users = sa.table("users", sa.column("id", sa.Integer()), sa.column("totp_secret", sa.String()))


def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in get_settings().encryption_keys])


def _retype(width: int) -> None:
    """users.totp_secret becomes VARCHAR(width), its values kept."""
    if op.get_bind().dialect.name != "sqlite":
        with op.batch_alter_table("users", schema=None) as batch_op:
            batch_op.alter_column(
                "totp_secret",
                existing_type=sa.String(),
                type_=sa.String(length=width),
                existing_nullable=True,
            )
        return
    op.execute(f"ALTER TABLE users ADD COLUMN totp_secret_new VARCHAR({width})")
    op.execute("UPDATE users SET totp_secret_new = totp_secret")
    op.execute("ALTER TABLE users DROP COLUMN totp_secret")
    op.execute("ALTER TABLE users RENAME COLUMN totp_secret_new TO totp_secret")


def _rewrite(change: str) -> None:
    """Encrypt ("encrypt") or decrypt ("decrypt") every stored secret, row by row."""
    bind = op.get_bind()
    cipher = _cipher()
    rows = bind.execute(sa.select(users.c.id, users.c.totp_secret).where(users.c.totp_secret.is_not(None)))
    for row_id, value in rows.all():
        if change == "encrypt":
            new = cipher.encrypt(value.encode()).decode("ascii")
        else:
            try:
                new = cipher.decrypt(value.encode("ascii")).decode()
            except InvalidToken:
                raise RuntimeError(
                    f"users.totp_secret of user {row_id} does not decrypt with KEFU_ENCRYPTION_KEY: "
                    "list the key it was encrypted with and run the downgrade again"
                ) from None
        bind.execute(users.update().where(users.c.id == row_id).values(totp_secret=new))


def upgrade() -> None:
    _retype(TOKEN_WIDTH)
    _rewrite("encrypt")


def downgrade() -> None:
    _rewrite("decrypt")
    _retype(PLAIN_WIDTH)
