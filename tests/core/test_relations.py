"""Answers in threads, rich replies and plain messages; ``m.mentions`` on every message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mautrix.types import RoomID

from botkit.testing.harness import HarnessFactory, PluginHarness, Sent

pytest_plugins = ["botkit.testing.harness_fixtures"]

PLUGINS = Path(__file__).parent / "plugins"
ANSWERS = Path(__file__).parent / "conversation_plugins" / "answers"
HELLO = PLUGINS / "hello"
ROOT = "$root"


def in_thread(root: str = ROOT, *, falling_back: bool = True, last: str = "$last") -> Any:
    """The ``m.relates_to`` a client puts on a message in the thread of ``root``."""
    return {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": falling_back,
        "m.in_reply_to": {"event_id": last},
    }


async def say(
    h: PluginHarness,
    body: str,
    *,
    event_id: str = "$cmd",
    sender: str = "@alice:x",
    relates_to: Any = None,
) -> list[Sent]:
    """Deliver the ``m.text`` ``body`` as ``event_id``; what the plugin sent back."""
    content: dict[str, Any] = {"msgtype": "m.text", "body": body}
    if relates_to is not None:
        content["m.relates_to"] = relates_to
    raw = {"type": "m.room.message", "event_id": event_id, "sender": sender, "content": content}
    return await h.event(raw)


async def test_a_command_in_a_thread_is_answered_in_that_thread(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(HELLO)
    [answer] = await say(h, "!hello", relates_to=in_thread())
    assert answer.content["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": ROOT,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": "$cmd"},
    }


async def test_a_command_outside_threads_is_answered_in_the_room(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(HELLO)
    [answer] = await h.command("!hello")
    assert "m.relates_to" not in answer.content


async def test_errors_and_usage_are_answered_in_the_thread_too(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(PLUGINS / "guarded")
    sent = await say(h, "!secret now", relates_to=in_thread())
    sent += await say(h, "!secret", event_id="$2", sender="@mallory:x", relates_to=in_thread())
    assert len(sent) == 2
    assert all(s.content["m.relates_to"]["event_id"] == ROOT for s in sent)


async def test_the_thread_root_is_in_the_context(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(ANSWERS)
    await say(h, "!where", relates_to=in_thread("$abc"))
    await say(h, "!where", event_id="$2")
    # A rich reply outside a thread is no thread.
    await say(h, "!where", event_id="$3", relates_to={"m.in_reply_to": {"event_id": "$x"}})
    assert h.replies() == ["thread $abc", "thread None", "thread None"]


async def test_a_plugin_may_answer_with_a_rich_reply(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(ANSWERS)
    [outside] = await say(h, "!rich", event_id="$a", sender="@bob:x")
    [inside] = await say(h, "!rich", event_id="$b", relates_to=in_thread())
    assert outside.content["m.relates_to"] == {"m.in_reply_to": {"event_id": "$a"}}
    assert outside.content["m.mentions"] == {"user_ids": ["@bob:x"]}
    # In a thread, a real reply: not a fallback.
    assert inside.content["m.relates_to"] == {
        "rel_type": "m.thread",
        "event_id": ROOT,
        "is_falling_back": False,
        "m.in_reply_to": {"event_id": "$b"},
    }


async def test_a_plugin_may_answer_in_the_main_timeline(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(ANSWERS)
    [answer] = await say(h, "!plain", relates_to=in_thread())
    assert "m.relates_to" not in answer.content
    assert answer.content["m.mentions"] == {}


async def test_every_message_carries_mentions_empty_unless_asked(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(ANSWERS)
    [where] = await h.command("!where")
    [greet] = await h.command("!greet", sender="@carol:x")
    assert where.content["m.mentions"] == {}
    assert greet.content["m.mentions"] == {"user_ids": ["@carol:x"]}
    # An answer that names its sender mentions them; one naming someone else does not.
    hello = await plugin_harness(HELLO)
    [named] = await hello.command("!hello", sender="@dan:x")
    [other] = await hello.command("!hello @erin:x", sender="@dan:x")
    assert named.content["m.mentions"] == {"user_ids": ["@dan:x"]}
    assert other.content["m.mentions"] == {}
    # A raw send without m.mentions gets an empty one; one with it keeps it.
    client = h.plugin.client
    room = RoomID("!r:x")
    await client.send(room, {"msgtype": "m.text", "body": "raw"})
    await client.send(room, {"msgtype": "m.text", "body": "x", "m.mentions": {"room": True}})
    assert [s.content["m.mentions"] for s in h.sent[-2:]] == [{}, {"room": True}]
