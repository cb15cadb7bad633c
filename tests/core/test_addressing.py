"""Commands addressed by mentioning the bot; which message types may run commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botkit.testing.harness import DEFAULT_BOT, HarnessFactory, PluginHarness

pytest_plugins = ["botkit.testing.harness_fixtures"]

PLUGINS = Path(__file__).parent / "plugins"
HELLO = PLUGINS / "hello"
ANSWERS = Path(__file__).parent / "conversation_plugins" / "answers"
PILL = f"<a href='https://matrix.to/#/{DEFAULT_BOT}'>Bot Name</a>"


async def greetings(h: PluginHarness, body: str, **content: Any) -> list[str]:
    """Send ``body`` with ``content`` to hello; what it answered."""
    before = len(h.replies())
    await h.message(body, **content)
    return h.replies()[before:]


async def test_the_bot_s_id_typed_out_addresses_a_command(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(HELLO)
    assert await greetings(h, f"{DEFAULT_BOT} hello Bob") == ["Hello, Bob! (greeting number 1)"]
    assert await greetings(h, f"{DEFAULT_BOT}: hi Bob") == ["Hello, Bob! (greeting number 2)"]
    assert await greetings(h, f"{DEFAULT_BOT}, !hello Bob") == ["Hello, Bob! (greeting number 3)"]
    # Another user whose ID starts like the bot's is not the bot.
    assert await greetings(h, f"{DEFAULT_BOT}x hello Bob") == []


async def test_a_pill_addresses_a_command(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(HELLO)
    html = {"format": "org.matrix.custom.html", "formatted_body": f"{PILL}: hello Ann"}
    assert await greetings(h, "Bot Name: hello Ann", **html) == ["Hello, Ann! (greeting number 1)"]
    # A pill to someone else is not addressed to the bot.
    other = {"format": "org.matrix.custom.html", "formatted_body": PILL.replace("bot", "eve")}
    assert await greetings(h, "Bot Name: hello Ann", **other) == []


async def test_m_mentions_naming_the_bot_addresses_a_command(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(HELLO)
    mentions = {"m.mentions": {"user_ids": [DEFAULT_BOT]}}
    assert await greetings(h, "Botty: hello Zoe", **mentions) == ["Hello, Zoe! (greeting number 1)"]
    # Without the mention, "Botty: hello" is someone talking to someone else.
    assert await greetings(h, "Botty: hello Zoe") == []
    # Malformed mentions are no mention, and break nothing.
    assert await greetings(h, "Botty: hello Zoe", **{"m.mentions": {"user_ids": "x"}}) == []


async def test_mention_commands_can_be_turned_off(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(HELLO, mention_commands=False)
    assert await greetings(h, f"{DEFAULT_BOT} hello Bob") == []
    assert await greetings(h, "!hello Bob") == ["Hello, Bob! (greeting number 1)"]


async def test_only_text_runs_commands_unless_the_plugin_takes_emotes(
    plugin_harness: HarnessFactory,
) -> None:
    hello = await plugin_harness(HELLO)
    assert await greetings(hello, "!hello Bob", msgtype="m.emote") == []
    assert await greetings(hello, "!hello Bob", msgtype="m.notice") == []
    assert await greetings(hello, "!hello Bob", msgtype="m.image") == []
    answers = await plugin_harness(ANSWERS)
    assert await greetings(answers, "!where", msgtype="m.emote") == ["thread None"]
    assert await greetings(answers, "!where", msgtype="m.notice") == []


async def test_a_reply_s_fallback_quote_is_not_part_of_the_command(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(HELLO)
    reply = {"m.relates_to": {"m.in_reply_to": {"event_id": "$bot"}}}
    body = "> <@bot:example.org> Hello, you!\n> second line\n\n!hello Quinn"
    assert await greetings(h, body, **reply) == ["Hello, Quinn! (greeting number 1)"]
    # Without the reply relation, a quote is a quote.
    assert await greetings(h, body) == []
