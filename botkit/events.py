"""Events from the wire as mautrix objects, with a quick path for plain text messages.

mautrix reads every event by reflecting over its attrs classes, which costs more
than anything else botkit does per event (about 70 µs of CPU for a ``!ping``).
Most events a bot sees are plain text messages: :func:`parse_event` builds those
directly, as mautrix would build them, and hands everything else to mautrix.
``tests/core/test_events.py`` holds the two paths to the same result.
"""

from __future__ import annotations

from typing import Any, cast

from mautrix.types import (
    Event,
    EventID,
    EventType,
    Format,
    MessageEvent,
    MessageType,
    MessageUnsigned,
    RoomID,
    TextMessageEventContent,
    UserID,
)

__all__ = ["parse_event"]

_TEXT_TYPES = {t.value: t for t in (MessageType.TEXT, MessageType.NOTICE, MessageType.EMOTE)}
_EVENT_KEYS = frozenset(
    {"type", "room_id", "event_id", "sender", "origin_server_ts", "content", "unsigned"}
)
_CONTENT_KEYS = frozenset({"msgtype", "body", "format", "formatted_body", "external_url"})
_UNSIGNED_KEYS = frozenset({"age", "transaction_id"})
# Relations (replies, edits) take mautrix's own path: edits rewrite the content.
_RELATION_KEYS = frozenset({"m.relates_to", "m.new_content"})


def parse_event(raw: dict[str, Any]) -> Event:
    """``raw`` (a client-server API event with its ``room_id``) as a mautrix event.

    Raises what ``Event.deserialize`` raises for an event it cannot read.
    """
    message = _plain_message(raw)
    # mautrix's Event is a union it does not list MessageEvent in for type checkers.
    return cast(Event, message) if message is not None else Event.deserialize(raw)


def _plain_message(raw: dict[str, Any]) -> MessageEvent | None:
    """A text message without relations, built directly; None for anything else."""
    if raw.get("type") != "m.room.message" or "state_key" in raw:
        return None
    content, unsigned_raw = raw.get("content"), raw.get("unsigned")
    if type(content) is not dict or not (unsigned_raw is None or type(unsigned_raw) is dict):
        return None
    msgtype, body = content.get("msgtype"), content.get("body")
    if type(msgtype) is not str or msgtype not in _TEXT_TYPES or type(body) is not str:
        return None
    if not _RELATION_KEYS.isdisjoint(content):
        return None
    fmt = content.get("format")
    if not (fmt is None or fmt == Format.HTML.value):
        return None
    formatted, external = content.get("formatted_body"), content.get("external_url")
    if not (_str_or_none(formatted) and _str_or_none(external)):
        return None
    room_id, event_id, sender = raw.get("room_id"), raw.get("event_id"), raw.get("sender")
    ts = raw.get("origin_server_ts")
    if not (type(room_id) is str and type(event_id) is str and type(sender) is str):
        return None
    if type(ts) is not int:
        return None
    unsigned = _unsigned(unsigned_raw)
    if unsigned is None:
        return None
    # mautrix annotates its optional fields as plain ``str``, hence the Any.
    fields: dict[str, Any] = {"external_url": external, "formatted_body": formatted}
    fields["format"] = Format.HTML if fmt is not None else None
    text = TextMessageEventContent(msgtype=_TEXT_TYPES[msgtype], body=body, **fields)
    _keep_unrecognized(text, content, _CONTENT_KEYS)
    event = MessageEvent(
        type=EventType.ROOM_MESSAGE,
        room_id=RoomID(room_id),
        event_id=EventID(event_id),
        sender=UserID(sender),
        timestamp=ts,
        content=text,
        unsigned=unsigned,
    )
    _keep_unrecognized(event, raw, _EVENT_KEYS)
    return event


def _unsigned(raw: dict[str, Any] | None) -> MessageUnsigned | None:
    if raw is None:
        return MessageUnsigned()
    age, txn = raw.get("age"), raw.get("transaction_id")
    if not ((age is None or type(age) is int) and _str_or_none(txn)):
        return None
    fields: dict[str, Any] = {"age": age, "transaction_id": txn}
    unsigned = MessageUnsigned(**fields)
    _keep_unrecognized(unsigned, raw, _UNSIGNED_KEYS)
    return unsigned


def _str_or_none(value: object) -> bool:
    return value is None or type(value) is str


def _keep_unrecognized(obj: Any, data: dict[str, Any], known: frozenset[str]) -> None:
    # As mautrix does: keys it has no field for are kept in ``unrecognized_``.
    if not known.issuperset(data):
        obj.unrecognized_ = {k: v for k, v in data.items() if k not in known}
