"""Talking to a bot from a :class:`~botkit.testing.matrix.TestClient`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from mautrix.types import Event, EventType, Membership, MessageEvent, RoomID, StateEvent, UserID

from .matrix import TestClient

__all__ = ["answers_from", "ask", "eventually", "wait_joined"]


async def ask(
    client: TestClient,
    room: RoomID,
    bot: UserID,
    body: str,
    expect: str,
    timeout: float = 30.0,  # noqa: ASYNC109 - a deadline, so that a test never hangs
) -> MessageEvent:
    """Send ``body``; the first message from ``bot`` after it whose body contains ``expect``."""
    seen = {e.event_id for e in client.events}
    await client.send_text(room, body)

    def answer(evt: Event) -> bool:
        return (
            isinstance(evt, MessageEvent)
            and evt.room_id == room
            and evt.sender == bot
            and evt.event_id not in seen
            and expect in str(getattr(evt.content, "body", ""))
        )

    found = await client.wait_for(answer, timeout)
    assert isinstance(found, MessageEvent)
    return found


async def wait_joined(
    client: TestClient,
    room: RoomID,
    user: UserID,
    timeout: float = 30.0,  # noqa: ASYNC109 - as in ask
) -> None:
    """Wait until ``user`` is seen joining ``room``."""

    def joined(evt: Event) -> bool:
        return (
            isinstance(evt, StateEvent)
            and evt.room_id == room
            and evt.type == EventType.ROOM_MEMBER
            and evt.state_key == user
            and getattr(evt.content, "membership", None) == Membership.JOIN
        )

    await client.wait_for(joined, timeout)


def answers_from(client: TestClient, room: RoomID, sender: UserID) -> list[str]:
    """The bodies of every message ``sender`` sent in ``room`` that ``client`` saw, in order."""
    return [
        str(getattr(e.content, "body", ""))
        for e in client.events
        if isinstance(e, MessageEvent) and e.room_id == room and e.sender == sender
    ]


async def eventually(
    condition: Callable[[], bool],
    timeout: float = 30.0,  # noqa: ASYNC109 - as in ask
    what: str = "condition",
) -> None:
    """Wait until ``condition()`` is true, checking often; ``TimeoutError`` past the deadline.

    For states that have no event to wait on (a health flag, a counter).
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout} s")
        await asyncio.sleep(0.02)
