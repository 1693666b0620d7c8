"""Event names, as EmailEngine clients know them."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    MESSAGE_NEW = "messageNew"
    MESSAGE_DELETED = "messageDeleted"
    MESSAGE_UPDATED = "messageUpdated"
    MESSAGE_SENT = "messageSent"
    MAILBOX_NEW = "mailboxNew"
    MAILBOX_DELETED = "mailboxDeleted"
    MAILBOX_RESET = "mailboxReset"
    AUTHENTICATION_ERROR = "authenticationError"
    AUTHENTICATION_SUCCESS = "authenticationSuccess"
    CONNECT_ERROR = "connectError"
    ACCOUNT_ADDED = "accountAdded"
    ACCOUNT_INITIALIZED = "accountInitialized"
    ACCOUNT_DELETED = "accountDeleted"
    # Hosted side: a message a webhook_then_store domain received (sent to the domain's own webhook).
    MESSAGE_RECEIVED = "messageReceived"
