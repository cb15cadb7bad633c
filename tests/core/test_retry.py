"""Retries in the pipeline: order where it is kept, backpressure, parking, restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
from mautrix.types import Event

from botkit.instance import Failure, PluginInstance
from botkit.pipeline import Pipeline
from botkit.retry import RetrySettings
from botkit.state import StateStore
from botkit.storage import Storage, create_engine, migrate
from botkit.testing.talk import eventually
from tests.core.test_pipeline import ROOM_B, FakeInstance, jobs, message

FAST = RetrySettings(attempts=1000, first_delay=0.01, max_delay=0.05)


class Flaky(FakeInstance):
    """Fails on the events in ``failing`` until they are removed from it."""

    def __init__(self, name: str, *, ordered: bool = True) -> None:
        super().__init__(name, ordered=ordered)
        self.failing: set[str] = set()
        self.tries: dict[str, int] = {}

    async def handle(self, event: Event, *, retry: bool = False) -> Failure | None:  # type: ignore[override]
        self.tries[event.event_id] = self.tries.get(event.event_id, 0) + 1
        if event.event_id in self.failing:
            return Failure("the database refuses writes")
        await super().handle(event)
        return None


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    state = StateStore(engine, "@bot:example.org")
    await state.setup()
    yield state
    await engine.dispose()


def pipeline_for(
    store: StateStore, *instances: FakeInstance, max_pending: int = 10, retry: RetrySettings = FAST
) -> Pipeline:
    known = {i.name: cast(PluginInstance, i) for i in instances}
    return Pipeline(
        store,
        max_pending,
        retry=retry,
        instances=known.get,
        wants=lambda inst, event: cast(FakeInstance, inst).wants(event),
    )


async def test_later_events_of_an_ordered_lane_wait_without_holding_up_the_sync(
    store: StateStore,
) -> None:
    inst, other = Flaky("p"), Flaky("q")
    inst.failing.add("e0")
    pipeline = pipeline_for(store, inst, other, max_pending=2)
    try:
        await pipeline.submit("t1", jobs((inst, message("e0"))))
        # Many more than max_pending behind it: submitting must not wait for the retry.
        later = [message(f"e{n}") for n in range(1, 8)]
        await pipeline.submit("t2", jobs(*((inst, e) for e in later), (other, message("o1"))))
        await pipeline.submit("t3", jobs((inst, message("b1", ROOM_B))))
        await eventually(lambda: inst.handled == ["b1"] and other.handled == ["o1"])
        assert await pipeline.drain(5)
        await pipeline.flush()
        assert await store.get("sync_token") == "t3"
        await eventually(lambda: inst.tries["e0"] >= 3, what="retries")
        assert inst.handled == ["b1"]
        inst.failing.clear()
        await eventually(lambda: len(inst.handled) == 9)
        assert inst.handled == ["b1", "e0", *(e.event_id for e in later)]
        assert inst.tries["e1"] == 1  # waiting behind is not a try
    finally:
        await pipeline.close()


async def test_an_unordered_instance_retries_an_event_on_its_own(store: StateStore) -> None:
    pinger = Flaky("echo", ordered=False)
    pinger.failing.add("a1")
    pipeline = pipeline_for(store, pinger)
    try:
        await pipeline.submit("t1", jobs((pinger, message("a1")), (pinger, message("a2"))))
        await eventually(lambda: pinger.handled == ["a2"] and pinger.tries["a1"] >= 2)
        pinger.failing.clear()
        await eventually(lambda: pinger.handled == ["a2", "a1"])
    finally:
        await pipeline.close()


async def test_an_event_failing_every_try_is_parked_and_its_lane_goes_on(
    store: StateStore,
) -> None:
    inst = Flaky("p")
    inst.failing.add("bad")
    pipeline = pipeline_for(store, inst, retry=RetrySettings(3, 0.01, 0.05))
    try:
        await pipeline.submit("t1", jobs((inst, message("bad")), (inst, message("good"))))
        await eventually(lambda: inst.handled == ["good"])
        assert inst.tries["bad"] == 3
        await pipeline.flush()
        assert [(d.event_id, d.attempts) for d in await store.dead_letters()] == [("bad", 3)]
        assert await store.pending() == []
        assert await store.handled_among(["bad", "good"]) == {("p", "good")}
    finally:
        await pipeline.close()


async def test_pending_events_are_taken_over_by_the_next_run_and_handled_once(
    store: StateStore,
) -> None:
    first = Flaky("p")
    first.failing.add("e1")
    pipeline = pipeline_for(store, first)
    await pipeline.submit("t1", jobs((first, message("e1")), (first, message("e2"))))
    assert await pipeline.drain(5)
    await pipeline.close()
    await pipeline.flush()
    assert first.handled == []

    again = Flaky("p")
    pipeline = pipeline_for(store, again)
    try:
        assert await pipeline.load_pending() == 2
        # The homeserver redelivers e2 (a crash before the token was stored): one handling.
        await pipeline.submit("t2", jobs((again, message("e2"))))
        await eventually(lambda: again.handled == ["e1", "e2"])
        assert await pipeline.drain(5)
        await pipeline.flush()
        assert await store.pending() == []
        assert again.tries == {"e1": 1, "e2": 1}
    finally:
        await pipeline.close()


async def test_events_of_an_instance_that_never_runs_again_are_parked_when_too_old(
    store: StateStore,
) -> None:
    gone = Flaky("gone")
    gone.plugin = None
    pipeline = pipeline_for(store, gone, retry=RetrySettings(8, 0.01, 0.05, max_age=3600))
    try:
        fresh = message("fresh")
        fresh.timestamp = int(time.time() * 1000)
        # message() events are from 1970: older than any catch-up age.
        pipeline.retries.add(cast(PluginInstance, gone), message("old"), Failure("stopped", False))
        pipeline.retries.add(cast(PluginInstance, gone), fresh, None)
        await eventually(lambda: pipeline.retries.dead_letters.get("gone") == 1)
        assert ("gone", "fresh") in pipeline.retries
    finally:
        await pipeline.close()


async def test_a_version_1_state_database_is_upgraded(tmp_path: Path) -> None:
    from botkit import state

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await migrate(Storage(engine, "botkit"), [state._v1])  # as botkit before retries
        store = StateStore(engine, "@bot:example.org")
        await store.setup()
        assert await store.pending() == [] and await store.dead_letters() == []
    finally:
        await engine.dispose()


class Busy(Flaky):
    """A Flaky whose failures take a moment, counting how many run at once."""

    def __init__(self, name: str, *, ordered: bool = True) -> None:
        super().__init__(name, ordered=ordered)
        self.running = 0
        self.most = 0

    async def handle(self, event: Event, *, retry: bool = False) -> Failure | None:  # type: ignore[override]
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(0.01)  # the work a failing handler does before it fails
            return await super().handle(event, retry=retry)
        finally:
            self.running -= 1


async def test_retries_count_against_max_pending(store: StateStore) -> None:
    pinger = Busy("echo", ordered=False)
    events = [message(f"p{n}") for n in range(8)]
    pinger.failing.update(e.event_id for e in events)
    pipeline = pipeline_for(store, pinger, max_pending=2)
    try:
        await pipeline.submit("t1", jobs(*((pinger, e) for e in events)))
        await eventually(lambda: all(pinger.tries.get(e.event_id, 0) >= 3 for e in events))
        # Eight lanes retry side by side, but never more than two handlers at once.
        assert pinger.most == 2
        pinger.failing.clear()
        await eventually(lambda: len(pinger.handled) == 8)
        assert await pipeline.drain(5)
    finally:
        await pipeline.close()


async def test_an_instance_that_starts_again_is_retried_at_once(store: StateStore) -> None:
    inst = Flaky("p")
    inst.failing.add("e1")
    # A backoff far longer than the test: only the wake-up can retry in time.
    pipeline = pipeline_for(store, inst, retry=RetrySettings(8, 3600.0, 3600.0))
    try:
        await pipeline.submit("t1", jobs((inst, message("e1"))))
        await eventually(lambda: inst.tries.get("e1") == 1)
        inst.failing.clear()  # fixed, and reloaded:
        pipeline.retries.wake("p")
        await eventually(lambda: inst.handled == ["e1"], timeout=10)
    finally:
        await pipeline.close()
