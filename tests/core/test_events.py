"""Reading events: the quick path for plain messages gives exactly what mautrix gives."""

from __future__ import annotations

import copy
import itertools
import random
from typing import Any

import pytest
from mautrix.types import Event, MessageEvent, Obj, SerializableAttrs

from botkit.events import _plain_message, parse_event


def _message(**content: Any) -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "room_id": "!room:example.org",
        "event_id": "$ev1",
        "sender": "@alice:example.org",
        "origin_server_ts": 1_764_160_000_000,
        "content": {"msgtype": "m.text", "body": "!ping", **content},
        "unsigned": {"age": 12, "membership": "join"},
    }


# What Element and bots send, and the odd shapes a homeserver may relay.
SHAPES: list[dict[str, Any]] = [
    _message(),
    _message(**{"m.mentions": {}}),
    _message(msgtype="m.notice", format="org.matrix.custom.html", formatted_body="<b>x</b>"),
    _message(msgtype="m.emote", format=None, formatted_body=None, external_url="https://x"),
    _message(format="org.example.other", formatted_body="x"),
    _message(**{"m.relates_to": {"m.in_reply_to": {"event_id": "$other"}}}),
    _message(
        **{
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$old"},
            "m.new_content": {"msgtype": "m.text", "body": "edited"},
        }
    ),
    _message(msgtype="m.image", url="mxc://example.org/abc", info={"w": 3}),
    _message(msgtype="m.video"),
    _message(msgtype="org.example.custom"),
    _message(body=5),
    _message(msgtype=["m.text"]),
    _message(pong={"ms": 5, "from": "example.org", "ping": "$p"}),
    {**_message(), "unsigned": None},
    {**_message(), "unsigned": {}},
    {**_message(), "unsigned": {"age": "old"}},
    {**_message(), "unsigned": {"transaction_id": "t1", "age": 3}},
    {**_message(), "unsigned": {"age": True}},
    {**_message(), "unsigned": []},
    {**_message(), "age": 5, "user_id": "@alice:example.org"},
    {**_message(), "state_key": ""},
    {**_message(), "origin_server_ts": "1"},
    {**_message(), "origin_server_ts": True},
    {**_message(), "content": []},
    {k: v for k, v in _message().items() if k != "unsigned"},
    {k: v for k, v in _message().items() if k != "event_id"},
    {"type": "m.reaction", "room_id": "!r:x", "event_id": "$r", "sender": "@a:x",
     "origin_server_ts": 1, "content": {"m.relates_to": {"rel_type": "m.annotation",
     "event_id": "$ev1", "key": "👍"}}},
]  # fmt: skip


def _shape(value: Any) -> Any:
    """``value`` as plain data, down to each object's class and attributes."""
    if isinstance(value, SerializableAttrs | Obj):
        return type(value), {k: _shape(v) for k, v in vars(value).items()}
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value), value


def _read(reader: Any, raw: dict[str, Any]) -> Any:
    """What ``reader`` makes of a private copy of ``raw``: its shape, or the error type."""
    try:
        event = reader(copy.deepcopy(raw))
    except Exception as e:
        return "error", type(e)
    return _shape(event)


@pytest.mark.parametrize("raw", SHAPES)
def test_each_shape_reads_as_mautrix_reads_it(raw: dict[str, Any]) -> None:
    assert _read(parse_event, raw) == _read(Event.deserialize, raw)


def test_plain_messages_take_the_quick_path() -> None:
    for raw in (_message(), _message(**{"m.mentions": {}}), SHAPES[2], SHAPES[3]):
        event = _plain_message(copy.deepcopy(raw))
        assert isinstance(event, MessageEvent)
        assert event.content.body == raw["content"]["body"]
    # Relations, media and unknown message types are mautrix's.
    for raw in (SHAPES[5], SHAPES[6], SHAPES[7], SHAPES[9]):
        assert _plain_message(copy.deepcopy(raw)) is None


def test_mixed_shapes_read_as_mautrix_reads_them() -> None:
    """Fields of the shapes above, recombined at random, still agree with mautrix."""
    rng = random.Random(7)
    contents = [s["content"] for s in SHAPES if isinstance(s.get("content"), dict)]
    content_items = list(itertools.chain.from_iterable(c.items() for c in contents))
    top_items = list(itertools.chain.from_iterable(s.items() for s in SHAPES))
    for _ in range(2000):
        raw = dict(rng.sample(top_items, rng.randint(4, 9)))
        raw["type"] = "m.room.message"
        raw["content"] = dict(rng.sample(content_items, rng.randint(1, 5)))
        assert _read(parse_event, raw) == _read(Event.deserialize, raw), raw
