"""`mailyard mailserver config`: render the Dovecot and Postfix configurations that serve hosted mail."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mailyard.cli.common import CommandError, load_settings
from mailyard.mailserver.ports import PORT_NAMES, MailPorts


def add_port_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = MailPorts()
    for name in PORT_NAMES:
        parser.add_argument(f"--{name}-port", type=int, metavar="N",
                            help=f"{name} port (default {getattr(defaults, name)}; 0 turns it off)")


def ports_from(args: argparse.Namespace) -> MailPorts:
    values: dict[str, int] = {}
    for name in PORT_NAMES:
        port = getattr(args, f"{name}_port")
        if port is not None:
            if not 0 <= port <= 65535:
                raise CommandError(f"--{name}-port must be between 0 and 65535", 2)
            values[name] = port
    return MailPorts(**values)


def register(commands: Any) -> None:
    parser = commands.add_parser("mailserver", help="mail server configuration")
    sub = parser.add_subparsers(dest="mailserver_command", required=True, metavar="SUBCOMMAND")
    config = sub.add_parser("config", help="render Dovecot and Postfix configurations reading this store")
    config.add_argument("--out", required=True, type=Path, metavar="DIR", help="directory to write into")
    add_port_arguments(config)
    config.set_defaults(handler=render)


def render(args: argparse.Namespace) -> int:
    from mailyard.mailserver.render import render_mail_servers

    settings = load_settings()
    try:
        layout = render_mail_servers(settings, args.out, ports_from(args))
    except (KeyError, ValueError, OSError) as exc:
        raise CommandError(f"cannot render the mail server configuration: {exc}", 2) from None
    conf = layout.postfix.config_dir
    print(f"wrote {layout.dovecot.config} (Dovecot) and {conf} (Postfix)\n"
          "\n"
          f"Dovecot:  dovecot -c {layout.dovecot.config}      (-F to stay in the foreground)\n"
          "\n"
          "Postfix, as an extra instance beside the system's own:\n"
          "  # once: the default instance must list the directory, or `postfix -c` refuses it silently\n"
          f"  postconf -e \"alternate_config_directories = $(postconf -h alternate_config_directories) {conf}\"\n"
          f"  postfix -c {conf} set-permissions   # its data_directory must belong to the postfix user\n"
          f"  postfix -c {conf} start\n"
          f"  (or in the foreground: MAIL_CONFIG={conf} /usr/lib/postfix/sbin/master -c {conf} -d)\n"
          "\n"
          "Mailyard provides the milter, policy and webhook-copy services: MAILYARD_MAIL_SERVICES=true mailyard serve")
    return 0
