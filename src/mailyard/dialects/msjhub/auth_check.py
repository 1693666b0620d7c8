"""`POST /v2/auth/check`: login decisions for front ends that delegate authentication to Mailyard."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mailyard.dialects.msjhub.common import JsonBody, Reader, runtime

router = APIRouter(prefix="/v2", tags=["Authentication"])


@router.post("/auth/check", summary="May this address log in to this service from this client?")
async def auth_check(body: JsonBody, request: Request, principal: Reader) -> dict[str, Any]:
    decision = await runtime(request).auth_checker.check(principal, body)
    return decision.to_json()
