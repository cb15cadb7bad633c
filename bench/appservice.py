"""Benchmark: appservice mode against sync mode, the same commands, the same run.

botkit runs as in :mod:`bench.dispatch` (same plugins, its database, its
bookkeeping), its sends answered from memory (:class:`~bench.dispatch.NullAPI`).
In sync mode its sync loop takes prepared batches; in appservice mode this
process plays the homeserver and PUTs transactions of the same size to the
bot's listener on loopback, one after the other as Synapse does, each answered
only once its events are handled and recorded. The pushing client runs in the
bot's process, so its CPU is counted too (a few µs per event at 100 per
transaction).

    python -m bench.appservice [-n 5000] [-b 100] [--repeats 3]

The 10,000-room run (memory, pruning, start-up) is :mod:`bench.scale`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.bots import Hello, launch
from bench.dispatch import ROOM, SENDER, NullAPI
from bench.dispatch import _botkit as sync_mode
from botkit.bot import Bot
from botkit.config import load_config
from botkit.testing.fakehs import FakeHomeserver
from botkit.testing.synapse import free_ports

__all__ = ["Pushed", "measure", "pushed_bot", "rss_mb", "transactions"]

_HS_TOKEN = "bench-hs-token"


def transactions(events: int, per_txn: int, rooms: int = 1) -> Iterator[list[dict[str, Any]]]:
    """The commands of :func:`bench.dispatch.batches` as transactions' event lists, made as
    they are sent (a million prepared events would dwarf the bot's memory); with more than
    one room, spread over ``rooms`` rooms round robin."""
    now = int(time.time() * 1000)
    for start in range(0, events, per_txn):
        yield [
            {
                "type": "m.room.message",
                "room_id": ROOM if rooms == 1 else f"!room{i % rooms}:null.invalid",
                "sender": SENDER,
                "event_id": f"$ping{i}",
                "origin_server_ts": now,
                "content": {"msgtype": "m.text", "body": f"!pong {i}"},
            }
            for i in range(start, min(start + per_txn, events))
        ]


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Pushed:
    """A bot in appservice mode in this process, its sends answered from memory."""

    bot: Bot
    api: NullAPI
    #: The bot's config file and the environment it ran with: to start it again.
    config: Path
    environ: dict[str, str]
    http: aiohttp.ClientSession
    url: str

    async def push(self, txn_id: int, events: list[dict[str, Any]]) -> None:
        """PUT one transaction, as the homeserver does, and wait for its answer."""
        headers = {"Authorization": f"Bearer {_HS_TOKEN}"}
        async with self.http.put(self.url + str(txn_id), json={"events": events}, headers=headers):
            pass


@asynccontextmanager
async def pushed_bot(
    hs: FakeHomeserver,
    workdir: Path,
    events: int,
    per_txn: int,
    environ: Mapping[str, str] | None = None,
) -> AsyncIterator[Pushed]:
    """botkit in appservice mode against ``hs``, expecting ``events`` commands; stopped on exit.

    ``environ`` sets more of the config (``BOTKIT_SYNC__HANDLED_RETENTION``...).
    """
    port = free_ports()[0]
    token = hs.create_token("bot")
    hello = Hello(hs.url, f"@bot:{hs.server_name}", token, ROOM)
    config = Path(launch("botkit", hello, workdir, per_txn).argv[-1])
    environ = {
        "BOTKIT_APPSERVICE__ENABLED": "true",
        "BOTKIT_APPSERVICE__PORT": str(port),
        "BOTKIT_APPSERVICE__AS_TOKEN": token,
        "BOTKIT_APPSERVICE__HS_TOKEN": _HS_TOKEN,
        **(environ or {}),
    }
    bot = Bot(load_config(config, environ=environ, upgrade=False))
    await bot.start()
    assert bot.api is not None
    real = bot.api.api
    api = NullAPI([])
    api.expected = events
    api.token = real.token
    bot.api.api = api
    url = f"http://127.0.0.1:{port}/_matrix/app/v1/transactions/"
    try:
        async with aiohttp.ClientSession() as http:
            yield Pushed(bot, api, config, environ, http, url)
    finally:
        bot.api.api = real
        await api.session.close()
        await bot.stop()


async def appservice_mode(events: int, per_txn: int) -> tuple[float, float]:
    """(CPU µs per event, events/s) until every command pushed is answered."""
    with tempfile.TemporaryDirectory(prefix="botkit-as-bench-") as tmp:
        async with FakeHomeserver() as hs, pushed_bot(hs, Path(tmp), events, per_txn) as p:
            cpu, wall = time.process_time(), time.monotonic()
            for n, txn in enumerate(transactions(events, per_txn)):
                await p.push(n, txn)
            async with asyncio.timeout(300):
                await p.api.answered.wait()
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    return cpu / events * 1e6, events / wall


async def measure(
    events: int = 5000, per_txn: int = 100, repeats: int = 3
) -> list[tuple[str, str]]:
    """Medians over ``repeats`` interleaved runs of each mode; (what, figure) pairs."""
    sync_cpu: list[float] = []
    as_cpu: list[float] = []
    as_rate: list[float] = []
    for _ in range(repeats):
        sync_cpu.append(await sync_mode(events, per_txn, "pong"))
        cpu, rate = await appservice_mode(events, per_txn)
        as_cpu.append(cpu)
        as_rate.append(rate)
    mine, theirs = statistics.median(as_cpu), statistics.median(sync_cpu)
    label = f"{per_txn} events per batch, !pong"
    return [
        (f"{label}: sync mode CPU per event", f"{theirs:.0f} µs"),
        (f"{label}: appservice CPU per event", f"{mine:.0f} µs ({mine / theirs:.2f} × sync)"),
        (f"{label}: appservice events/s", f"{statistics.median(as_rate):.0f}"),
    ]


def main() -> None:
    """Command line: print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--events", type=int, default=5000)
    parser.add_argument("-b", "--per-txn", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for what, figure in asyncio.run(measure(args.events, args.per_txn, args.repeats)):
        print(f"{what}: {figure}")


if __name__ == "__main__":
    main()
