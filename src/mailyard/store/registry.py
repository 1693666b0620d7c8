"""Imports every module that defines tables, so the metadata (migrations, secret rotation) sees them all."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "mailyard.store.models",
    "mailyard.accounts.records",
    "mailyard.engine.folder_records",
    "mailyard.events.records",
    "mailyard.hosting.records",
    "mailyard.web.records",
)


def load_models() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
