"""Account lifecycle: token expiry and scope, atomic login and concern throttles.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Tokens made before this version keep their full scope and never expire, as they were issued; revoke them
    # with `clearsight users token revoke` to replace them with expiring ones.
    with op.batch_alter_table("api_tokens") as table:
        table.add_column(sa.Column("expires_at", TZ, nullable=True))
        table.add_column(sa.Column("scope", sa.String(10), nullable=False, server_default="full"))
    op.create_table(
        "throttles",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("window_start", TZ, nullable=False),
        sa.Column("next_allowed_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("throttles")
    with op.batch_alter_table("api_tokens") as table:
        table.drop_column("scope")
        table.drop_column("expires_at")
