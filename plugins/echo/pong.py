"""The pong: the answer to ``!ping``, as other echo bots and aggregators expect it.

The wire format (PROTOCOL.md §1) is shared with maubot's echo plugin and parsed by
pingstat-style aggregators, so the text and fields here are a contract, not style.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, TypeGuard

from mautrix.types import (
    EventID,
    Format,
    MessageEvent,
    MessageType,
    RoomID,
)

from botkit.relations import answer_relation, thread_root

__all__ = [
    "PONG_BODY",
    "PONG_REL_TYPE",
    "Pong",
    "build_pong",
    "format_duration",
    "parse_pong",
    "server_name",
]

PONG_REL_TYPE = "xyz.maubot.pong"
"""The ``rel_type`` of a pong's ``m.relates_to``: it points at the ping it answers."""

PONG_BODY = re.compile(r'^@.+:.+: Pong! \(ping (".+" )?took .+ to arrive\)$')
"""What aggregators match a pong notice's body against; our bodies must match it."""

QUOTE_CHARS = 20
"""How much of the ping's text the pong quotes back."""

# Matrix canonical JSON only carries integers in this range (spec: appendices,
# "Canonical JSON"); anything outside cannot be an honest latency.
_MAX_JSON_INT = 2**53 - 1
# Spec appendices, "Server Name": host (IPv4, [IPv6] or DNS name) and optional port.
# Checking it keeps hostile text out of the tables we render names into.
_SERVER_NAME = re.compile(r"(\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(:[0-9]{1,5})?")
_MAX_ID_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Pong:
    """One latency measurement: a pong seen in a room, ours or another echo bot's."""

    room_id: RoomID
    ping_event_id: EventID
    pinger_server: str
    """The server of whoever sent the ping (``pong.from``): the one the latency is credited to."""
    responder_server: str
    """The server of the bot that answered."""
    latency_ms: int
    timestamp_ms: int
    """The pong event's ``origin_server_ts``: what the statistics window is measured on."""


def server_name(user_id: str) -> str:
    """The server part of a Matrix user ID: everything after the first ``:``, port included."""
    return user_id.split(":", 1)[1]


def _plural(value: int, unit: str) -> str:
    return f"{value} {unit}" if value == 1 else f"{value} {unit}s"


