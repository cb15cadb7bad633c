"""Malformed and hostile events, made by mutating the shapes real events have.

Each event starts as a realistic message, reaction, membership change, redaction,
edit, reply or image, and then gets one to three mutations: fields missing, fields
of the wrong type, huge or deeply nested values, lone UTF-16 surrogates, unknown
event types, relations to events that do not exist, or no object at all.
Everything comes from the ``random.Random`` given, so a seed replays a run.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

__all__ = ["HostileEvents"]

Mutation = Callable[[random.Random, dict[str, Any]], Any]

_LONE_SURROGATE = "\ud800"  # a lone high surrogate: invalid UTF-16, valid as a JSON escape
_WRONG_TYPES: list[Any] = [
    0,
    -1,
    2**70,
    3.5,
    True,
    None,
    "",
    [],
    ["x", 1],
    {},
    {"a": {"b": None}},
]


class HostileEvents:
    """Hostile events from ``sender`` in ``room``, none of them a command of the bot."""

    def __init__(self, rng: random.Random, room: str, sender: str, now_ms: int) -> None:
        self.rng = rng
        self.room = room
        self.sender = sender
        self.now_ms = now_ms
        self.ids: list[str] = []

    def make(self) -> Any:
        """One hostile event (usually an object, sometimes not even that)."""
        event = self.rng.choice(self._shapes())()
        for _ in range(self.rng.randint(1, 3)):
            if not isinstance(event, dict):
                break
            event = self.rng.choice(_MUTATIONS)(self.rng, event)
        return event

    # real shapes

    def _base(self, event_type: str, content: Any) -> dict[str, Any]:
        event_id = f"$fuzz{len(self.ids)}_{self.rng.randrange(10**9)}"
        self.ids.append(event_id)
        return {
            "type": event_type,
            "sender": self.sender,
            "event_id": event_id,
            "origin_server_ts": self.now_ms,
            "content": content,
            "unsigned": {"age": self.rng.randrange(1000)},
        }

    def _shapes(self) -> list[Callable[[], dict[str, Any]]]:
        return [self._text, self._reaction, self._member, self._redaction, self._edit]

    def _earlier(self) -> str:
        return self.rng.choice(self.ids) if self.ids else "$nowhere"

    def _text(self) -> dict[str, Any]:
        msgtype = self.rng.choice(["m.text", "m.notice", "m.emote", "m.image"])
        content: dict[str, Any] = {"msgtype": msgtype, "body": self.rng.choice(_BODIES)}
        if msgtype == "m.image":
            content |= {"url": "mxc://fuzz.test/abc", "info": {"w": 10, "h": 10}}
        if self.rng.random() < 0.3:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": self._earlier()}}
        return self._base("m.room.message", content)

    def _reaction(self) -> dict[str, Any]:
        relates = {"rel_type": "m.annotation", "event_id": self._earlier(), "key": "👍"}
        return self._base("m.reaction", {"m.relates_to": relates})

    def _member(self) -> dict[str, Any]:
        membership = self.rng.choice(["join", "leave", "invite", "ban", "knock"])
        event = self._base("m.room.member", {"membership": membership, "displayname": "Fuzz"})
        event["state_key"] = self.sender
        return event

    def _redaction(self) -> dict[str, Any]:
        target = self._earlier()
        event = self._base("m.room.redaction", {"redacts": target, "reason": "fuzz"})
        event["redacts"] = target
        return event

    def _edit(self) -> dict[str, Any]:
        new = {"msgtype": "m.text", "body": "edited"}
        relates = {"rel_type": "m.replace", "event_id": self._earlier()}
        content = {"msgtype": "m.text", "body": "* edited", "m.new_content": new}
        return self._base("m.room.message", content | {"m.relates_to": relates})


# What bodies look like before they are mutated: never a command the bot answers.
_BODIES = ["hello", "", "pong 3", "!unknown command", "!help", "!", "ping?"]


def _drop_field(rng: random.Random, event: dict[str, Any]) -> Any:
    if event:
        del event[rng.choice(sorted(event))]
    return event


def _drop_content_field(rng: random.Random, event: dict[str, Any]) -> Any:
    content = event.get("content")
    if isinstance(content, dict) and content:
        del content[rng.choice(sorted(content))]
    return event


def _wrong_body(rng: random.Random, event: dict[str, Any]) -> Any:
    content = event.get("content")
    if isinstance(content, dict):
        content["body"] = rng.choice([*_WRONG_TYPES, {"body": "!pong nested"}])
        content["msgtype"] = rng.choice(["m.text", 5, None, ["m.text"], "m.unknown"])
    return event


def _wrong_content(rng: random.Random, event: dict[str, Any]) -> Any:
    event["content"] = rng.choice(["a string", "", 5, None, [], [{"body": "x"}]])
    return event


def _wrong_timestamp(rng: random.Random, event: dict[str, Any]) -> Any:
    event["origin_server_ts"] = rng.choice(["1700000000000", 2**64, -(2**40), -1, 1.5, None])
    return event


def _wrong_top_level(rng: random.Random, event: dict[str, Any]) -> Any:
    key = rng.choice(["type", "sender", "event_id", "state_key", "unsigned", "redacts"])
    event[key] = rng.choice([*_WRONG_TYPES, "not-a-user", "$", "x" * 5000])
    return event


def _unknown_type(rng: random.Random, event: dict[str, Any]) -> Any:
    event["type"] = rng.choice(["org.example.fuzz", "m.room.message.fake", "m.", "*", "m.room"])
    return event


def _huge_body(rng: random.Random, event: dict[str, Any]) -> Any:
    content = event.get("content")
    if isinstance(content, dict):
        content["body"] = rng.choice("ab!é") * 100_000
    return event


def _surrogate(rng: random.Random, event: dict[str, Any]) -> Any:
    where = rng.choice(["body", "sender", "type", "key"])
    content = event.get("content")
    if where == "body" and isinstance(content, dict):
        content["body"] = f"hello {_LONE_SURROGATE} world"
    elif where == "key" and isinstance(content, dict):
        content[_LONE_SURROGATE] = _LONE_SURROGATE
    elif where in event:
        event[where] = f"{event[where]}{_LONE_SURROGATE}"
    return event


def _relation_to_nowhere(rng: random.Random, event: dict[str, Any]) -> Any:
    content = event.get("content")
    if isinstance(content, dict):
        content["m.relates_to"] = rng.choice(
            [
                {"rel_type": "m.replace", "event_id": "$nowhere"},
                {"rel_type": "m.thread", "event_id": 5},
                {"m.in_reply_to": "not an object"},
                {"rel_type": None},
                "m.relates_to as a string",
                [],
            ]
        )
    return event


def _nested_garbage(rng: random.Random, event: dict[str, Any]) -> Any:
    value: Any = rng.choice(_WRONG_TYPES)
    for _ in range(rng.randint(5, 40)):
        value = rng.choice([[value], {"k": value}, {"m.relates_to": value}])
    target = event.get("content")
    (target if isinstance(target, dict) else event)[rng.choice(["x", "info", "m.new_content"])] = (
        value
    )
    return event


def _not_an_object(rng: random.Random, event: dict[str, Any]) -> Any:
    return rng.choice(["an event as a string", 42, None, [event], True])


def _duplicate_id(rng: random.Random, event: dict[str, Any]) -> Any:
    # The id of another hostile event (never of a real command: a server that reuses
    # a real event's id could hide that event, and that is a server's bug to fix).
    event["event_id"] = "$fuzz0_dup"
    return event


_MUTATIONS: list[Mutation] = [
    _drop_field,
    _drop_content_field,
    _wrong_body,
    _wrong_content,
    _wrong_timestamp,
    _wrong_top_level,
    _unknown_type,
    _huge_body,
    _surrogate,
    _relation_to_nowhere,
    _nested_garbage,
    _not_an_object,
    _duplicate_id,
]
