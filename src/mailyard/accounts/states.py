"""The live states of a connected account."""

from __future__ import annotations

from enum import StrEnum


class AccountState(StrEnum):
    INIT = "init"
    CONNECTING = "connecting"
    SYNCING = "syncing"
    CONNECTED = "connected"
    AUTHENTICATION_ERROR = "authenticationError"
    CONNECT_ERROR = "connectError"
    UNSET = "unset"
    DISCONNECTED = "disconnected"


ERROR_STATES = frozenset({AccountState.AUTHENTICATION_ERROR, AccountState.CONNECT_ERROR})
