"""Who gets which event: the one place that turns received events into handler jobs.

Whatever brought the events (a ``/sync`` answer, see :mod:`botkit.sync`, or an
application-service transaction, see :mod:`botkit.appservice`), the same rules
decide which plugin instance handles which of them:

* an event older than an instance's catch-up age (its own, or
  ``sync.max_catchup_age``) is skipped for it, and counted;
* an event an instance already handled (its record in ``botkit_handled``) is
  skipped for it: so a batch redelivered after a crash is handled once;
* event and passive handlers see only the rooms the plugin :meth:`~botkit.plugin.Plugin.watches`;
* a message reaches an instance with only commands when it names one of them;
* a room's history (see :mod:`botkit.history`) goes only to plugins with a
  catch-up age of their own, and runs no command.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mautrix.types import Event, MessageEvent

from .events import parse_event
from .instance import InstanceState, PluginInstance
from .metrics import Metrics
from .state import StateStore

__all__ = ["Job", "Router", "wants", "wants_history"]

log = logging.getLogger("botkit.routing")

#: One event for one instance to handle.
Job = tuple[PluginInstance, Event]


def wants(inst: PluginInstance, event: Event) -> bool:
    """Whether any handler of ``inst`` would see ``event``.

    A message reaches an instance with only commands when it names one of them
    (or a group of them), and event and passive handlers see only the rooms the
    plugin :meth:`~botkit.plugin.Plugin.watches`: most messages concern one plugin, and a job
    per message and instance is most of the cost of dispatch. While the instance
    restarts its next handlers are unknown, so it gets every message.
    """
    table = inst.table
    if inst.state is InstanceState.FAILED and not (table.events or table.wants_messages):
        # Failed before it ever ran: which events it wants is unknown, and the
        # ones it would have wanted must wait for it (see botkit.retry).
        return True
    events = table.events
    watched = inst.watching(event.room_id)
    if watched and (event.type.t in events or "*" in events):
        return True
    if not (table.wants_messages and isinstance(event, MessageEvent)):
        return False
    if not inst.gate.is_set():
        return True
    words = inst.host.command_words(event, emotes=inst.emote_commands)
    if words is None:
        return False
    if watched and table.passives:
        return True
    return bool(words) and (table.find(words)[0] is not None or table.has_group(words[0]))


def wants_history(inst: PluginInstance, event: Event) -> bool:
    """Whether event or passive handlers of ``inst`` would see ``event`` as history.

    Only a plugin with a catch-up age of its own gets a room's history, and no
    command runs from it (see :mod:`botkit.history`).
    """
    if inst.catchup_age is None or not inst.watching(event.room_id):
        return False
    events = inst.table.events
    if event.type.t in events or "*" in events:
        return True
    return (
        bool(inst.table.passives)
        and isinstance(event, MessageEvent)
        and inst.host.command_words(event) is not None
    )


class Router:
    """Turns raw events into jobs, for the instances running now."""

    def __init__(
        self,
        store: StateStore,
        instances: Callable[[], Sequence[PluginInstance]],
        max_catchup_age_s: float,
        metrics: Metrics,
    ) -> None:
        self.store = store
        self.instances = instances
        self.max_catchup_age_s = max_catchup_age_s
        self.metrics = metrics

    def age(self, inst: PluginInstance) -> float:
        """How old (in seconds) an event may be for ``inst`` to still handle it."""
        return inst.catchup_age or self.max_catchup_age_s

    def oldest_wanted_ms(self) -> float:
        """The time (ms) before which no instance wants events: how far back to fetch."""
        ages = [self.age(inst) for inst in self.instances()] or [self.max_catchup_age_s]
        return (time.time() - max(ages)) * 1000

    async def route(
        self,
        raw_events: Iterable[dict[str, Any]],
        raw_history: Iterable[dict[str, Any]] = (),
        *,
        recovering: bool = True,
    ) -> list[Job]:
        """The jobs for ``raw_events`` (each with its ``room_id``) and a room's history.

        With ``recovering`` (after a start, a gap, a redelivery), the handled
        records are looked up, so that no instance handles an event twice.
        """
        instances = self.instances()
        now_ms = time.time() * 1000
        oldest = {inst.name: now_ms - self.age(inst) * 1000 for inst in instances}
        events = self._parse(raw_events, min(oldest.values(), default=now_ms))
        collectors = [inst for inst in instances if inst.catchup_age is not None]
        history = self._parse(
            raw_history, min((oldest[inst.name] for inst in collectors), default=now_ms)
        )
        already: set[tuple[str, str]] = set()
        if recovering and (events or history):
            already = await self.store.handled_among(e.event_id for e in [*history, *events])
        jobs: list[Job] = []
        too_old = 0
        # History first: each lane handles a room's events in order.
        for event in history:
            for inst in collectors:
                if (inst.name, event.event_id) in already or not wants_history(inst, event):
                    continue
                ts = event.timestamp
                if isinstance(ts, int) and ts < oldest[inst.name]:
                    too_old += 1
                    continue
                inst.mark_history(event.event_id)
                jobs.append((inst, event))
        for event in events:
            for inst in instances:
                if not wants(inst, event) or (inst.name, event.event_id) in already:
                    continue
                ts = event.timestamp
                if isinstance(ts, int) and ts < oldest[inst.name]:
                    too_old += 1
                    continue
                jobs.append((inst, event))
        if too_old:
            self.metrics.events_skipped.inc("too old", too_old)
        if already:
            log.info("skipped %d events handled before a restart", len(already))
            self.metrics.events_skipped.inc("already handled", len(already))
        return jobs

    def _parse(self, raw_events: Iterable[dict[str, Any]], oldest: float) -> list[Event]:
        """Events as mautrix objects, without malformed ones and those older than ``oldest`` ms."""
        seen: set[str] = set()
        parsed: list[Event] = []
        too_old = 0
        for raw in raw_events:
            self.metrics.events_received.inc()
            event_id = raw.get("event_id")
            # mautrix accepts a missing or null type, and an event without a type
            # would break dispatch: it is malformed here.
            if (
                not isinstance(event_id, str)
                or event_id in seen
                or not isinstance(raw.get("type"), str)
            ):
                self.metrics.events_skipped.inc("malformed")
                continue
            seen.add(event_id)
            ts = raw.get("origin_server_ts")
            if isinstance(ts, int) and ts < oldest:
                too_old += 1
                continue
            try:
                event = parse_event(raw)
            except Exception as e:
                log.warning("skipping malformed event %s: %s", event_id[:80], e)
                self.metrics.events_skipped.inc("malformed")
                continue
            parsed.append(event)
        if too_old:
            log.info("skipped %d events older than every plugin's catch-up age", too_old)
            self.metrics.events_skipped.inc("too old", too_old)
        return parsed
