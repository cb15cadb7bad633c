"""The pong: the answer to ``!ping``, as other echo bots and aggregators expect it.

The wire format (PROTOCOL.md §1) is shared with maubot's echo plugin and parsed by
pingstat-style aggregators, so the text and fields here are a contract, not style.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeGuard

from mautrix.types import (
    EventID,
    Format,
    MessageEvent,
    MessageType,
    RoomID,
)

from .duration import format_duration

__all__ = [
    "PONG_BODY",
    "PONG_REL_TYPE",
    "Pong",
    "Refusal",
    "build_pong",
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


class Refusal(StrEnum):
    """Why a notice in the pong format does not count; the label of the refused-pongs metric.

    The first ones are botkit's deliberate strictness where pingstat accepts
    anything (PROTOCOL.md §1 names the types); the last ones come from checking
    the pong against its ping (:mod:`.verify`).
    """

    NO_DATA = "no_data"
    """No ``pong`` object."""
    BAD_MS = "bad_ms"
    """``ms`` is not a JSON integer (a string, a fraction, a boolean, too large)."""
    BAD_FROM = "bad_from"
    """``from`` is not a server name (HTML, spaces, too long)."""
    BAD_PING = "bad_ping"
    """``ping`` is not an event ID (no ``$``, too long)."""
    BAD_SENDER = "bad_sender"
    """The responding bot's user ID has no server name botkit can show."""
    UNKNOWN_PING = "unknown_ping"
    """No such event in the room."""
    WRONG_SERVER = "wrong_server"
    """The ping was sent from another server than the ``from`` the pong credits."""
    LOOKUP_FAILED = "lookup_failed"
    """The homeserver could not say whether the ping exists (it is asked again)."""
    LOOKUP_LIMIT = "lookup_limit"
    """Too many unknown pings in the room lately to ask about this one."""


def server_name(user_id: str) -> str:
    """The server part of a Matrix user ID: everything after the first ``:``, port included."""
    return user_id.split(":", 1)[1]


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
        "m.relates_to": {
            "rel_type": PONG_REL_TYPE,
            "event_id": ping.event_id,
            "from": pinger,
            "ms": latency,
        },
    }


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass, but JSON true is not a latency.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_server_name(value: object) -> TypeGuard[str]:
    return (
        isinstance(value, str)
        and len(value) <= _MAX_ID_LENGTH
        and _SERVER_NAME.fullmatch(value) is not None
    )


def parse_pong(event: MessageEvent) -> Pong | Refusal | None:
    """The measurement in ``event`` if it is a pong from any echo bot, else ``None``.

    A pong is an ``m.notice`` whose body matches :data:`PONG_BODY` and whose ``pong``
    field holds an integer ``ms``, a server name ``from`` and an event ID ``ping``.
    Content comes from other people's bots: a notice in the pong format whose
    fields are malformed gives the :class:`Refusal` that says why.
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
        return Refusal.NO_DATA
    ms, pinger, ping_id = data.get("ms"), data.get("from"), data.get("ping")
    sender, room_id, timestamp = event.sender, event.room_id, event.timestamp
    if not (_is_int(ms) and abs(ms) <= _MAX_JSON_INT):
        return Refusal.BAD_MS
    if not _is_server_name(pinger):
        return Refusal.BAD_FROM
    if not (
        isinstance(ping_id, str) and ping_id.startswith("$") and len(ping_id) <= _MAX_ID_LENGTH
    ):
        return Refusal.BAD_PING
    if not (isinstance(sender, str) and ":" in sender and _is_server_name(server_name(sender))):
        return Refusal.BAD_SENDER
    if not (isinstance(room_id, str) and _is_int(timestamp)):
        return None  # not what a homeserver sends: no pong of anyone's
    return Pong(
        room_id=RoomID(room_id),
        ping_event_id=EventID(ping_id),
        pinger_server=pinger,
        responder_server=server_name(sender),
        latency_ms=ms,
        timestamp_ms=timestamp,
    )
