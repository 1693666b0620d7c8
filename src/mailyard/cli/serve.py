"""`mailyard serve`: the HTTP API, the engine, webhook delivery and (with --mailserver) Dovecot in one process."""

from __future__ import annotations

import argparse
import asyncio
import gc
from pathlib import Path
from typing import Any

from mailyard.cli.common import load_settings, open_runtime
from mailyard.cli.mailserver import add_port_arguments, ports_from
from mailyard.mailserver.managed import managed_mail_server
from mailyard.observability.logging import configure


def register(commands: Any) -> None:
    parser = commands.add_parser("serve", help="run the HTTP API")
    parser.add_argument("--host", help="listen address (default MAILYARD_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (default MAILYARD_PORT or 3000)")
    parser.add_argument("--mailserver", action="store_true",
                        help="also run Dovecot and Postfix for hosted mail as managed child processes")
    parser.add_argument("--mailserver-dir", type=Path, metavar="DIR",
                        help="where its configuration and runtime files go (default DATA_DIR/mailserver)")
    add_port_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the web stack is only needed by `serve`, and every other command starts faster without it.
    import uvicorn

    from mailyard.app import create_app

    overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
    settings = load_settings().model_copy(update=overrides)
    configure(settings.log_level)

    ports = ports_from(args)

    async def serve() -> None:
        runtime = await open_runtime(settings)
        if args.mailserver:
            runtime.mailserver = managed_mail_server(settings, args.mailserver_dir or settings.data_dir / "mailserver",
                                                 ports)
        app = create_app(runtime, owns_runtime=True)
        # What start-up built (modules, routes, schemas, the ORM) lives as long as the process: frozen, it is
        # left out of every full collection, which otherwise walked it all and stalled a 1000-account page
        # by ~100 ms. A larger first generation then spares the many short-lived objects of each response
        # from early promotion (bench/accounts_api.py: pageSize=1000 p99 84 -> 10 ms, PUT +10 %).
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 10, 10)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level=settings.log_level,
            proxy_headers=False, server_header=False, log_config=None,
            timeout_graceful_shutdown=5,  # open /v1/changes streams must not hold a shutdown forever
        )
        await uvicorn.Server(config).serve()

    try:
        import uvloop

        uvloop.run(serve())
    except ImportError:
        asyncio.run(serve())
    return 0
