"""Concerns are private unless a moderator publishes one: concerns.published.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Concerns accepted before this version were shown to everyone; they stay private until someone publishes them.
    with op.batch_alter_table("concerns") as table:
        table.add_column(sa.Column("published", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("concerns") as table:
        table.drop_column("published")
