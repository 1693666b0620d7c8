"""Webhook copies: the token of each domain's copy address (see mailserver/hook_addresses.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled in when a route is set, and for existing webhook_then_store domains when the mail services start.
    with op.batch_alter_table("hosted_domains") as batch:
        batch.add_column(sa.Column("hook_token", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hosted_domains") as batch:
        batch.drop_column("hook_token")
