"""Benchmark of the account API on the embedded SQLite store (or MAILYARD_DATABASE_URL).

Creates 10,000 disabled accounts through the API, then measures at concurrency 16 with wrk:
GET /v1/account/{id}, GET /v1/accounts?state=…, GET /v1/accounts?query=…, PUT /v1/account/{id}.
Then grows the store to 100,000 accounts and times single list pages.

    .venv/bin/python -m bench.accounts_api [--accounts 10000] [--grow-to 100000] [--seconds 10]

Targets on the 2-core machine with SQLite: ≥ 1,500 GET/s with p99 < 20 ms; list pages < 50 ms at 100k.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.harness import Server, mailyard_server, percentile, wrk


def account_body(i: int) -> dict[str, object]:
    domain = ("gmail.com", "outlook.com", "example.com", "company.test")[i % 4]
    return {
        "account": f"acct{i:06d}", "name": f"User {i}", "email": f"user{i}@{domain}", "disabled": True,
        "imap": {"host": "imap.example.com", "port": 993, "secure": True,
                 "auth": {"user": f"user{i}@{domain}", "pass": f"password-{i}"}},
        "smtp": {"host": "smtp.example.com", "port": 587, "secure": False,
                 "auth": {"user": f"user{i}@{domain}", "pass": f"password-{i}"}},
    }


async def create_accounts(server: Server, start: int, stop: int, concurrency: int = 16) -> float:
    """Create accounts [start, stop) through the API; returns accounts per second."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(start, stop):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            response = await client.post("/v1/account", json=account_body(i))
            response.raise_for_status()

    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers, limits=limits, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return (stop - start) / (time.perf_counter() - started)


def lua(server: Server, body: str, *, method: str = "GET", payload: str | None = None) -> str:
    header = f'wrk.method = "{method}"\nwrk.headers["Authorization"] = "Bearer {server.token}"\n'
    if payload is not None:
        header += f'wrk.headers["Content-Type"] = "application/json"\nwrk.body = \'{payload}\'\n'
    return header + "math.randomseed(42)\nrequest = function()\n" + body + "\nend\n"


def throughput(server: Server, accounts: int, seconds: int) -> None:
    print(f"\n-- concurrency 16, {seconds} s each, {accounts} accounts --")
    random_account = f'string.format("/v1/account/acct%06d", math.random(0, {accounts - 1}))'
    single = lua(server, f"return wrk.format(nil, {random_account})")
    print(wrk(server.url, single, seconds=seconds).line("GET /v1/account/{id}"))
    pages = max(1, accounts // 20)
    by_state = lua(server, 'return wrk.format(nil, "/v1/accounts?state=disconnected&page=" .. '
                           f"math.random(0, {pages - 1}))")
    print(wrk(server.url, by_state, seconds=seconds).line("GET /v1/accounts?state=disconnected&page=N"))
    by_query = lua(server, 'return wrk.format(nil, "/v1/accounts?query=@gmail.com&page=" .. math.random(0, 20))')
    print(wrk(server.url, by_query, seconds=seconds).line("GET /v1/accounts?query=@gmail.com&page=N"))
    update = lua(server, f"return wrk.format(nil, {random_account})", method="PUT", payload='{"name": "Renamed"}')
    print(wrk(server.url, update, seconds=seconds).line("PUT /v1/account/{id} {name}"))


def list_latency(server: Server, accounts: int) -> None:
    print(f"\n-- single list requests at {accounts} accounts (sequential, 200 each) --")
    def page(i: int) -> int:
        return (i * 7919) % (accounts // 20)

    cases = {
        "GET /v1/accounts (first page)": lambda i: "/v1/accounts",
        "GET /v1/accounts?page=N (random)": lambda i: f"/v1/accounts?page={page(i)}",
        "GET /v1/accounts?state=disconnected&page=N": lambda i: f"/v1/accounts?state=disconnected&page={page(i)}",
        "GET /v1/accounts?state=connectError (empty)": lambda i: "/v1/accounts?state=connectError",
        "GET /v1/accounts?query=@gmail.com": lambda i: "/v1/accounts?query=@gmail.com",
        "GET /v1/accounts?query=user12345": lambda i: "/v1/accounts?query=user12345",
        "GET /v1/accounts?pageSize=1000": lambda i: "/v1/accounts?pageSize=1000",
    }
    with httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as client:
        for label, path in cases.items():
            timings = []
            for i in range(200):
                started = time.perf_counter()
                client.get(path(i)).raise_for_status()
                timings.append((time.perf_counter() - started) * 1000)
            print(f"{label:<48} p50 {percentile(timings, 50):6.2f} ms   p99 {percentile(timings, 99):6.2f} ms   "
                  f"max {max(timings):6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--grow-to", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    with mailyard_server() as server:
        rate = asyncio.run(create_accounts(server, 0, args.accounts))
        print(f"created {args.accounts} accounts through POST /v1/account at {rate:.0f}/s (concurrency 16)")
        throughput(server, args.accounts, args.seconds)
        list_latency(server, args.accounts)
        if args.grow_to > args.accounts:
            rate = asyncio.run(create_accounts(server, args.accounts, args.grow_to, concurrency=32))
            print(f"\ngrew to {args.grow_to} accounts at {rate:.0f}/s")
            list_latency(server, args.grow_to)


if __name__ == "__main__":
    main()
