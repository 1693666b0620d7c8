"""`mailyard secret rotate --new-secret …`: re-encrypt every stored secret under a new key."""

from __future__ import annotations

import argparse
import os
from typing import Any

from mailyard.cli.common import CommandError, with_runtime
from mailyard.runtime import Runtime
from mailyard.security.secret_source import replace_secret_file
from mailyard.security.secretbox import SecretBox
from mailyard.security.store_secret import rotate


def register(commands: Any) -> None:
    secret = commands.add_parser("secret", help="manage the secret that encrypts stored credentials")
    actions = secret.add_subparsers(dest="action", required=True, metavar="ACTION")
    rotate_parser = actions.add_parser("rotate", help="re-encrypt every stored secret with a new secret")
    rotate_parser.add_argument("--new-secret", required=True, help="the new secret (at least 16 characters)")
    rotate_parser.set_defaults(handler=run_rotate)


def run_rotate(args: argparse.Namespace) -> int:
    if len(args.new_secret) < 16:
        raise CommandError("--new-secret must be at least 16 characters", 2)

    async def work(runtime: Runtime) -> tuple[int, str]:
        source = runtime.secret_source
        new_box = SecretBox(args.new_secret)
        pending = replace_secret_file(source.path, args.new_secret) if source.origin == "file" else None
        try:
            count = await rotate(runtime.db, runtime.box, new_box)
        except BaseException:
            if pending is not None:
                pending.unlink(missing_ok=True)
            raise
        if pending is not None and source.path is not None:
            os.replace(pending, source.path)
            return count, f"the new secret is in {source.path}"
        return count, "set MAILYARD_SECRET to the new secret before the next start"

    count, where = with_runtime(work)
    print(f"re-encrypted {count} stored value(s); {where}")
    return 0
