"""The echo plugin's commands in the plugin harness: what is answered, and what is not."""

from __future__ import annotations

from pathlib import Path

from botkit.testing.harness import HarnessFactory

pytest_plugins = ["botkit.testing.harness_fixtures"]

ECHO = Path(__file__).parents[2] / "plugins" / "echo"


async def test_a_ping_sent_as_text_is_answered(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(ECHO)

    await h.message("!ping", msgtype="m.text")

    [pong] = h.replies()
    assert pong.startswith("@alice:example.org: Pong! (ping took ")


async def test_a_ping_sent_as_an_emote_is_not(plugin_harness: HarnessFactory) -> None:
    # maubot reads commands from m.text only: "/me !ping" is no ping (issue 13).
    h = await plugin_harness(ECHO)

    await h.message("!ping", msgtype="m.emote")
    await h.message("!pingstats", msgtype="m.emote")

    assert h.sent == []
    assert h.errors == []
