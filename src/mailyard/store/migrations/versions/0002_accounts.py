"""Connected accounts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailyard.store.base import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(256), nullable=False),
        sa.Column("tenant", sa.String(255), nullable=True),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("search", sa.Text(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("imap", sa.JSON(), nullable=True),
        sa.Column("smtp", sa.JSON(), nullable=True),
        sa.Column("oauth2", sa.JSON(), nullable=True),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("subconnections", sa.JSON(), nullable=False),
        sa.Column("webhooks", sa.Text(), nullable=True),
        sa.Column("notify_from", UTCDateTime(), nullable=True),
        sa.Column("sync_time", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.JSON(), nullable=True),
        sa.Column("smtp_status", sa.JSON(), nullable=True),
        sa.Column("counters", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
    )
    op.create_index("ix_accounts_state_id", "accounts", ["state", "id"])
    op.create_index("ix_accounts_tenant_id", "accounts", ["tenant", "id"])
    # Covers the `query` filter: scanning (id, search) in id order never touches the wide rows.
    op.create_index("ix_accounts_id_search", "accounts", ["id", "search"])


def downgrade() -> None:
    op.drop_table("accounts")
