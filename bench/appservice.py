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
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
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

__all__ = ["measure"]

_HS_TOKEN = "bench-hs-token"


def _transactions(events: int, per_txn: int, rooms: int = 1) -> Iterator[list[dict[str, Any]]]:
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


def _rss_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def appservice_mode(
    events: int, per_txn: int, rooms: int = 1, samples: list[tuple[int, float]] | None = None
) -> tuple[float, float]:
    """(CPU µs per event, events/s) until every command pushed is answered.

    With ``samples``, the RSS is appended (events pushed, MB) twenty times over the run.
    """
    transactions = _transactions(events, per_txn, rooms)
    every = max(1, events // per_txn // 20)
    port = free_ports()[0]
    with tempfile.TemporaryDirectory(prefix="botkit-as-bench-") as tmp:
        async with FakeHomeserver() as hs:
            token = hs.create_token("bot")
            hello = Hello(hs.url, f"@bot:{hs.server_name}", token, ROOM)
            config = Path(launch("botkit", hello, Path(tmp), per_txn).argv[-1])
            environ = {
                "BOTKIT_APPSERVICE__ENABLED": "true",
                "BOTKIT_APPSERVICE__PORT": str(port),
                "BOTKIT_APPSERVICE__AS_TOKEN": token,
                "BOTKIT_APPSERVICE__HS_TOKEN": _HS_TOKEN,
            }
            bot = Bot(load_config(config, environ=environ, upgrade=False))
            await bot.start()
            assert bot.api is not None
            real = bot.api.api
            api = NullAPI([])
            api.expected = events
            api.token = real.token
            bot.api.api = api
            headers = {"Authorization": f"Bearer {_HS_TOKEN}"}
            url = f"http://127.0.0.1:{port}/_matrix/app/v1/transactions/"
            try:
                async with aiohttp.ClientSession() as http:
                    cpu, wall = time.process_time(), time.monotonic()
                    for n, txn in enumerate(transactions):
                        async with http.put(url + str(n), json={"events": txn}, headers=headers):
                            pass
                        if samples is not None and n % every == every - 1:
                            samples.append(((n + 1) * per_txn, _rss_mb()))
                    async with asyncio.timeout(300):
                        await api.answered.wait()
                    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
            finally:
                bot.api.api = real
                await api.session.close()
                await bot.stop()
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


async def memory_curve(events: int, rooms: int, per_txn: int = 100) -> list[tuple[str, str]]:
    """RSS over a run of ``events`` commands spread over ``rooms`` rooms (appservice mode)."""
    samples: list[tuple[int, float]] = []
    _, rate = await appservice_mode(events, per_txn, rooms, samples)
    curve = ", ".join(f"{n // 1000}k: {mb:.0f}" for n, mb in samples)
    return [
        (f"{events} events in {rooms} rooms: events/s", f"{rate:.0f}"),
        (f"{events} events in {rooms} rooms: RSS MB by events pushed", curve),
    ]


def main() -> None:
    """Command line: print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--events", type=int, default=5000)
    parser.add_argument("-b", "--per-txn", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--rooms", type=int, default=0, help="instead: the RSS curve over this many rooms"
    )
    args = parser.parse_args()
    if args.rooms:
        for what, figure in asyncio.run(memory_curve(args.events, args.rooms, args.per_txn)):
            print(f"{what}: {figure}")
        return
    for what, figure in asyncio.run(measure(args.events, args.per_txn, args.repeats)):
        print(f"{what}: {figure}")


if __name__ == "__main__":
    main()
