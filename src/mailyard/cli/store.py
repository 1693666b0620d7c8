"""`mailyard migrate` and `mailyard config`."""

from __future__ import annotations

import argparse
from typing import Any

from mailyard.cli.common import load_settings, with_runtime
from mailyard.runtime import Runtime
from mailyard.store.migrate import current_revision


def register(commands: Any) -> None:
    migrate = commands.add_parser("migrate", help="apply the store's migrations")
    migrate.set_defaults(handler=run_migrate)
    config = commands.add_parser("config", help="print the effective settings (secrets masked)")
    config.set_defaults(handler=run_config)


def run_migrate(_: argparse.Namespace) -> int:
    async def work(runtime: Runtime) -> str | None:
        return await current_revision(runtime.db)

    revision = with_runtime(work)
    print(f"store is at revision {revision}")
    return 0


def run_config(_: argparse.Namespace) -> int:
    for key, value in load_settings().masked().items():
        print(f"{key} = {value}")
    return 0
