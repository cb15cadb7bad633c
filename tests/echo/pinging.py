"""Pinging an echo bot from a test client, and playing another echo bot."""

from __future__ import annotations

from typing import Any, NamedTuple

from mautrix.types import (
    Event,
    EventType,
    MessageEvent,
    MessageType,
    RoomID,
    TextMessageEventContent,
    UserID,
)

from botkit.testing.matrix import TestClient

__all__ = ["Ping", "Row", "content_of", "other_bots_pong", "ping", "send_content", "table_rows"]


class Ping(NamedTuple):
    """A ping as the pinger's client saw it, and the bot's pong to it."""

    ping: MessageEvent
    pong: MessageEvent

    @property
    def ms(self) -> int:
        """The latency the pong reports."""
        return int(content_of(self.pong)["pong"]["ms"])


class Row(NamedTuple):
    """One line of ``!pingstats``' plain-text table."""

    rank: int
    server: str
    median: float
    pings: int


def content_of(event: MessageEvent) -> dict[str, Any]:
    """The event's content as the JSON that was sent."""
    content = event.content.serialize()
    assert isinstance(content, dict)
    return content


async def ping(
    client: TestClient,
    room: RoomID,
    bot: UserID,
    body: str = "!ping",
    timeout: float = 30.0,  # noqa: ASYNC109 - a deadline, so that a test never hangs
) -> Ping:
    """Send ``body`` and wait for ``bot``'s pong that answers it."""
    ping_id = await client.send_text(room, body)

    def answers(event: Event) -> bool:
        if not (isinstance(event, MessageEvent) and event.sender == bot):
            return False
        data = content_of(event).get("pong")
        return event.room_id == room and isinstance(data, dict) and data.get("ping") == ping_id

    pong = await client.wait_for(answers, timeout)
    sent = await client.wait_for(lambda event: event.event_id == ping_id, timeout)
    assert isinstance(pong, MessageEvent) and isinstance(sent, MessageEvent)
    return Ping(sent, pong)


def other_bots_pong(ping: MessageEvent, ms: int) -> TextMessageEventContent:
    """The pong another echo bot (maubot's, say) would send for ``ping``, PROTOCOL.md §1."""
    pinger = ping.sender.split(":", 1)[1]
    content = TextMessageEventContent(
        msgtype=MessageType.NOTICE, body=f"{ping.sender}: Pong! (ping took {ms} ms to arrive)"
    )
    content["pong"] = {"ms": ms, "from": pinger, "ping": ping.event_id}
    content["m.relates_to"] = {
        "rel_type": "xyz.maubot.pong",
        "event_id": ping.event_id,
        "from": pinger,
        "ms": ms,
    }
    return content


async def send_content(client: TestClient, room: RoomID, content: TextMessageEventContent) -> None:
    """Send a prepared ``m.room.message``."""
    await client.client.send_message_event(room, EventType.ROOM_MESSAGE, content)


def table_rows(body: str) -> list[Row]:
    """The rows of ``!pingstats``' answer: a title line, a header line, then one per server."""
    lines = body.splitlines()
    assert lines[1].split() == ["Rank", "Server", "Median", "ms", "Pings"]
    rows = []
    for line in lines[2:]:
        rank, server, median, pings = line.split()
        rows.append(Row(int(rank), server, float(median), int(pings)))
    return rows
