"""EmailEngine dialect: placeholder for the changes routes (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
