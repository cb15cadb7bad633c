"""Benchmark: a bot in many rooms over a long run: memory, the handled records, start-up.

botkit runs in appservice mode in this process as in :mod:`bench.appservice`
(its database, its bookkeeping, its sends answered from memory); this process
plays the homeserver and pushes ``-n`` ``!pong`` commands spread round robin
over ``--rooms`` rooms, 100 to a transaction. The handled records are kept for
``--retention`` seconds only, so the bot's own pruning runs several times in
the run. Twenty times along it, it prints the RSS of the process and the number
of rows in ``botkit_handled``: both must level off once warm.

Then it times the start-up of ``python -m botkit run`` on the database the run
left behind, from the process's start until its health page says ready
(listening for transactions), beside the same on an empty database.

    python -m bench.scale [-n 1000000] [--rooms 10000] [--retention 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from sqlalchemy import text

from bench.appservice import Pushed, pushed_bot, rss_mb, transactions
from botkit.testing.fakehs import FakeHomeserver

__all__ = ["measure"]

_SAMPLES = 20
_STARTS = 3


async def _handled_rows(p: Pushed) -> int:
    async with p.bot.engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM botkit_handled")) or 0)


async def _start_up(p: Pushed, environ: dict[str, str]) -> float:
    """Seconds from ``botkit run``'s start until its health page says ready."""
    port = p.bot.config.web.port
    url = f"http://127.0.0.1:{port}/_botkit/health"
    started = time.monotonic()
    proc = subprocess.Popen(  # noqa: ASYNC220 - returns at once; the wait is async
        [sys.executable, "-m", "botkit", "run", "-c", str(p.config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **p.environ, **environ},
    )
    try:
        async with aiohttp.ClientSession() as http:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"botkit run exited with {proc.returncode}")
                try:
                    async with http.get(url) as resp:
                        if resp.status == 200 and (await resp.json()).get("ready"):
                            return time.monotonic() - started
                except aiohttp.ClientError:
                    pass
                if time.monotonic() - started > 60:
                    raise TimeoutError("botkit run was not ready within 60 s")
                await asyncio.sleep(0.01)
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait)


async def measure(
    events: int = 1_000_000, rooms: int = 10_000, retention: float = 10.0, per_txn: int = 100
) -> list[tuple[str, str]]:
    """The run's figures as (what, figure) pairs; prints the curve as it goes."""
    every = max(1, events // per_txn // _SAMPLES)
    curve: list[str] = []
    environ = {"BOTKIT_SYNC__HANDLED_RETENTION": str(retention)}
    with tempfile.TemporaryDirectory(prefix="botkit-scale-bench-") as tmp:
        async with FakeHomeserver() as hs:
            async with pushed_bot(hs, Path(tmp), events, per_txn, environ) as p:
                wall = time.monotonic()
                for n, txn in enumerate(transactions(events, per_txn, rooms)):
                    await p.push(n, txn)
                    if n % every == every - 1:
                        point = f"{(n + 1) * per_txn // 1000}k: {rss_mb():.0f} MB"
                        point += f" {await _handled_rows(p)} rows"
                        print(f"  after {point}, {time.monotonic() - wall:.0f} s", flush=True)
                        curve.append(point)
                async with asyncio.timeout(300):
                    await p.api.answered.wait()
                wall = time.monotonic() - wall
                rows = await _handled_rows(p)
            # The database the run left behind, and an empty one, in turn.
            empty = {"BOTKIT_DATABASE__URL": f"sqlite+aiosqlite:///{tmp}/empty.db"}
            with_state: list[float] = []
            without: list[float] = []
            for _ in range(_STARTS):
                with_state.append(await _start_up(p, {}))
                without.append(await _start_up(p, empty))
    label = f"{events} events in {rooms} rooms"
    return [
        (f"{label}: events/s", f"{events / wall:.0f}"),
        (f"{label}: RSS and handled rows by events pushed", ", ".join(curve)),
        (f"{label}: handled rows at the end (retention {retention:g} s)", str(rows)),
        (
            f"{label}: start-up on that database, median of {_STARTS}",
            f"{statistics.median(with_state):.2f} s"
            f" (empty database: {statistics.median(without):.2f} s)",
        ),
    ]


def main() -> None:
    """Command line: print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--events", type=int, default=1_000_000)
    parser.add_argument("--rooms", type=int, default=10_000)
    parser.add_argument("--retention", type=float, default=10.0, help="sync.handled_retention")
    args = parser.parse_args()
    for what, figure in asyncio.run(measure(args.events, args.rooms, args.retention)):
        print(f"{what}: {figure}")


if __name__ == "__main__":
    main()
