"""Benchmark: the bots' own CPU per event, with the network taken out.

Both bots run their real sync loops, but their HTTP API is :class:`NullAPI`: a
``/sync`` gets the next prepared batch at once (decoded from JSON, as off the wire),
a send is serialised and answered at once. What remains is each bot's own work per
event: parsing, dispatch, handlers, bookkeeping. botkit runs as in ``make bench``
(same plugins, its database, its flush policy), started against an in-process fake
homeserver, then switched to :class:`NullAPI`; the bare client is mautrix's
``Client`` with :func:`bench.raw_client.answer` as its handler.

    python -m bench.dispatch [-n 5000] [-b 1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mautrix.api import HTTPAPI, Method, PathBuilder
from mautrix.client import Client
from mautrix.types import EventType, MessageEvent, UserID

from bench.bots import Hello, launch
from bench.raw_client import answer
from botkit.bot import Bot
from botkit.config import load_config
from botkit.sync import Syncer
from botkit.testing.fakehs import FakeHomeserver

__all__ = ["NullAPI", "measure"]

ROOM = "!bench:null.invalid"
SENDER = "@loadgen:null.invalid"


class NullAPI(HTTPAPI):
    """mautrix's HTTP API answering from memory: sync batches, sends, filters."""

    def __init__(self, batches: list[str]) -> None:
        super().__init__("http://null.invalid")
        self._batches = batches
        self._next = 0
        self.sends = 0
        self.expected = sum(b.count('"event_id"') for b in batches)
        self.answered = asyncio.Event()
        """Set when every command of every batch got its answer."""
        self.idle = asyncio.Event()

    async def request(  # type: ignore[override]
        self, method: Method, path: PathBuilder | str, content: Any = None, **_: Any
    ) -> Any:
        """Answer without a network: what a quick homeserver would say."""
        where = str(path)
        if where.endswith("/sync"):
            if self._next < len(self._batches):
                self._next += 1
                return json.loads(self._batches[self._next - 1])
            await self.idle.wait()  # everything served: a long poll that never ends
            return {"next_batch": f"s{self._next}"}
        if "/send/" in where:
            json.dumps(content.serialize() if hasattr(content, "serialize") else content)
            self.sends += 1
            if self.sends == self.expected:
                self.answered.set()
            return {"event_id": f"$sent{self.sends}"}
        if where.endswith("/filter"):
            return {"filter_id": "1"}
        return {}


def batches(events: int, per_sync: int, command: str) -> list[str]:
    """``events`` commands in sync answers of ``per_sync``, as JSON text."""
    now = int(time.time() * 1000)
    out: list[str] = []
    for start in range(0, events, per_sync):
        timeline = [
            {
                "type": "m.room.message",
                "sender": SENDER,
                "event_id": f"$ping{i}",
                "origin_server_ts": now,
                "content": {
                    "msgtype": "m.text",
                    "body": f"!pong {i}" if command == "pong" else "!ping",
                },
            }
            for i in range(start, min(start + per_sync, events))
        ]
        room = {"timeline": {"events": timeline, "limited": False, "prev_batch": "s"}}
        body = {"next_batch": f"s{len(out) + 1}", "rooms": {"join": {ROOM: room}}}
        out.append(json.dumps(body))
    return out


async def _timed(api: NullAPI, start: Callable[[], Any], events: int) -> float:
    """Start the bot's loop on ``api``; CPU µs per event until every command is answered."""
    before = time.process_time()
    task = asyncio.ensure_future(start())
    async with asyncio.timeout(300):
        await api.answered.wait()
    spent = time.process_time() - before
    api.idle.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return spent / events * 1e6


async def _raw(events: int, per_sync: int, command: str) -> float:
    api = NullAPI(batches(events, per_sync, command))
    client = Client(mxid=UserID("@bot:null.invalid"), api=api)

    async def on_message(event: MessageEvent) -> None:
        content = answer(event, int(time.time() * 1000))
        if content is not None:
            await client.send_message_event(event.room_id, EventType.ROOM_MESSAGE, content)

    client.add_event_handler(EventType.ROOM_MESSAGE, on_message)
    try:
        return await _timed(api, lambda: client.start(None), events)
    finally:
        client.stop()
        await api.session.close()


async def _botkit(events: int, per_sync: int, command: str) -> float:
    with tempfile.TemporaryDirectory(prefix="botkit-dispatch-") as tmp:
        async with FakeHomeserver() as hs:
            token = hs.create_token("bot")
            hello = Hello(hs.url, f"@bot:{hs.server_name}", token, ROOM)
            config = Path(launch("botkit", hello, Path(tmp), per_sync).argv[-1])
            bot = Bot(load_config(config))
            await bot.start()
            try:
                assert bot.syncer is not None and bot.api is not None
                # Once the second sync waits, the first token is on its way to the
                # database; stop cuts the sync short, flush makes sure of the token.
                await hs.wait_for_request("GET /_matrix/client/{version}/sync", 2, timeout=60)
                bot.syncer.stop()
                await asyncio.gather(bot._sync_task or asyncio.sleep(0), return_exceptions=True)
                await bot.pipeline.flush()
                real = bot.api.api
                api = NullAPI(batches(events, per_sync, command))
                api.token = real.token
                bot.api.api = api
                old = bot.syncer
                syncer = Syncer(
                    bot.api,
                    bot.store,
                    bot.pipeline,
                    old.router,
                    old.settings,
                    bot.metrics,
                    old.on_invite,
                )
                bot.syncer = syncer
                try:
                    return await _timed(api, syncer.run, events)
                finally:
                    syncer.stop()
                    bot.api.api = real
                    await api.session.close()
            finally:
                await bot.stop()


async def measure(
    events: int = 5000, per_sync: int = 1, command: str = "pong", repeats: int = 3
) -> list[tuple[str, str]]:
    """Median CPU µs per event of each bot over ``repeats`` runs; (what, figure) pairs."""
    figures = []
    results: dict[str, list[float]] = {"raw": [], "botkit": []}
    for _ in range(repeats):
        results["raw"].append(await _raw(events, per_sync, command))
        results["botkit"].append(await _botkit(events, per_sync, command))
    raw, mine = statistics.median(results["raw"]), statistics.median(results["botkit"])
    label = f"no network, B={per_sync}, !{command}"
    figures.append((f"{label}: raw CPU per event", f"{raw:.0f} µs"))
    figures.append((f"{label}: botkit CPU per event", f"{mine:.0f} µs ({mine / raw:.2f} × raw)"))
    return figures


def main() -> None:
    """Command line: print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", "--events", type=int, default=5000)
    parser.add_argument("-b", "--per-sync", type=int, default=1)
    parser.add_argument("--command", choices=["pong", "ping"], default="pong")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    figures = asyncio.run(measure(args.events, args.per_sync, args.command, args.repeats))
    for what, figure in figures:
        print(f"{what}: {figure}")


if __name__ == "__main__":
    main()
