"""Benchmark: the echo bot in a child process against a real, throwaway Synapse.

A sender account creates a room with the bot, sends ``N`` ``!ping <i>`` commands at
``--rate`` per second (at most ``--concurrency`` sends in flight; rate 0 = as fast as
that allows) and waits for the pongs, until every ping is answered or ``--deadline``
seconds after the last send. ``--kill-at K1,K2`` SIGKILLs the bot once ``K`` pings are
answered and starts it again, to show what a crash costs.

    python -m bench.synapse_load [-n 200] [--rate 5] [--concurrency 1] [--kill-at 60,140]

The final count is read from the room's history (``/messages``), not from the
sender's sync, so a gappy sync cannot turn an answered ping into a lost one.
Latency is the pong's ``origin_server_ts`` minus the ping's: one server, one clock.
The bot's CPU time is counted from its readiness to the end of the run (or its
kill); a restarted bot's start-up and catch-up until ready is reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from mautrix.errors import MatrixError
from mautrix.types import (
    Event,
    EventID,
    MessageEvent,
    MessageType,
    PaginationDirection,
    RoomID,
    SyncToken,
    UserID,
)

from bench.synapse_figures import LoadResult, markdown_table, percentile
from botkit.testing.bot import BotProcess
from botkit.testing.botconfig import write_bot_config
from botkit.testing.fakehs import procstat
from botkit.testing.fakehs.procstat import ProcSample
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import Synapse, free_ports
from botkit.testing.synapse_venv import default_venv_dir
from botkit.testing.talk import eventually, wait_joined

__all__ = ["LoadResult", "markdown_table", "measure"]

ROOT = Path(__file__).resolve().parent.parent
_POLL = 0.05
# After the last ping is answered: time for late duplicates (a re-run after a crash).
_GRACE = 2.0
_PAGE = 500


# -- the bot process, seen through /proc ------------------------------------------


def _reading(pid: int) -> ProcSample:
    found = procstat.sample(pid)
    if found is None:
        raise RuntimeError(f"the bot process {pid} is gone")
    return found


@dataclass
class _Segment:
    """One bot process's share of the run: CPU from readiness to its end."""

    pid: int
    cpu_at_ready: float
    cpu_at_end: float | None = None
    rss_mb: float | None = None
    hwm_mb: float | None = None

    def close(self) -> None:
        """Read the final figures; call while the process is still alive."""
        reading = _reading(self.pid)
        self.cpu_at_end, self.rss_mb, self.hwm_mb = (
            reading.cpu_s,
            reading.rss_mb,
            reading.peak_rss_mb,
        )


def _segment(proc: BotProcess) -> _Segment:
    assert proc.proc is not None
    return _Segment(proc.proc.pid, _reading(proc.proc.pid).cpu_s)


# -- pings and pongs --------------------------------------------------------------


@dataclass
class _Tally:
    """Pings and pongs in one room, fed with events in any order, each at most once."""

    room: RoomID
    sender: UserID
    bot: UserID
    ping_ts: dict[EventID, int] = field(default_factory=dict)
    pong_ts: dict[EventID, list[int]] = field(default_factory=dict)
    _seen: set[EventID] = field(default_factory=set)

    def add(self, events: Sequence[Event]) -> None:
        """Count the pings and pongs among ``events`` not counted yet."""
        for event in events:
            if not isinstance(event, MessageEvent) or event.room_id != self.room:
                continue
            if event.event_id in self._seen:
                continue
            self._seen.add(event.event_id)
            if event.sender == self.sender and str(event.content.body).startswith("!ping "):
                self.ping_ts[event.event_id] = event.timestamp
            elif event.sender == self.bot and event.content.msgtype == MessageType.NOTICE:
                pong = event.content.serialize().get("pong")
                ping = pong.get("ping") if isinstance(pong, dict) else None
                if isinstance(ping, str):
                    self.pong_ts.setdefault(EventID(ping), []).append(event.timestamp)

    def answered(self, pings: Sequence[EventID]) -> int:
        """How many of ``pings`` have at least one pong."""
        return sum(1 for ping in pings if ping in self.pong_ts)


class _LiveTally:
    """A :class:`_Tally` kept up to date from a client's sync, for progress checks."""

    def __init__(self, client: TestClient, tally: _Tally) -> None:
        self.client = client
        self.tally = tally
        self._done = 0

    def answered(self, pings: Sequence[EventID]) -> int:
        events = self.client.events
        self.tally.add(events[self._done :])
        self._done = len(events)
        return self.tally.answered(pings)


