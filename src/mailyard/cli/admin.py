"""`mailyard admin set-password | totp enable | totp disable`: the dashboard admin's credentials."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from mailyard.cli.common import CommandError, with_runtime
from mailyard.errors import MailyardError
from mailyard.runtime import Runtime
from mailyard.web.admin_auth import ADMIN


def register(commands: Any) -> None:
    admin = commands.add_parser("admin", help="the web dashboard's admin sign-in")
    actions = admin.add_subparsers(dest="action", required=True, metavar="ACTION")
    password = actions.add_parser("set-password", help="set the admin password (asked twice, or read from stdin)")
    password.add_argument("--stdin", action="store_true", help="read the password from the first line of stdin")
    password.set_defaults(handler=run_set_password)
    totp = actions.add_parser("totp", help="one-time codes at sign-in")
    modes = totp.add_subparsers(dest="mode", required=True, metavar="MODE")
    modes.add_parser("enable", help="create a TOTP secret and print its otpauth:// URI").set_defaults(
        handler=run_totp_enable)
    modes.add_parser("disable", help="stop asking for codes").set_defaults(handler=run_totp_disable)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New admin password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise CommandError("the passwords differ")
    return first


def run_set_password(args: argparse.Namespace) -> int:
    password = _read_password(args.stdin)

    async def work(runtime: Runtime) -> None:
        try:
            await runtime.admin_auth.set_password(password)
        except MailyardError as exc:
            raise CommandError(exc.message, 2) from None

    with_runtime(work)
    print(f"The password of '{ADMIN}' is set; every signed-in browser was signed out.")
    return 0


def run_totp_enable(args: argparse.Namespace) -> int:
    async def work(runtime: Runtime) -> str:
        try:
            return (await runtime.admin_auth.enable_totp()).uri
        except MailyardError as exc:
            raise CommandError(exc.message.replace('"password" ', ""), 2) from None

    uri = with_runtime(work)
    print("Add this to your authenticator app (as a QR code or by hand); sign-in now asks for its code:")
    print(uri)
    return 0


def run_totp_disable(args: argparse.Namespace) -> int:
    with_runtime(lambda runtime: runtime.admin_auth.disable_totp())
    print("Sign-in no longer asks for a code.")
    return 0
