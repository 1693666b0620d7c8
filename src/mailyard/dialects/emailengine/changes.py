"""EmailEngine dialect: `GET /v1/changes`, a server-sent event stream of account state changes.

Each change published to `runtime.changes` is one `data: {json}` message; a `: keep-alive` comment goes out
every `KEEPALIVE_SECONDS` so proxies keep the connection open. A tenant-bound token only sees changes of its
tenant's accounts: the change's `tenant` when the publisher set one, else the account as stored (a change of
an account that no longer exists is therefore not shown to tenant-bound tokens).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from mailyard.api.auth import require
from mailyard.dialects.emailengine.render import iso
from mailyard.errors import MailyardError
from mailyard.events.changes import Subscription
from mailyard.security.scopes import Scope
from mailyard.security.tokens import Principal

if TYPE_CHECKING:
    from mailyard.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["Changes"])
Reader = Annotated[Principal, Depends(require(Scope.READ))]
KEEPALIVE_SECONDS = 15.0


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


async def _visible(runtime: Runtime, principal: Principal, change: dict[str, Any]) -> bool:
    if not principal.tenant:
        return True
    if "tenant" in change:
        return change["tenant"] == principal.tenant
    account = change.get("account")
    if not isinstance(account, str):
        return False
    try:
        await runtime.accounts.get(account, principal)  # raises for another tenant's or a missing account
    except MailyardError:
        return False
    return True


async def _stream(runtime: Runtime, principal: Principal, subscription: Subscription) -> AsyncIterator[str]:
    with subscription:
        while True:
            change = await subscription.get(max_wait=KEEPALIVE_SECONDS)
            if change is None:
                if subscription.closed:
                    return
                yield ": keep-alive\n\n"
                continue
            if await _visible(runtime, principal, change):
                shown = {k: v for k, v in change.items() if k != "tenant"}
                yield f"data: {json.dumps(shown, default=_json_default, separators=(',', ':'))}\n\n"


@router.get("/changes", summary="Stream account state changes (text/event-stream)", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "One `data: {json}` message per change"}})
async def stream_changes(request: Request, principal: Reader) -> StreamingResponse:
    runtime: Runtime = request.app.state.runtime
    subscription = runtime.changes.subscribe()  # before answering: nothing published after this is missed
    return StreamingResponse(
        _stream(runtime, principal, subscription), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(subscription.close),
    )
