"""`POST /v2/auth/check`: login decisions for front ends that delegate authentication to Mailyard."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mailyard.dialects.msjhub.common import JsonBody, Reader, Writer, runtime
from mailyard.dialects.msjhub.schemas import AuthCheck, PasswordChange, RecoveryComplete, RecoveryStart, body_doc
from mailyard.timefmt import iso

router = APIRouter(prefix="/v2", tags=["Authentication"])


@router.post("/auth/check", summary="May this address log in to this service from this client?",
             openapi_extra=body_doc(AuthCheck))
async def auth_check(body: JsonBody, request: Request, principal: Reader) -> dict[str, Any]:
    decision = await runtime(request).auth_checker.check(principal, body)
    return decision.to_json()


@router.post("/auth/password", summary="A mailbox user changes their own password (current password required)",
             openapi_extra=body_doc(PasswordChange))
async def change_password(body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    changed = await runtime(request).password_changer.change(principal, body)
    return {"ok": True, "address": changed.address, "password_expires_at": iso(changed.password_expires_at)}


@router.post("/auth/recovery", summary="Mail a recovery code to the mailbox's secondary address (if allowed)",
             openapi_extra=body_doc(RecoveryStart))
async def start_recovery(body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    await runtime(request).password_recovery.start(principal, body)
    # The same answer whether or not a code was sent: addresses cannot be probed through it.
    return {"ok": True, "note": "If recovery is possible for this address, a code was sent to its secondary address."}


@router.post("/auth/recovery/complete", summary="Set a new password with a recovery code",
             openapi_extra=body_doc(RecoveryComplete))
async def complete_recovery(body: JsonBody, request: Request, principal: Writer) -> dict[str, Any]:
    address = await runtime(request).password_recovery.complete(principal, body)
    return {"ok": True, "address": address}
