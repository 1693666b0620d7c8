"""What every MSJ Hub route shares: the token dependencies, the JSON body, paging parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Query, Request

from mailyard.api.auth import require
from mailyard.runtime import Runtime
from mailyard.security.scopes import Scope
from mailyard.security.tokens import Principal

Reader = Annotated[Principal, Depends(require(Scope.READ))]
Writer = Annotated[Principal, Depends(require(Scope.WRITE))]
JsonBody = Annotated[dict[str, Any], Body(description="JSON object, as the document shows")]
UserId = Annotated[str | None, Query(description="The user (tenant) the request acts for")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip")]


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime
