"""Hosted domains, mailboxes, password history and quota usage.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mailyard.store.base import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hosted_domains",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("organization_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verification_token", sa.String(64), nullable=False),
        sa.Column("dkim_selector", sa.String(63), nullable=False),
        sa.Column("dkim_private_key", sa.Text(), nullable=False),
        sa.Column("dkim_public_key", sa.Text(), nullable=False),
        sa.Column("dns_checks", sa.JSON(), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=True),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosted_domains")),
        sa.UniqueConstraint("name", name=op.f("uq_hosted_domains_name")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_hosted_domains_user_id_id", "hosted_domains", ["user_id", "id"])
    op.create_index("ix_hosted_domains_status", "hosted_domains", ["status"])
    op.create_table(
        "hosted_mailboxes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("domain_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("local_part", sa.String(64), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("password_set_at", UTCDateTime(), nullable=False),
        sa.Column("password_expires_at", UTCDateTime(), nullable=True),
        sa.Column("sessions_closed_at", UTCDateTime(), nullable=True),
        sa.Column("disabled_services", sa.Text(), nullable=False),
        sa.Column("allow_nets", sa.Text(), nullable=True),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=True),
        sa.Column("otp_secret", sa.Text(), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosted_mailboxes")),
        sa.UniqueConstraint("address", name=op.f("uq_hosted_mailboxes_address")),
        sa.ForeignKeyConstraint(["domain_id"], ["hosted_domains.id"],
                                name=op.f("fk_hosted_mailboxes_domain_id_hosted_domains")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_hosted_mailboxes_user_id_id", "hosted_mailboxes", ["user_id", "id"])
    op.create_index("ix_hosted_mailboxes_domain_id_id", "hosted_mailboxes", ["domain_id", "id"])
    op.create_table(
        "hosted_password_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosted_password_history")),
        sa.ForeignKeyConstraint(["mailbox_id"], ["hosted_mailboxes.id"], ondelete="CASCADE",
                                name=op.f("fk_hosted_password_history_mailbox_id_hosted_mailboxes")),
    )
    op.create_index("ix_hosted_password_history_mailbox_id", "hosted_password_history", ["mailbox_id"])
    op.create_table(
        "hosted_recovery_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosted_recovery_codes")),
        sa.ForeignKeyConstraint(["mailbox_id"], ["hosted_mailboxes.id"], ondelete="CASCADE",
                                name=op.f("fk_hosted_recovery_codes_mailbox_id_hosted_mailboxes")),
    )
    op.create_index("ix_hosted_recovery_codes_mailbox_id", "hosted_recovery_codes", ["mailbox_id"])
    op.create_table(
        "hosted_quota_usage",
        sa.Column("username", sa.String(320), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("messages", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_hosted_quota_usage")),
    )


def downgrade() -> None:
    op.drop_table("hosted_quota_usage")
    op.drop_table("hosted_recovery_codes")
    op.drop_table("hosted_password_history")
    op.drop_table("hosted_mailboxes")
    op.drop_table("hosted_domains")
