"""EmailEngine dialect: placeholder for the submit routes (issue 4)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