def format_duration(ms: int) -> str:
    """Render a latency the way pongs show it (PROTOCOL.md §1).

    Under 10 s: ``"437 ms"``; under 60 s: seconds with one decimal (``"12.3 seconds"``);
    from a minute on, whole units down to seconds, largest first:
    ``"1 minute and 5 seconds"``, ``"1 hour, 0 minutes and 0 seconds"``,
    ``"2 days, 3 hours, 4 minutes and 5 seconds"``.

    Choices where the protocol is silent:

    * Every unit below the largest is printed, zeros included, so the sentence has the
      same shape as other echo bots' pongs in the same room.
    * Fractions are cut, not rounded (59 999 ms is ``"59.9 seconds"``, 119 999 ms
      is ``"1 minute and 59 seconds"``), so no branch ever prints the next branch's
      threshold (``"60.0 seconds"``, ``"60 seconds"``).
    * A negative latency (the pinger's clock is ahead of ours) keeps its sign in front
      of the magnitude's text: ``"-5 ms"``, ``"-1 minute and 5 seconds"``.
    """
    sign = "-" if ms < 0 else ""
    magnitude = abs(ms)
    if magnitude < 10_000:
        return f"{sign}{magnitude} ms"
    if magnitude < 60_000:
        tenths = magnitude // 100
        return f"{sign}{tenths // 10}.{tenths % 10} seconds"
    minutes, seconds = divmod(magnitude // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    units = [(days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second")]
    while units[0][0] == 0:
        units.pop(0)
    parts = [_plural(value, unit) for value, unit in units]
    return sign + ", ".join(parts[:-1]) + " and " + parts[-1]


def build_pong(ping: MessageEvent, *, now_ms: int, text: str | None) -> dict[str, Any]:
    """The content (JSON) of the notice answering ``ping``, handled at ``now_ms`` (wall clock).

    ``text`` is what followed ``!ping``; its first 20 characters are quoted back (cut
    before HTML escaping, so an escape sequence is never split), line breaks as spaces.
    """
    latency = now_ms - ping.timestamp
    duration = format_duration(latency)
    sender = ping.sender
    # Line breaks become spaces: aggregators' pattern matches one line, and a pong
    # they cannot read is a measurement lost.
    quote = " ".join(text.splitlines())[:QUOTE_CHARS] if text else ""
    took = f'"{quote}" took' if quote else "took"
    html_took = f'"{html.escape(quote)}" took' if quote else "took"
    # Escaping changes nothing in today's IDs, but historical user IDs may hold ' or <.
    user = html.escape(sender)
    ping_link = html.escape(f"https://matrix.to/#/{ping.room_id}/{ping.event_id}")
    pinger = server_name(sender)
    # Plain JSON: mautrix's RelatesTo has no room for the extra "from" and "ms", and
    # building mautrix objects only to serialize them again costs more than the rest.
    return {
        "msgtype": MessageType.NOTICE.value,
        "format": Format.HTML.value,
        "body": f"{sender}: Pong! (ping {took} {duration} to arrive)",
        "formatted_body": (
            f"<a href='https://matrix.to/#/{user}'>{user}</a>: Pong! "
            f"(<a href='{ping_link}'>ping</a> {html_took} {duration} to arrive)"
        ),
        "pong": {"ms": latency, "from": pinger, "ping": ping.event_id},
        "m.relates_to": _pong_relation(ping, pinger, latency),
        # The body names the pinger, so the pong mentions them (spec v1.7).
        "m.mentions": {"user_ids": [sender]},
    }


def _pong_relation(ping: MessageEvent, pinger: str, latency: int) -> dict[str, Any]:
    """The pong's ``m.relates_to``: it can hold one relation.

    In a thread, the thread's (as maubot does), with ``from`` and ``ms`` kept in it;
    the top-level ``pong`` field still carries the measurement for aggregators.
    """
    relation = answer_relation(ping) if thread_root(ping) else None
    if relation is None:
        relation = {"rel_type": PONG_REL_TYPE, "event_id": ping.event_id}
    return {**relation, "from": pinger, "ms": latency}


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass, but JSON true is not a latency.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_server_name(value: object) -> TypeGuard[str]:
    return (
        isinstance(value, str)
        and len(value) <= _MAX_ID_LENGTH
        and _SERVER_NAME.fullmatch(value) is not None
    )


def parse_pong(event: MessageEvent) -> Pong | None:
    """The measurement in ``event`` if it is a pong from any echo bot, else ``None``.

    A pong is an ``m.notice`` whose body matches :data:`PONG_BODY` and whose ``pong``
    field holds an integer ``ms``, a server name ``from`` and an event ID ``ping``.
    Content comes from other people's bots, so anything malformed gives ``None``.
    """
    # Most messages are no notices: say so before paying for serialize().
    if getattr(event.content, "msgtype", None) != MessageType.NOTICE:
        return None
    try:
        content: Any = event.content.serialize()
    except (AttributeError, TypeError, ValueError):
        return None
    if not isinstance(content, dict) or content.get("msgtype") != MessageType.NOTICE.value:
        return None
    body = content.get("body")
    if not isinstance(body, str) or PONG_BODY.fullmatch(body) is None:
        return None
    data = content.get("pong")
    if not isinstance(data, dict):
        return None
    ms, pinger, ping_id = data.get("ms"), data.get("from"), data.get("ping")
    sender, room_id, timestamp = event.sender, event.room_id, event.timestamp
    if not (_is_int(ms) and abs(ms) <= _MAX_JSON_INT and _is_server_name(pinger)):
        return None
    if not (isinstance(ping_id, str) and ping_id.startswith("$")):
        return None
    if len(ping_id) > _MAX_ID_LENGTH or not isinstance(sender, str) or ":" not in sender:
        return None
    responder = server_name(sender)
    if not (_is_server_name(responder) and isinstance(room_id, str) and _is_int(timestamp)):
        return None
    return Pong(
        room_id=RoomID(room_id),
        ping_event_id=EventID(ping_id),
        pinger_server=pinger,
        responder_server=responder,
        latency_ms=ms,
        timestamp_ms=timestamp,
    )
