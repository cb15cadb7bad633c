"""A load generator on the fake homeserver: commands offered to a bot, answers counted.

:class:`Load` plays a user who sends ``!pong <i>`` (or ``!ping``) into a room with the
bot, either ``per_sync`` events at each sync as fast as the bot syncs (``rate`` 0), or
at a fixed rate with at most ``per_sync`` events per sync answer. It matches each
answer to its command (by ``content.pong.ping``, by ``m.relates_to``, or by the tag of
``pong <i>``) and measures what the bot did: throughput, latency (answer received minus
command injected), its backlog (commands served to it but not yet answered, when a
batch is served, and ``max_held``: delivered but unanswered as it asks for more), and, when
it knows the bot's pid, its CPU time and memory over the run, start-up excluded.
"""

from __future__ import annotations

import asyncio
import math
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mautrix.types import RoomID, UserID

from botkit.testing.fakehs import procstat
from botkit.testing.fakehs.server import FakeHomeserver
from botkit.testing.fakehs.state import Hooks, SentEvent

__all__ = ["Load", "LoadSettings"]


@dataclass(frozen=True)
class LoadSettings:
    """What to offer: ``events`` commands, ``per_sync`` per sync answer, at ``rate`` per s.

    ``rate`` 0 offers the next ``per_sync`` whenever the bot has seen every earlier one.
    ``start_delay`` is waited after the bot's first sync, so that it finishes starting.
    """

    events: int
    per_sync: int = 1
    rate: float = 0.0
    command: str = "pong"
    start_delay: float = 2.0
    deadline: float = 300.0
    startup_timeout: float = 120.0


