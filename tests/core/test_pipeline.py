"""The pipeline: per-(instance, room) order, backpressure, and which sync token may be stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
from mautrix.types import Event

from botkit.instance import PluginInstance
from botkit.pipeline import Pipeline
from botkit.state import StateStore
from botkit.storage import create_engine
from botkit.testing.talk import eventually

ROOM_A = "!a:example.org"
ROOM_B = "!b:example.org"


class FakeInstance:
    """What the pipeline uses of a plugin instance: a name and ``handle``.

    Events whose ID was passed to :meth:`hold` wait in ``handle`` until released.
    """

    # What the retries use besides: whether it runs, its catch-up age, what it wants.
    plugin = object()
    catchup_age = None

    def __init__(self, name: str, *, ordered: bool = True) -> None:
        self.name = name
        self.ordered = ordered
        self.started: list[str] = []
        self.handled: list[str] = []
        self._gates: dict[str, asyncio.Event] = {}

    def hold(self, *event_ids: str) -> None:
        for event_id in event_ids:
            self._gates[event_id] = asyncio.Event()

    def release(self, event_id: str) -> None:
        self._gates[event_id].set()

    def wants(self, event: Event) -> bool:
        return True

    async def handle(self, event: Event, *, retry: bool = False) -> None:
        self.started.append(event.event_id)
        gate = self._gates.get(event.event_id)
        if gate is not None:
            await gate.wait()
        self.handled.append(event.event_id)


class FailingInstance(FakeInstance):
    async def handle(self, event: Event, *, retry: bool = False) -> None:
        raise RuntimeError("a bug in botkit")


def message(event_id: str, room: str = ROOM_A) -> Event:
    event: Event = Event.deserialize(
        {
            "type": "m.room.message",
            "room_id": room,
            "event_id": event_id,
            "sender": "@alice:example.org",
            "origin_server_ts": 1,
            "content": {"msgtype": "m.text", "body": event_id},
        }
    )
    return event


def committable(pipeline: Pipeline) -> tuple[list[tuple[str, str]], str | None]:
    """The handled records and the token the next write would store."""
    changes, token = pipeline.take_committable()
    return changes.handled, token


def jobs(*pairs: tuple[FakeInstance, Event]) -> list[tuple[PluginInstance, Event]]:
    # The pipeline calls only .name and .handle(); the fakes provide exactly those.
    return [(cast(PluginInstance, inst), event) for inst, event in pairs]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    state = StateStore(engine, "@bot:example.org")
    await state.setup()
    yield state
    await engine.dispose()


@pytest.fixture
async def pipeline(store: StateStore) -> AsyncIterator[Pipeline]:
    pipe = Pipeline(store, max_pending=10)
    yield pipe
    await pipe.close()


async def test_an_instance_handles_each_rooms_events_in_order(pipeline: Pipeline) -> None:
    slow, other = FakeInstance("slow"), FakeInstance("other")
    slow.hold("a1")
    a1, a2, a3, b1 = message("a1"), message("a2"), message("a3"), message("b1", ROOM_B)
    await pipeline.submit("t1", jobs((slow, a1), (slow, a2), (slow, a3), (slow, b1), (other, a1)))
    # A held event holds up only its own lane: other rooms, other instances go on.
    await eventually(lambda: slow.handled == ["b1"] and other.handled == ["a1"])
    assert slow.started == ["a1", "b1"]
    slow.release("a1")
    await eventually(lambda: slow.handled == ["b1", "a1", "a2", "a3"])


async def test_an_unordered_instance_handles_a_rooms_events_side_by_side(
    pipeline: Pipeline,
) -> None:
    pinger = FakeInstance("echo", ordered=False)
    pinger.hold("a1")
    await pipeline.submit("t1", jobs((pinger, message("a1")), (pinger, message("a2"))))
    # a2 need not wait for a1: a slow pong holds up no other pong.
    await eventually(lambda: pinger.handled == ["a2"])
    pinger.release("a1")
    await eventually(lambda: pinger.handled == ["a2", "a1"])


async def test_submit_waits_while_max_pending_events_are_unfinished(store: StateStore) -> None:
    pipeline = Pipeline(store, max_pending=2)
    inst = FakeInstance("p")
    inst.hold("e1", "e2")
    try:
        submitting = asyncio.create_task(
            pipeline.submit(
                "t1",
                jobs((inst, message("e1")), (inst, message("e2", ROOM_B)), (inst, message("e3"))),
            )
        )
        await eventually(lambda: inst.started == ["e1", "e2"])
        assert pipeline.pending == 2
        assert not submitting.done()
        inst.release("e2")
        async with asyncio.timeout(10):
            await submitting
        inst.release("e1")
        await eventually(lambda: pipeline.pending == 0)
        assert inst.handled == ["e2", "e1", "e3"]
    finally:
        await pipeline.close()


async def test_a_token_is_committable_once_its_batch_and_every_earlier_one_is_done(
    pipeline: Pipeline, store: StateStore
) -> None:
    inst = FakeInstance("p")
    inst.hold("e1")
    await pipeline.submit("t1", jobs((inst, message("e1"))))
    await pipeline.submit("t2", jobs((inst, message("e2", ROOM_B))))
    await pipeline.submit("t3", [])
    await eventually(lambda: inst.handled == ["e2"])
    # t2's own event is done, but t1's is not: storing t2 could lose e1 in a crash.
    assert committable(pipeline) == ([("p", "e2")], None)
    inst.release("e1")
    assert await pipeline.drain(10)
    assert committable(pipeline) == ([("p", "e1")], "t3")
    assert committable(pipeline) == ([], None)


async def test_flush_records_the_handled_events_and_the_token(
    pipeline: Pipeline, store: StateStore
) -> None:
    inst = FakeInstance("p")
    inst.hold("e2")
    await pipeline.submit("t1", jobs((inst, message("e1"))))
    await pipeline.submit("t2", jobs((inst, message("e2"))))
    await eventually(lambda: inst.handled == ["e1"])
    await pipeline.flush()
    assert await store.get("sync_token") == "t1"
    assert await store.handled_among(["e1", "e2"]) == {("p", "e1")}
    inst.release("e2")
    assert await pipeline.drain(10)
    await pipeline.flush()
    assert await store.get("sync_token") == "t2"
    assert await store.handled_among(["e1", "e2"]) == {("p", "e1"), ("p", "e2")}


async def test_an_event_whose_handling_raised_is_kept_for_a_retry(
    store: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    broken = FailingInstance("broken")
    pipeline = Pipeline(
        store,
        10,
        instances={"broken": cast(PluginInstance, broken)}.get,
        wants=lambda inst, event: True,
    )
    await pipeline.submit("t1", jobs((broken, message("e1"))))
    assert await pipeline.drain(10)
    await pipeline.flush()
    # Not handled, but pending, in the same write as the token: the token may move on.
    assert await store.get("sync_token") == "t1"
    assert await store.handled_among(["e1"]) == set()
    assert [(r.instance, r.event_id) for r in await store.pending()] == [("broken", "e1")]
    assert "handling e1 in broken failed" in caplog.text
    await pipeline.close()


async def test_drain_gives_up_after_its_deadline(pipeline: Pipeline) -> None:
    inst = FakeInstance("p")
    inst.hold("e1")
    await pipeline.submit("t1", jobs((inst, message("e1"))))
    assert not await pipeline.drain(0.05)
    assert pipeline.pending == 1
    inst.release("e1")
    assert await pipeline.drain(10)


async def test_an_event_cut_off_by_closing_keeps_its_token_from_being_stored(
    pipeline: Pipeline, store: StateStore
) -> None:
    inst = FakeInstance("p")
    inst.hold("e1")
    await pipeline.submit("t1", jobs((inst, message("e1"))))
    await eventually(lambda: inst.started == ["e1"])
    await pipeline.close()  # the bot stops before e1 is done
    await pipeline.flush()
    assert await store.get("sync_token") is None
    assert await store.handled_among(["e1"]) == set()
