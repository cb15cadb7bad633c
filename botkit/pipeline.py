"""Running handlers: per-(instance, room) lanes, backpressure, and what to commit.

Each plugin instance handles the events of one room in order, in its own lane,
so a slow handler holds up only its own lane; lanes of other rooms and other
plugins go on. At most ``max_pending`` events are unfinished at any time: the
sync loop waits before it takes more. A sync batch's token may be stored once
every event of that batch and of every earlier batch is finished: handled, or
kept as pending for a retry (see :mod:`botkit.retry`) in the same write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from mautrix.types import Event

from .changes import Changes
from .client import Origin, origin
from .instance import Failure, PluginInstance
from .metrics import Metrics
from .retry import Retries, RetrySettings, backoff
from .routing import wants
from .state import StateStore

__all__ = ["Batch", "Pipeline"]

log = logging.getLogger("botkit.pipeline")
# One bookkeeping transaction costs about 1 ms of CPU, as much as handling a
# command: the handled records and the token are written at most this often (in
# seconds), so that one commit covers the batches that come meanwhile, and at
# most this long after the last handler finished. A crash inside the window
# redelivers those events: the homeserver deduplicates their replies by
# transaction ID, and plugins' own writes are idempotent.
FLUSH_INTERVAL = 1.0
# Under load, records are written once this many are waiting, however recent the
# last write: a bigger write stalls the event loop (SQLAlchemy prepares every row
# in it) and holds more memory.
FLUSH_RECORDS = 256
# Lanes per room for a plugin that does not need its events in order.
_UNORDERED_LANES = 16


@dataclass(slots=True)
class Batch:
    """Events received together: a sync answer (with its token) or an appservice transaction."""

    token: str | None
    remaining: int
    #: Set once every event of the batch is finished (handled, or kept as pending).
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    #: Whether what its events left (handled records, pending rows) is written.
    written: bool = False

    def finish_one(self) -> None:
        """One of its events is finished."""
        self.remaining -= 1
        if self.remaining == 0:
            self.finished.set()


@dataclass(slots=True)
class _Lane:
    """The jobs of one (instance, room), handled in order by one task while there are any.

    The task ends with the lane's last job: a bot in 10,000 rooms holds tasks only
    for the rooms with work, not an idle task (about 4 KB) per room it ever heard of.
    """

    jobs: deque[tuple[PluginInstance, Event, Batch]] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None


class Pipeline:
    """Queues handler work, bounds it, and tells what may be committed."""

    def __init__(
        self,
        store: StateStore,
        max_pending: int,
        *,
        retry: RetrySettings | None = None,
        instances: Callable[[str], PluginInstance | None] = lambda name: None,
        metrics: Metrics | None = None,
        wants: Callable[[PluginInstance, Event], bool] = wants,
    ) -> None:
        self.store = store
        self.max_pending = max_pending
        self._slots = asyncio.Semaphore(max_pending)
        # Slots taken: counted here, as a semaphore does not tell (publicly) how many it has.
        self._taken = 0
        self._lanes: dict[tuple[str, ...], _Lane] = {}
        self._batches: deque[Batch] = deque()
        self._changes = Changes()
        self.retries = Retries(
            retry or RetrySettings(),
            self._changes,
            instances,
            metrics or Metrics(),
            self.request_flush,
            self._slot,
            wants,
        )
        self._idle = asyncio.Event()
        self._idle.set()
        self._spread = 0
        # One write at a time, so that a newer token is never overwritten by an older one.
        self._flush_lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flushed_at = 0.0
        self._flush_failing = False
        self._rand = random.Random()

    @property
    def pending(self) -> int:
        """Events queued or being handled."""
        return self._taken

    async def submit(self, token: str | None, jobs: list[tuple[PluginInstance, Event]]) -> Batch:
        """Queue one batch of events; waits while ``max_pending`` events are unfinished.

        ``token`` is the sync position to store once the batch is finished (None: nothing
        to store, as for an appservice transaction).
        """
        # Redelivered while pending (a crash before the token moved): the retry handles it.
        jobs = [(i, e) for i, e in jobs if (i.name, e.event_id) not in self.retries]
        batch = Batch(token, len(jobs))
        if not jobs:
            batch.finished.set()
        self._batches.append(batch)
        if jobs:
            self._idle.clear()
        for inst, event in jobs:
            await self._slots.acquire()
            self._taken += 1
            if inst.ordered:
                key: tuple[str, ...] = (inst.name, event.room_id)
            else:
                self._spread = (self._spread + 1) % _UNORDERED_LANES
                key = (inst.name, event.room_id, str(self._spread))
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = _Lane()
                lane.task = asyncio.create_task(self._work(key, lane), name=f"lane:{key}")
            lane.jobs.append((inst, event, batch))
        return batch

    async def settle(self, batch: Batch) -> None:
        """Wait until every event of ``batch`` is finished and its records are written.

        A failed write is tried again (with backoff) until it succeeds: whoever
        waits (the homeserver, for a transaction) waits with it.
        """
        await batch.finished.wait()
        failures = 0
        while not batch.written:
            try:
                await self.flush()
            except Exception as e:
                failures += 1
                log.warning("could not record a finished batch (%s); trying again", e)
                await asyncio.sleep(backoff(failures, 0.5, 10.0, self._rand))

    async def _work(self, key: tuple[str, ...], lane: _Lane) -> None:
        try:
            while lane.jobs:
                await self._one(*lane.jobs.popleft())
        finally:
            # Nothing awaits between the last check of ``lane.jobs`` and here, so no
            # job can slip into a lane being ended: the next one starts a new lane.
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def _one(self, inst: PluginInstance, event: Event, batch: Batch) -> None:
        """Handle one job of a lane, and account for it."""
        finished = False
        try:
            if self.retries.blocks(inst, event):
                self.retries.add(inst, event, None)  # waits behind a failed one
            else:
                failure = await self._handle(inst, event)
                if failure is None:
                    self._changes.handled.append((inst.name, event.event_id))
                else:
                    self.retries.add(inst, event, failure)
            finished = True
        finally:
            # Cut off by a stop: neither handled nor pending, so its batch's
            # token is never stored and a restart gets the event again.
            if finished:
                batch.finish_one()
            self._slots.release()
            self._taken -= 1
            if self.pending == 0:
                self._idle.set()
                self.request_flush()

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of the ``max_pending`` slots, for a retry: retries are bounded too."""
        await self._slots.acquire()
        self._taken += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._slots.release()
            self._taken -= 1
            if self.pending == 0:
                self._idle.set()
                self.request_flush()

    async def _handle(self, inst: PluginInstance, event: Event) -> Failure | None:
        reset = origin.set(Origin(inst.name, event.event_id))
        try:
            return await inst.handle(event)
        except Exception as e:  # handle() guards each handler; this is a bug in botkit
            log.exception("handling %s in %s failed", event.event_id, inst.name)
            return Failure(f"{type(e).__name__}: {e}")
        finally:
            origin.reset(reset)

    async def load_pending(self) -> int:
        """Take over the pending events stored by an earlier run (before syncing starts)."""
        rows = await self.store.pending()
        await self.store.mark_picked_up(r for r in rows if r.replayed)
        self.retries.dead_letters = await self.store.dead_letter_counts()
        return self.retries.load(rows)

    async def pick_up_replays(self) -> int:
        """Take over the events ``botkit replay`` brought back while the bot runs."""
        rows = [
            r
            for r in await self.store.pending(replayed_only=True)
            if (r.instance, r.event_id) not in self.retries
        ]
        if not rows:
            return 0
        await self.store.mark_picked_up(rows)
        for row in rows:
            count = self.retries.dead_letters.get(row.instance, 0)
            self.retries.dead_letters[row.instance] = max(0, count - 1)
        return self.retries.load(rows)

    def _oldest_batch_done(self) -> bool:
        return bool(self._batches) and self._batches[0].remaining == 0

    def take_committable(self) -> tuple[Changes, str | None]:
        """Changes not yet written, and the newest token that may be stored."""
        changes, token, _ = self._take()
        return changes, token

    def _take(self) -> tuple[Changes, str | None, list[Batch]]:
        token = None
        done: list[Batch] = []
        while self._oldest_batch_done():
            batch = self._batches.popleft()
            done.append(batch)
            token = batch.token if batch.token is not None else token
        return self._changes.take(), token, done

    async def flush(self) -> None:
        """Write what may be committed, in one transaction (after a write under way)."""
        async with self._flush_lock:
            changes, token, done = self._take()
            if changes or token is not None:
                try:
                    await self.store.commit(changes, token)
                except BaseException:
                    # Not written: keep the records and the batches for the next flush.
                    self._changes.restore(changes)
                    self._batches.extendleft(reversed(done))
                    raise
            for batch in done:
                batch.written = True

    def request_flush(self) -> None:
        """Have what may be committed written in the background, within ``FLUSH_INTERVAL``.

        At once when the last write started that long ago or ``FLUSH_RECORDS``
        records are waiting, else when it has; requests meanwhile share that write.
        """
        if len(self._changes) >= FLUSH_RECORDS:
            self.flush_soon()
            return
        if self._flush_timer is not None:
            return
        delay = self._flushed_at + FLUSH_INTERVAL - time.monotonic()
        if delay <= 0:
            self.flush_soon()
        else:
            self._flush_timer = asyncio.get_running_loop().call_later(delay, self._timer_fired)

    def _timer_fired(self) -> None:
        self._flush_timer = None
        self.flush_soon()

    def flush_soon(self) -> None:
        """Start :meth:`flush` in the background unless one is under way.

        The sync loop goes on meanwhile: a slow database (SQLite waiting for a
        plugin's write lock) must not hold up the next events. A failure is
        logged once until a write succeeds again; the records wait in memory.
        """
        if self._flusher is None or self._flusher.done():
            self._flushed_at = time.monotonic()
            self._flusher = asyncio.create_task(self._flush_in_background(), name="botkit-flush")

    async def _flush_in_background(self) -> None:
        try:
            await self.flush()
        except Exception as e:
            if not self._flush_failing:
                log.warning("could not record handled events (%s); will retry", e)
            self._flush_failing = True
        else:
            if self._flush_failing:
                log.warning("handled events are recorded again")
            self._flush_failing = False
        if self._changes or self._oldest_batch_done():
            self.request_flush()  # what finished during this write, or a retry

    async def drain(self, seconds: float) -> bool:
        """Wait until nothing is pending (at most ``seconds``); True when drained."""
        try:
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Cancel every lane and retry (after :meth:`drain`); let a background write finish."""
        await self.retries.close()
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        tasks = [lane.task for lane in self._lanes.values() if lane.task]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()
