"""botkit.testing.harness: a plugin's handlers tested without a homeserver."""

from __future__ import annotations

from pathlib import Path

import pytest
from mautrix.errors import MatrixRequestError
from mautrix.types import UserID

from botkit.errors import PluginLoadError
from botkit.testing.harness import HarnessFactory, plugin_harness

pytest_plugins = ["botkit.testing.harness_fixtures"]

PLUGINS = Path(__file__).parent / "plugins"
HELLO = PLUGINS / "hello"
ADMIN = "@admin:example.org"


async def test_a_command_is_answered_with_the_instance_config(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(HELLO, config={"greeting": "Howdy"})
    sent = await h.command("!hello Bob", room="!r:example.org")
    assert h.replies() == ["Howdy, Bob! (greeting number 1)"]
    assert [(s.room_id, s.event_type) for s in sent] == [("!r:example.org", "m.room.message")]
    assert sent[0].content["msgtype"] == "m.notice"


async def test_aliases_and_the_default_config() -> None:
    # Without tmp_path the database lives in a temporary directory of its own.
    async with plugin_harness(HELLO) as h:
        await h.command("!hi", sender="@carol:example.org")
    assert h.replies() == ["Hello, @carol:example.org! (greeting number 1)"]


async def test_a_bad_instance_config_is_refused_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(PluginLoadError) as failure:
        async with plugin_harness(HELLO, config={"greeting": ["a", "list"]}, tmp_path=tmp_path):
            pass
    assert "config.greeting: expected a string, got a list" in str(failure.value)


async def test_a_usage_error_is_replied(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(PLUGINS / "guarded", admins=[ADMIN])
    await h.command("!secret now", sender=ADMIN)
    assert h.replies() == ["Too many arguments. Usage: !secret"]
    assert h.errors == []


async def test_admin_only_commands_refuse_others(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(PLUGINS / "guarded", admins=[ADMIN])
    await h.command("!secret", sender="@mallory:example.org")
    await h.command("!secret", sender=ADMIN)
    assert h.replies() == [
        "Sorry, you are not allowed to use !secret.",
        "The secret is swordfish.",
    ]


async def test_a_permission_read_from_the_config(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(PLUGINS / "guarded", config={"vips": ["@vip:example.org"]})
    await h.command("!vip", sender="@vip:example.org")
    await h.command("!vip", sender=ADMIN)
    assert h.replies() == [
        "Welcome, @vip:example.org.",
        "Sorry, you are not allowed to use !vip.",
    ]


async def test_passive_and_event_handlers(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(PLUGINS / "guarded")
    await h.message("Thanks a lot", room="!r:example.org")
    [reaction] = h.reactions
    assert reaction == ("!r:example.org", "$event1", "👍")
    relation = {"rel_type": "m.annotation", "event_id": "$x", "key": "🎉"}
    sent = await h.event({"type": "m.reaction", "content": {"m.relates_to": relation}})
    notice = {"msgtype": "m.notice", "body": "1 reactions so far", "m.mentions": {}}
    assert sent == [("!room:example.org", "m.room.message", notice)]


async def test_notices_and_the_bots_own_messages_trigger_nothing(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(HELLO, bot_user_id="@greeter:example.org")
    await h.message("!hello", msgtype="m.notice")
    await h.message("!hello", sender="@greeter:example.org")
    assert h.sent == []


async def test_a_failing_handler_is_contained_and_reported(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(PLUGINS / "crashy", handler_timeout=0.2)
    assert await h.command("!crash") == []
    await h.command("!hang")
    failures = h.errors
    # crashy's catch-all event handler fails on both messages, besides the commands.
    assert sum(isinstance(f.exception, RuntimeError) for f in failures) == 2
    assert [f.exception for f in failures if isinstance(f.exception, ValueError)] != []
    assert any("timed out" in f.message for f in failures)
    assert h.instance.host.metrics.handler_errors.values["crashy"] == 4
    # Contained: the instance keeps running and handles the next event.
    await h.command("!crash")
    assert len(h.errors) == 6


async def test_storage_persists_across_runs_on_one_database(tmp_path: Path) -> None:
    async with plugin_harness(HELLO, tmp_path=tmp_path) as h:
        await h.command("!hello Bob")
    async with plugin_harness(HELLO, tmp_path=tmp_path) as h:
        await h.command("!hello Bob")
        await h.command("!hello Eve")
    assert h.replies() == ["Hello, Bob! (greeting number 2)", "Hello, Eve! (greeting number 1)"]


async def test_a_redelivered_event_reuses_its_transaction_ids(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(PLUGINS / "pong")
    event = {
        "type": "m.room.message",
        "event_id": "$same",
        "content": {"msgtype": "m.text", "body": "!pong a"},
    }
    await h.event(event)
    await h.event(event)
    # Answered twice, but as the same transaction: a homeserver keeps one event.
    assert h.replies() == ["pong a"]
    puts = [r for r in h.requests if r.method == "PUT"]
    assert len(puts) == 2 and puts[0] == puts[1]


async def test_handlers_see_only_the_watched_rooms_but_commands_work_anywhere(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(
        PLUGINS / "guarded", admins=[ADMIN], config={"rooms": ["!watched:example.org"]}
    )
    for room in ("!other:example.org", "!watched:example.org"):
        await h.message("thanks", room=room)
        await h.event({"type": "m.reaction", "room_id": room, "content": {}})
        await h.command("!secret", sender=ADMIN, room=room)
    assert h.reactions == [("!watched:example.org", "$event4", "👍")]
    assert [(s.room_id, s.content["body"]) for s in h.sent if "body" in s.content] == [
        ("!other:example.org", "The secret is swordfish."),
        ("!watched:example.org", "1 reactions so far"),
        ("!watched:example.org", "The secret is swordfish."),
    ]


async def test_restart_runs_start_again_with_the_same_storage(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(PLUGINS / "guarded")
    first = h.plugin
    await h.event({"type": "m.reaction", "content": {}})
    await h.restart()
    assert h.plugin is not first
    await h.event({"type": "m.reaction", "content": {}})
    assert h.replies() == ["1 reactions so far", "1 reactions so far"]


async def test_other_requests_need_an_answer(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(HELLO)
    client = h.plugin.client
    h.api.answer("GET", "/_matrix/client/v3/joined_rooms", {"joined_rooms": ["!a:b"]})
    assert await client.api.get_joined_rooms() == ["!a:b"]
    with pytest.raises(MatrixRequestError, match="no answer for GET /_matrix/client/v3/profile"):
        await client.api.get_profile(UserID("@alice:example.org"))


async def test_command_needs_the_prefix(plugin_harness: HarnessFactory) -> None:
    # A forgotten "!" would otherwise look like a command that was not answered.
    h = await plugin_harness(HELLO)
    with pytest.raises(ValueError, match="does not start with '!'"):
        await h.command("hello")