class Load(Hooks):
    """Offers the commands through ``hs`` and counts the bot's answers."""

    def __init__(
        self,
        hs: FakeHomeserver,
        room: RoomID,
        sender: UserID,
        bot: UserID,
        settings: LoadSettings,
        bot_pid: Callable[[], int | None] = lambda: None,
    ) -> None:
        self.hs = hs
        self.room = room
        self.sender = sender
        self.bot = bot
        self.settings = settings
        self._bot_pid = bot_pid
        n = settings.events
        self._index: dict[str, int] = {}
        self._positions: list[int] = []
        self._offered_at: list[float] = []
        self._answered_at: list[float | None] = [None] * n
        self.answered = self.duplicates = self.stray = self.max_backlog = self.max_held = 0
        self.bot_syncs = 0
        self.ready_at: float | None = None
        self.ready_age: float | None = None
        self._offering = False
        self._ready = asyncio.Event()
        self._done = asyncio.Event()
        self._t0 = self._t1 = 0.0
        self._before: dict[str, Any] = {}
        self._after: dict[str, Any] = {}

    # hooks called by the server

    def sync_requested(self, user_id: UserID, since: int | None) -> None:
        """Note the bot's readiness; with rate 0, offer the next events once it saw all."""
        if user_id != self.bot or since is None:
            return
        self.bot_syncs += 1
        # What the bot holds unanswered as it asks for more: its own backlog.
        held = bisect_right(self._positions, since) - self.answered
        self.max_held = max(self.max_held, held)
        if self.ready_at is None:
            # The first incremental sync: the initial one is done and processed.
            self.ready_at = time.time()
            pid = self._bot_pid()
            self.ready_age = procstat.process_age(pid) if pid else None
            self._ready.set()
        seen_all = not self._positions or since >= self._positions[-1]
        if self._offering and self.settings.rate <= 0 and seen_all:
            self._offer(self.settings.per_sync)

    def sync_answered(self, user_id: UserID, until: int) -> None:
        """Track the backlog: commands served to the bot but not answered yet."""
        if user_id == self.bot:
            served = bisect_right(self._positions, until)
            self.max_backlog = max(self.max_backlog, served - self.answered)

    def event_sent(self, sent: SentEvent) -> None:
        """Match an answer to its command."""
        now = time.time()
        index = self._match(sent.content) if sent.sender == self.bot else None
        if index is None:
            self.stray += 1
        elif self._answered_at[index] is not None:
            self.duplicates += 1
        else:
            self._answered_at[index] = now
            self.answered += 1
            if self.answered == self.settings.events:
                self._t1 = now
                self._after = self._sample()
                self._done.set()

    # running

    async def run(self) -> dict[str, Any]:
        """Wait for the bot, offer every command, wait for the answers; the figures."""
        s = self.settings
        timed_out = False
        try:
            async with asyncio.timeout(s.startup_timeout):
                await self._ready.wait()
        except TimeoutError:
            return self._result(timed_out=True)
        await asyncio.sleep(s.start_delay)
        self._before = self._sample()
        self._t0 = time.time()
        self._offering = True
        feeder = asyncio.create_task(self._feed_at_rate()) if s.rate > 0 else None
        if feeder is None:
            self._offer(s.per_sync)
        try:
            async with asyncio.timeout(s.deadline):
                await self._done.wait()
        except TimeoutError:
            timed_out = True
            self._t1 = time.time()
            self._after = self._sample()
        finally:
            if feeder is not None:
                feeder.cancel()
        return self._result(timed_out=timed_out)

    def _offer(self, count: int) -> None:
        start = len(self._positions)
        for i in range(start, min(start + count, self.settings.events)):
            body = f"!pong {i}" if self.settings.command == "pong" else "!ping"
            event_id = self.hs.inject(self.room, self.sender, {"msgtype": "m.text", "body": body})
            self._index[event_id] = i
            self._positions.append(self.hs.position)
            self._offered_at.append(time.time())

    async def _feed_at_rate(self) -> None:
        s = self.settings
        start = time.monotonic()
        while len(self._positions) < s.events:
            due = math.floor((time.monotonic() - start) * s.rate) + 1
            if due > len(self._positions):
                self._offer(due - len(self._positions))
            next_at = start + len(self._positions) / s.rate
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    def _match(self, content: dict[str, Any]) -> int | None:
        ids: list[Any] = []
        pong = content.get("pong")
        if isinstance(pong, dict):
            ids.append(pong.get("ping"))
        relates = content.get("m.relates_to")
        if isinstance(relates, dict):
            ids.append(relates.get("event_id"))
            reply = relates.get("m.in_reply_to")
            if isinstance(reply, dict):
                ids.append(reply.get("event_id"))
        for event_id in ids:
            if isinstance(event_id, str) and event_id in self._index:
                return self._index[event_id]
        body = content.get("body")
        if isinstance(body, str) and body.startswith("pong "):
            tag = body[5:].strip()
            if tag.isdigit() and int(tag) < len(self._positions):
                return int(tag)
        return None

    # figures

    def _sample(self) -> dict[str, Any]:
        pid = self._bot_pid()
        return {
            "bot": procstat.sample(pid) if pid else None,
            "system": procstat.system_busy(),
            "self_cpu": time.process_time(),
            "time": time.time(),
        }

    def _result(self, *, timed_out: bool) -> dict[str, Any]:
        s = self.settings
        latencies = sorted(
            (answered - offered) * 1000
            for answered, offered in zip(self._answered_at, self._offered_at, strict=False)
            if answered is not None
        )
        seconds = self._t1 - self._t0 if self._t0 and self._t1 else None
        result: dict[str, Any] = {
            "N": s.events,
            "B": s.per_sync,
            "rate": s.rate,
            "command": s.command,
            "answered": self.answered,
            "lost": s.events - self.answered,
            "duplicates": self.duplicates,
            "stray_sends": self.stray,
            "timed_out": timed_out,
            "seconds": _round(seconds, 3),
            "events_per_s": _round(self.answered / seconds if seconds else None, 1),
            "latency_ms": {
                name: _round(_percentile(latencies, q), 1)
                for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
            },
            "max_backlog": self.max_backlog,
            "max_held": self.max_held,
            "bot_syncs": self.bot_syncs,
            "ready_at": self.ready_at,
            "ready_s": _round(self.ready_age, 2),
        }
        result.update(self._costs())
        return result

    def _costs(self) -> dict[str, Any]:
        before, after = self._before, self._after
        if not before or not after:
            return {}
        wall = after["time"] - before["time"]
        busy = after["system"][0] - before["system"][0]
        total = after["system"][1] - before["system"][1]
        figures: dict[str, Any] = {
            "system_busy_pct": _round(100 * busy / total if total else None, 1),
            "fakehs_cpu_pct": _round(100 * (after["self_cpu"] - before["self_cpu"]) / wall, 1),
        }
        bot0, bot1 = before["bot"], after["bot"]
        if bot0 is not None and bot1 is not None:
            cpu = bot1.cpu_s - bot0.cpu_s
            figures["bot"] = {
                "cpu_s": round(cpu, 3),
                "cpu_ms_per_event": round(1000 * cpu / max(1, self.answered), 4),
                "cpu_pct": _round(100 * cpu / wall if wall else None, 1),
                "rss_mb": round(bot1.rss_mb, 1),
                "peak_rss_mb": round(bot1.peak_rss_mb, 1),
            }
        return figures


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
