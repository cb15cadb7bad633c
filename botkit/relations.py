"""Threads, replies and mentions: reading them off an event, writing them into an answer.

The shapes follow the spec (client-server API, "Threading", "Rich replies" and
"User and room mentions", v1.7). A thread answer points at the thread's root
and carries the ``is_falling_back`` reply fallback, so that clients without
thread support still show it as a reply to the message it answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from mautrix.types import EventID, MessageEvent

__all__ = [
    "THREAD",
    "AnswerMode",
    "answer_relation",
    "mentioned_users",
    "mentions",
    "thread_root",
]

THREAD = "m.thread"
"""The ``rel_type`` of a message in a thread."""

AnswerMode = Literal["thread", "reply", "plain"]
"""How an answer relates to the message it answers.

``"thread"`` (the default): in the message's thread when it was sent in one, else in
the main timeline. ``"reply"``: a rich reply to the message (inside its thread, if
any). ``"plain"``: a message in the main timeline with no relation at all.
"""


def _value(obj: object) -> object:
    # mautrix's relation types are enums that do not compare equal to their strings.
    return getattr(obj, "value", obj)


def thread_root(event: MessageEvent) -> EventID | None:
    """The root of the thread ``event`` was sent in, or None outside a thread."""
    relates = getattr(event.content, "relates_to", None)
    if _value(getattr(relates, "rel_type", None)) != THREAD:
        return None
    root = getattr(relates, "event_id", None)
    return EventID(root) if isinstance(root, str) and root else None


def answer_relation(event: MessageEvent, mode: AnswerMode = "thread") -> dict[str, Any] | None:
    """The ``m.relates_to`` of an answer to ``event``, or None for none.

    In a thread, the answer joins it; its ``m.in_reply_to`` names ``event``, as a
    fallback for clients without threads (``is_falling_back: true``) or, for a rich
    reply, as the real thing (``is_falling_back: false``).
    """
    if mode == "plain":
        return None
    in_reply_to = {"event_id": event.event_id}
    root = thread_root(event)
    if root is None:
        return {"m.in_reply_to": in_reply_to} if mode == "reply" else None
    return {
        "rel_type": THREAD,
        "event_id": root,
        "is_falling_back": mode != "reply",
        "m.in_reply_to": in_reply_to,
    }


def mentions(users: Iterable[str] = ()) -> dict[str, Any]:
    """An ``m.mentions`` object naming ``users`` (empty: the message mentions nobody)."""
    unique = sorted(set(users))
    return {"user_ids": unique} if unique else {}


def mentioned_users(event: MessageEvent) -> frozenset[str]:
    """The user IDs ``event``'s ``m.mentions`` names; empty when it has none or it is malformed."""
    extra = getattr(event.content, "unrecognized_", None)
    found = extra.get("m.mentions") if isinstance(extra, dict) else None
    users = found.get("user_ids") if isinstance(found, dict) else None
    if not isinstance(users, list):
        return frozenset()
    return frozenset(u for u in users if isinstance(u, str))
