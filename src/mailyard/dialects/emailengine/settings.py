"""EmailEngine dialect: placeholder for the settings routes (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
