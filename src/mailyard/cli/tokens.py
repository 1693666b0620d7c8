"""`mailyard token create | list | revoke`."""

from __future__ import annotations

import argparse
from typing import Any

from mailyard.cli.common import CommandError, with_runtime
from mailyard.runtime import Runtime
from mailyard.security.scopes import Scope, parse_scopes
from mailyard.security.tokens import TokenInfo, TokenNotFound


def register(commands: Any) -> None:
    token = commands.add_parser("token", help="manage API tokens")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a token and print it (last line of stdout)")
    create.add_argument("--scope", action="append", choices=[s.value for s in Scope], dest="scopes",
                        help="repeatable; default read and write")
    create.add_argument("--tenant", help="bind the token to this user_id")
    create.add_argument("--role", action="append", dest="roles", help="repeatable role name")
    create.add_argument("--description")
    create.set_defaults(handler=run_create)
    listing = actions.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    listing.set_defaults(handler=run_list)
    revoke = actions.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id")
    revoke.set_defaults(handler=run_revoke)


def _describe(info: TokenInfo) -> str:
    parts = [info.id, ",".join(info.scopes), f"tenant={info.tenant or '-'}",
             f"roles={','.join(info.roles) or '-'}", f"created={info.created_at.isoformat()}"]
    if info.revoked_at:
        parts.append(f"revoked={info.revoked_at.isoformat()}")
    if info.description:
        parts.append(repr(info.description))
    return "  ".join(parts)


def run_create(args: argparse.Namespace) -> int:
    parse_scopes(args.scopes)  # argparse already limited the choices; this applies the default

    async def work(runtime: Runtime) -> tuple[TokenInfo, str]:
        return await runtime.tokens.create(
            args.scopes, tenant=args.tenant, roles=args.roles, description=args.description
        )

    info, token = with_runtime(work)
    print(f"created token {_describe(info)}")
    print(token)
    return 0


def run_list(args: argparse.Namespace) -> int:
    async def work(runtime: Runtime) -> list[TokenInfo]:
        return await runtime.tokens.list(include_revoked=args.all)

    for info in with_runtime(work):
        print(_describe(info))
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    async def work(runtime: Runtime) -> TokenInfo:
        try:
            return await runtime.tokens.revoke(args.id)
        except TokenNotFound:
            raise CommandError(f"no live token with id {args.id!r}") from None

    print(f"revoked token {with_runtime(work).id}")
    return 0
