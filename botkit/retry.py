"""Events whose handling failed: kept, retried with backoff, parked when they fail too often.

An event an instance failed on (a database error, a send that gave up, a
timeout, the instance not running, a bug) is not recorded as handled: it
becomes *pending* for that instance, in the same bookkeeping transaction that
stores the sync token, so that it survives a restart. In a lane that keeps
order (one instance, one room), the events after it wait behind it as pending
too, without holding a ``max_pending`` slot; unordered plugins retry each
event on its own. After ``sync.retry_attempts`` tries an event is moved to the
dead letters, and its lane goes on; ``botkit replay`` brings it back. While its
instance is not running, an event waits without using up tries, until it is
older than the instance's catch-up age (then it is parked too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from mautrix.types import Event

from .changes import Changes, DeadLetter, PendingRow
from .client import Origin, origin
from .events import parse_event
from .instance import Failure, PluginInstance
from .metrics import Metrics
from .routing import wants

__all__ = ["Retries", "RetrySettings", "backoff"]

log = logging.getLogger("botkit.retry")
# How often a lane whose instance is not running looks again (it is also woken
# when the instance starts).
_NOT_RUNNING_CHECK = 30.0

LaneKey = tuple[str, ...]


def backoff(
    attempt: int, first: float, cap: float, rand: random.Random, *, jitter: float = 0.2
) -> float:
    """Seconds to wait before try ``attempt + 1``: ``first`` doubled per try, capped, jittered.

    The jitter (``±jitter`` of the wait) keeps bots that failed together from
    coming back together.
    """
    base = min(first * 2 ** (min(attempt, 30) - 1), cap)
    return float(base * rand.uniform(1 - jitter, 1 + jitter))


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """The retry part of the ``sync`` config; durations in seconds."""

    attempts: int = 8
    first_delay: float = 2.0
    max_delay: float = 600.0
    max_age: float = 3600.0


@dataclass(slots=True)
class _Pending:
    row: PendingRow
    event: Event
    due: float = 0.0  # monotonic time of the next try


@dataclass(slots=True)
class _Lane:
    events: deque[_Pending] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class Retries:
    """The pending events of every lane, and a task per lane that retries its first one."""

    def __init__(
        self,
        settings: RetrySettings,
        changes: Changes,
        instances: Callable[[str], PluginInstance | None],
        metrics: Metrics,
        on_change: Callable[[], None],
        slot: Callable[[], AbstractAsyncContextManager[None]] = contextlib.nullcontext,
        wants: Callable[[PluginInstance, Event], bool] = wants,
    ) -> None:
        self.settings = settings
        self.changes = changes
        self.instances = instances
        self.metrics = metrics
        self.on_change = on_change
        # Held while a retry runs: at most max_pending handlers run at once, retries included.
        self.slot = slot
        # Asked again before each retry: the instance may have come back without the handler.
        self.wants = wants
        #: The reason of each instance's latest failed try, for the health page.
        self.last_failure: dict[str, str] = {}
        self._lanes: dict[LaneKey, _Lane] = {}
        self._known: set[tuple[str, str]] = set()
        self._seq = time.time_ns()
        self._rand = random.Random()
        #: Dead letters per instance (loaded at start, then counted here).
        self.dead_letters: dict[str, int] = {}

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._known

    def count(self, instance: str) -> int:
        """Events of ``instance`` waiting for a retry (or behind one)."""
        return int(self.metrics.events_pending.values.get(instance, 0))

    def _forget(self, row: PendingRow) -> None:
        self._known.discard((row.instance, row.event_id))
        self.metrics.events_pending.inc(row.instance, -1)

    @staticmethod
    def lane_of(instance: str, ordered: bool, event: Event) -> LaneKey:
        """The lane an event waits in: per room when ordered, else on its own."""
        if ordered:
            return (instance, event.room_id)
        return (instance, event.room_id, event.event_id)

    def blocks(self, instance: PluginInstance, event: Event) -> bool:
        """Whether ``event`` must wait behind pending events of its ordered lane."""
        return instance.ordered and (instance.name, event.room_id) in self._lanes

    def add(self, instance: PluginInstance, event: Event, failure: Failure | None) -> None:
        """Keep ``event`` for ``instance``: it failed (``failure``), or waits behind one."""
        self._seq += 1
        attempts = 1 if failure is not None and failure.counts else 0
        error = failure.reason if failure is not None else "waiting behind an earlier event"
        try:
            raw = json.dumps(event.serialize())
        except Exception as e:  # parsed from JSON, so only a mautrix quirk gets here
            log.error("cannot keep %s for a retry (%s); it is skipped", event.event_id, e)
            return
        row = PendingRow(
            instance.name, event.event_id, event.room_id, self._seq, raw, attempts, error
        )
        pending = _Pending(row, event, time.monotonic() + self._delay(attempts))
        if failure is not None:
            self.last_failure[instance.name] = failure.reason
        if failure is not None and failure.counts:
            self.metrics.events_retried.inc(instance.name)
            log.warning(
                "%s will retry %s (%s); %d tries left",
                instance.name,
                event.event_id,
                error,
                self.settings.attempts - attempts,
            )
        elif failure is not None:
            # One line per instance, not per event, while it is not running.
            level = logging.DEBUG if self.count(instance.name) else logging.WARNING
            log.log(
                level, "%s keeps %s until it runs again (%s)", instance.name, event.event_id, error
            )
        self._put(self.lane_of(instance.name, instance.ordered, event), pending)

    def load(self, rows: Iterable[PendingRow]) -> int:
        """Take over stored pending events (at start, or replayed); returns how many."""
        taken = 0
        for row in rows:
            if (row.instance, row.event_id) in self._known:
                continue
            try:
                event = parse_event(json.loads(row.event))
            except Exception as e:  # written by us, so only a hand-edited row gets here
                log.error("cannot read pending event %s: %s", row.event_id, e)
                continue
            inst = self.instances(row.instance)
            ordered = inst.ordered if inst is not None else True
            row.replayed = False
            self._put(self.lane_of(row.instance, ordered, event), _Pending(row, event))
            taken += 1
        return taken

    def _put(self, key: LaneKey, pending: _Pending) -> None:
        row = pending.row
        self._known.add((row.instance, row.event_id))
        self.metrics.events_pending.inc(row.instance)
        self.changes.keep(row)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
            lane.task = asyncio.create_task(self._work(key, lane), name=f"retry:{key}")
        lane.events.append(pending)
        self.on_change()

    def wake(self, instance: str) -> None:
        """Retry ``instance``'s first events now (it just started, perhaps fixed)."""
        for key, lane in self._lanes.items():
            if key[0] == instance:
                for pending in lane.events:
                    pending.due = 0.0
                lane.wake.set()

    def _delay(self, attempts: int) -> float:
        if attempts == 0:
            return 0.0
        return backoff(attempts, self.settings.first_delay, self.settings.max_delay, self._rand)

    async def _sleep(self, lane: _Lane, seconds: float) -> None:
        lane.wake.clear()
        try:
            async with asyncio.timeout(seconds):
                await lane.wake.wait()
        except TimeoutError:
            pass

    async def _work(self, key: LaneKey, lane: _Lane) -> None:
        try:
            while lane.events:
                head = lane.events[0]
                inst = self.instances(head.row.instance)
                if inst is None or inst.plugin is None:
                    if self._too_old(head, inst):
                        self._park(lane, head, "its instance did not run again in time")
                    else:
                        await self._sleep(lane, _NOT_RUNNING_CHECK)
                    continue
                wait = head.due - time.monotonic()
                if wait > 0:
                    await self._sleep(lane, wait)
                    continue
                try:
                    await self._try(lane, head, inst)
                except Exception:  # a bug in botkit: the lane must go on all the same
                    log.exception("retrying %s in %s failed", head.row.event_id, inst.name)
                    head.due = time.monotonic() + self.settings.max_delay
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    def _too_old(self, pending: _Pending, inst: PluginInstance | None) -> bool:
        age = (inst.catchup_age if inst is not None else None) or self.settings.max_age
        ts = pending.event.timestamp
        return isinstance(ts, int) and ts < (time.time() - age) * 1000

    async def _try(self, lane: _Lane, head: _Pending, inst: PluginInstance) -> None:
        row, event = head.row, head.event
        if not self.wants(inst, event):
            # The instance came back without a handler for it: nothing is left to do.
            self._done(lane, head)
            return
        reset = origin.set(Origin(inst.name, event.event_id))
        try:
            async with self.slot():
                failure = await inst.handle(event, retry=bool(row.attempts))
        except Exception as e:  # handle() guards each handler; this is a bug in botkit
            log.exception("handling %s in %s failed", event.event_id, inst.name)
            failure = Failure(f"{type(e).__name__}: {e}")
        finally:
            origin.reset(reset)
        if failure is None:
            if row.attempts:
                log.warning(
                    "%s handled %s after %d failed tries", inst.name, event.event_id, row.attempts
                )
            self._done(lane, head)
            return
        row.error = failure.reason
        self.last_failure[inst.name] = failure.reason
        if not failure.counts:
            self.changes.keep(row)
            self.on_change()
            return  # not running after all: the next turn waits for it
        row.attempts += 1
        if row.attempts >= self.settings.attempts:
            self._park(lane, head, failure.reason)
            return
        head.due = time.monotonic() + self._delay(row.attempts)
        self.metrics.events_retried.inc(inst.name)
        log.warning(
            "%s failed again on %s (%s); %d tries left",
            inst.name,
            event.event_id,
            failure.reason,
            self.settings.attempts - row.attempts,
        )
        self.changes.keep(row)
        self.on_change()

    def _done(self, lane: _Lane, head: _Pending) -> None:
        lane.events.popleft()
        self._forget(head.row)
        self.changes.done(head.row.instance, head.row.event_id)
        self.on_change()

    def _park(self, lane: _Lane, head: _Pending, reason: str) -> None:
        row = head.row
        lane.events.popleft()
        self._forget(row)
        letter = DeadLetter(
            row.instance, row.event_id, row.room_id, row.event, row.attempts, reason
        )
        self.changes.park(letter)
        self.metrics.dead_letters.inc(row.instance)
        self.dead_letters[row.instance] = self.dead_letters.get(row.instance, 0) + 1
        log.error(
            "%s gave up on %s after %d tries (%s); it is kept as a dead letter: "
            "`botkit replay %s %s` retries it",
            row.instance,
            row.event_id,
            row.attempts,
            reason,
            row.instance,
            row.event_id,
        )
        self.on_change()

    async def close(self) -> None:
        """Stop retrying; what is pending stays stored for the next start."""
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()