async def _room_tally(client: TestClient, room: RoomID, sender: UserID, bot: UserID) -> _Tally:
    """Every ping and pong in ``room``'s history (``GET /rooms/{roomId}/messages``)."""
    tally = _Tally(room, sender, bot)
    token: SyncToken | None = None
    while True:
        # Any: mautrix declares PaginatedMessages in a NamedTuple form mypy cannot read.
        page: Any = await client.client.get_messages(
            room, PaginationDirection.BACKWARD, from_token=token, limit=_PAGE
        )
        tally.add(page.events)
        if not page.events or page.end is None:
            return tally
        token = page.end


# -- the load ---------------------------------------------------------------------


class _Sender:
    """Sends ``!ping <i>`` at a fixed rate with bounded concurrency, recording event IDs."""

    def __init__(self, client: TestClient, room: RoomID) -> None:
        self.client = client
        self.room = room
        self.sent: list[EventID] = []
        self.errors: list[str] = []

    async def run(self, n: int, rate: float, concurrency: int) -> None:
        """Send ``n`` pings; open loop: a slow send delays later ones only past ``concurrency``."""
        gate = asyncio.Semaphore(concurrency)
        loop = asyncio.get_running_loop()
        start = loop.time()
        async with asyncio.TaskGroup() as group:
            for i in range(n):
                if rate > 0:
                    await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
                await gate.acquire()
                group.create_task(self._one(i, gate))

    async def _one(self, i: int, gate: asyncio.Semaphore) -> None:
        try:
            self.sent.append(await self.client.send_text(self.room, f"!ping {i}"))
        except (MatrixError, aiohttp.ClientError, OSError) as e:
            self.errors.append(f"ping {i}: {e!r}")
        finally:
            gate.release()


class _Crasher:
    """SIGKILLs the bot after each threshold of answered pings, and starts it again."""

    def __init__(self, proc: BotProcess, live: _LiveTally, sender: _Sender) -> None:
        self.proc = proc
        self.live = live
        self.sender = sender
        self.segments = [_segment(proc)]
        self.restart_s: list[float] = []
        self.restart_cpu_s = 0.0
        self.restarting = False

    def _reached(self, answered: int) -> bool:
        return self.live.answered(self.sender.sent) >= answered

    async def run(self, thresholds: Sequence[int]) -> None:
        """Kill and restart at each threshold in turn."""
        for k in sorted(thresholds):
            # No deadline of its own: the run's deadline ends it by cancelling the task.
            await eventually(
                functools.partial(self._reached, k),
                timeout=float("inf"),
                what=f"{k} answered pings",
            )
            self.restarting = True
            self.segments[-1].close()
            killed = time.monotonic()
            self.proc.kill()
            await self.proc.start()
            self.restart_s.append(time.monotonic() - killed)
            segment = _segment(self.proc)
            self.restart_cpu_s += segment.cpu_at_ready
            self.segments.append(segment)
            self.restarting = False


def _figures(
    tally: _Tally, sender: _Sender, crasher: _Crasher, params: dict[str, Any], duration: float
) -> LoadResult:
    sent, sent_set = sender.sent, set(sender.sent)
    first = {ping: min(tally.pong_ts[ping]) for ping in sent if ping in tally.pong_ts}
    latencies = sorted(first[ping] - tally.ping_ts[ping] for ping in first)
    send_ts = sorted(tally.ping_ts[ping] for ping in sent if ping in tally.ping_ts)
    send_span = (send_ts[-1] - send_ts[0]) / 1000 if len(send_ts) > 1 else 0.0
    answer_span = (max(first.values()) - send_ts[0]) / 1000 if first and send_ts else 0.0
    pongs = sum(len(ts) for ts in tally.pong_ts.values())
    segments = crasher.segments
    cpu = sum((s.cpu_at_end or s.cpu_at_ready) - s.cpu_at_ready for s in segments)
    hwm = [s.hwm_mb for s in segments if s.hwm_mb is not None]
    return LoadResult(
        **params,
        sent=len(sent),
        send_errors=len(sender.errors),
        answered=len(first),
        lost=len(sent) - len(first),
        duplicated=sum(1 for ping in sent if len(tally.pong_ts.get(ping, ())) > 1),
        stray_pongs=sum(len(ts) for ping, ts in tally.pong_ts.items() if ping not in sent_set),
        latency_ms={
            "p50": percentile(latencies, 50),
            "p90": percentile(latencies, 90),
            "p99": percentile(latencies, 99),
            "max": latencies[-1] if latencies else None,
        },
        send_rate=round((len(send_ts) - 1) / send_span, 2) if send_span else 0.0,
        throughput=round(len(first) / answer_span, 2) if answer_span else 0.0,
        cpu_ms_per_pong=round(1000 * cpu / pongs, 3) if pongs else None,
        restart_cpu_s=round(crasher.restart_cpu_s, 2),
        restart_s=[round(s, 2) for s in crasher.restart_s],
        rss_mb=segments[-1].rss_mb,
        peak_rss_mb=max(hwm) if hwm else None,
        duration_s=round(duration, 1),
    )


