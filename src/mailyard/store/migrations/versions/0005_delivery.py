"""Hosted delivery: aliases and outbound message counts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailyard.store.base import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hosted_mailboxes") as batch:
        batch.add_column(sa.Column("bounce_reply", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sieve_id", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("sieve_script", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("hosted_domains") as batch:
        batch.add_column(sa.Column("forward_mode", sa.String(32), nullable=False, server_default="store"))
        batch.add_column(sa.Column("webhook_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("webhook_secret", sa.Text(), nullable=True))
    op.create_table(
        "hosted_aliases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("destinations", sa.JSON(), nullable=False),
        sa.Column("destinations_text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosted_aliases")),
        sa.UniqueConstraint("address", name=op.f("uq_hosted_aliases_address")),
        sa.ForeignKeyConstraint(["domain_id"], ["hosted_domains.id"],
                                name=op.f("fk_hosted_aliases_domain_id_hosted_domains")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_hosted_aliases_domain_id_name", "hosted_aliases", ["domain_id", "name"])
    op.create_table(
        "hosted_outbound_counts",
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", "day", name=op.f("pk_hosted_outbound_counts")),
    )


def downgrade() -> None:
    op.drop_table("hosted_outbound_counts")
    op.drop_table("hosted_aliases")
    with op.batch_alter_table("hosted_domains") as batch:
        for column in ("webhook_secret", "webhook_url", "forward_mode"):
            batch.drop_column(column)
    with op.batch_alter_table("hosted_mailboxes") as batch:
        for column in ("sieve_script", "sieve_id", "bounce_reply"):
            batch.drop_column(column)
