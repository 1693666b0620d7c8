"""`mailyard mailserver config`: render the Dovecot configuration that serves hosted mailboxes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mailyard.cli.common import CommandError, load_settings
from mailyard.mailserver.dovecot_config import DovecotPorts

_PORTS = (("imap", 143), ("imaps", 993), ("pop3", 110), ("pop3s", 995), ("submission", 587), ("lmtp", 24),
          ("sieve", 4190))


def add_port_arguments(parser: argparse.ArgumentParser) -> None:
    for name, default in _PORTS:
        parser.add_argument(f"--{name}-port", type=int, metavar="N",
                            help=f"{name} port of the mail server (default {default}; 0 turns it off)")


def ports_from(args: argparse.Namespace) -> DovecotPorts:
    values: dict[str, int] = {}
    for name, _default in _PORTS:
        port = getattr(args, f"{name}_port")
        if port is not None:
            if not 0 <= port <= 65535:
                raise CommandError(f"--{name}-port must be between 0 and 65535", 2)
            values[name] = port
    return DovecotPorts(**values)


def register(commands: Any) -> None:
    parser = commands.add_parser("mailserver", help="mail server configuration")
    sub = parser.add_subparsers(dest="mailserver_command", required=True, metavar="SUBCOMMAND")
    config = sub.add_parser("config", help="render dovecot.conf (and its SQL files) reading this store")
    config.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory to write into")
    add_port_arguments(config)
    config.set_defaults(handler=render)


def render(args: argparse.Namespace) -> int:
    from mailyard.mailserver.managed import render_for

    settings = load_settings()
    try:
        layout = render_for(settings, args.out, ports_from(args))
    except (KeyError, ValueError, OSError) as exc:
        raise CommandError(f"cannot render the mail server configuration: {exc}", 2) from None
    print(f"wrote {layout.config}\nstart it with: dovecot -F -c {layout.config}")
    return 0
