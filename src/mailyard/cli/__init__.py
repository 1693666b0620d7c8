"""The `mailyard` command: serve, migrate, config, token, secret, mailserver, admin."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mailyard import __version__
from mailyard.cli import admin, mailserver, secret, serve, store, tokens
from mailyard.cli.common import CommandError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailyard", description="Mailyard email accounts platform")
    parser.add_argument("--version", action="version", version=f"mailyard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (serve, store, tokens, secret, mailserver, admin):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"mailyard: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