@contextlib.contextmanager
def _repo_on_pythonpath() -> Iterator[None]:
    """Let ``python -m botkit`` and the plugins import from the repository, from any cwd."""
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), old) if p)
    try:
        yield
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old


async def measure(
    *,
    n: int = 200,
    rate: float = 5.0,
    concurrency: int = 1,
    kill_at: Sequence[int] = (),
    deadline: float = 60.0,
    default_ratelimits: bool = False,
    work_dir: Path | None = None,
) -> LoadResult:
    """One run in ``work_dir`` (default: a temporary directory, removed afterwards)."""
    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="botkit-hs-")))
        stack.enter_context(_repo_on_pythonpath())
        synapse = Synapse(
            work_dir / "synapse",
            default_ratelimits=default_ratelimits,
            venv=default_venv_dir(ROOT),
        )
        await synapse.async_start()
        stack.callback(synapse.stop)
        bot, pinger = synapse.register("bot"), synapse.register("sender")
        port = free_ports()[0]
        config = write_bot_config(
            work_dir / "bot" / "config.yaml",
            account=bot,
            plugins={"echo": {"config": {"min_ms": 0}}},
            plugin_dirs=[str(ROOT / "plugins")],
            web={"port": port},
        )
        proc = BotProcess(config, port, work_dir / "bot" / "bot.log")
        try:
            await proc.start()
            async with TestClient(pinger) as client:
                await client.start_sync()
                room = await client.create_room(invite=[bot.user_id])
                await wait_joined(client, room, bot.user_id)
                params: dict[str, Any] = {"n": n, "rate": rate, "concurrency": concurrency}
                params["kill_at"] = tuple(sorted(kill_at))
                return await _load(client, room, bot.user_id, proc, params, deadline)
        finally:
            await proc.stop()


async def _load(
    client: TestClient,
    room: RoomID,
    bot: UserID,
    proc: BotProcess,
    params: dict[str, Any],
    deadline: float,
) -> LoadResult:
    """Send, crash if asked, wait for the answers, and count them from the room's history."""
    began = time.monotonic()
    sender = _Sender(client, room)
    live = _LiveTally(client, _Tally(room, client.user_id, bot))
    crasher = _Crasher(proc, live, sender)
    crashes = asyncio.create_task(crasher.run(params["kill_at"]))
    try:
        await sender.run(params["n"], params["rate"], params["concurrency"])
        give_up = time.monotonic() + deadline
        while time.monotonic() < give_up:
            if crashes.done() and crashes.exception() is not None:
                crashes.result()
            done = live.answered(sender.sent) == len(sender.sent)
            if done and not crasher.restarting:
                await asyncio.sleep(_GRACE)
                break
            await asyncio.sleep(_POLL)
    finally:
        crashes.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await crashes
    if proc.proc is not None and proc.proc.poll() is None:
        crasher.segments[-1].close()
    duration = time.monotonic() - began
    tally = await _room_tally(client, room, client.user_id, bot)
    return _figures(tally, sender, crasher, params, duration)


def _kill_points(text: str) -> list[int]:
    return [int(k) for k in text.split(",") if k.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, run once, print the table and the details."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.synapse_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("-n", type=int, default=200, help="pings to send (default 200)")
    add("--rate", type=float, default=5.0, help="pings per second, 0 = max (default 5)")
    add("--concurrency", type=int, default=1, help="sends in flight at most (default 1)")
    add("--kill-at", type=_kill_points, default=[], help="K1,K2: SIGKILL after K answers")
    add("--deadline", type=float, default=60.0, help="s to wait after the last send")
    add("--default-ratelimits", action="store_true", help="keep Synapse's rate limits")
    add("--work-dir", type=Path, help="keep Synapse's and the bot's files here")
    args = parser.parse_args(argv)
    run = measure(
        n=args.n,
        rate=args.rate,
        concurrency=args.concurrency,
        kill_at=args.kill_at,
        deadline=args.deadline,
        default_ratelimits=args.default_ratelimits,
        work_dir=args.work_dir,
    )
    result = asyncio.run(run)
    print(markdown_table([result]))
    print()
    details = result.as_dict()
    for key in ("send_errors", "stray_pongs", "send_rate", "restart_s", "restart_cpu_s"):
        print(f"{key}: {details[key]}")
    print(f"duration_s: {result.duration_s}")


if __name__ == "__main__":
    main()
