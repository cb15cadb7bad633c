"""Sends fit in one Matrix event, carry no unsafe links, and say so when they were cut."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mautrix.client import ClientAPI
from mautrix.types import RoomID, UserID

from botkit.client import PluginClient, Sender
from botkit.errors import SendError
from botkit.event_size import CONTENT_BUDGET, CUT_NOTICE, content_size
from botkit.markdown import MAX_MARKDOWN_CHARS
from botkit.metrics import Metrics
from botkit.testing.bot import running_bot
from botkit.testing.botconfig import fakehs_account, write_bot_config
from botkit.testing.fakehs import FakeHomeserver, SentEvent
from botkit.testing.harness import PluginHarness, RecordingAPI, plugin_harness

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

PLUGINS = Path(__file__).parents[2] / "plugins"
ECHO = PLUGINS / "echo"
ROOM = RoomID("!room:example.org")


@pytest.fixture
async def recorded() -> AsyncIterator[tuple[PluginClient, RecordingAPI]]:
    http = RecordingAPI()
    api = ClientAPI(UserID("@bot:example.org"), api=http)
    yield PluginClient(api, Sender(api, Metrics()), "test"), http
    await http.session.close()


@pytest.fixture
async def echo(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with plugin_harness(ECHO, tmp_path=tmp_path) as harness:
        yield harness


def only_message(harness: PluginHarness) -> dict[str, Any]:
    assert harness.errors == []
    [sent] = harness.sent
    content: dict[str, Any] = sent.content
    return content


async def test_a_too_long_echo_is_answered_too_long(echo: PluginHarness) -> None:
    await echo.command("!echo " + "60 KB of words " * 4000)

    answer = only_message(echo)
    assert "too long" in answer["body"]
    assert f"at most {MAX_MARKDOWN_CHARS:,}" in answer["body"]


async def test_an_echo_whose_html_does_not_fit_is_cut_and_says_so(echo: PluginHarness) -> None:
    # 24,000 characters of markdown whose HTML is almost three times as long.
    await echo.command("!echo " + "*a* " * 6000)

    answer = only_message(echo)
    assert content_size(answer) <= CONTENT_BUDGET
    assert answer["body"].endswith(CUT_NOTICE)
    assert answer["formatted_body"].startswith("<p><em>a</em> <em>a</em>")
    assert answer["formatted_body"].endswith("cut: the message was too long for Matrix]</p>")


async def test_echo_never_sends_a_javascript_link(echo: PluginHarness) -> None:
    await echo.command("!echo [x](javascript:alert(1)) <a href='javascript:alert(2)'>y</a>")

    html = only_message(echo)["formatted_body"]
    assert html == "<p>[x](javascript:alert(1)) &lt;a href='javascript:alert(2)'&gt;y&lt;/a&gt;</p>"


async def test_a_long_text_is_cut_without_its_html(
    recorded: tuple[PluginClient, RecordingAPI],
) -> None:
    client, http = recorded
    text = "line of text\n" * 6000  # 78,000 characters

    await client.send_text(ROOM, text, html=f"<pre>{text}</pre>")

    [sent] = http.sent
    assert content_size(sent.content) <= CONTENT_BUDGET
    assert sent.content["body"].endswith(CUT_NOTICE)
    assert sent.content["body"].startswith("line of text\nline of text\n")
    assert "formatted_body" not in sent.content


async def test_content_that_cannot_fit_is_refused_before_it_is_sent(
    recorded: tuple[PluginClient, RecordingAPI],
) -> None:
    client, http = recorded

    with pytest.raises(SendError, match="too large for Matrix"):
        await client.send(ROOM, {"msgtype": "m.notice", "body": "x" * 70_000})
    assert http.requests == []


async def test_any_send_loses_its_unsafe_links(
    recorded: tuple[PluginClient, RecordingAPI],
) -> None:
    client, http = recorded
    content = {
        "msgtype": "m.notice",
        "body": "x",
        "format": "org.matrix.custom.html",
        "formatted_body": '<a href="javascript:alert(1)">x</a> <a href="https://ok.org">ok</a>',
    }

    await client.send(ROOM, content)
    await client.send_text(ROOM, "y", html="<img src='data:image/png;base64,AAAA'>")

    assert [s.content["formatted_body"] for s in http.sent] == [
        '<a >x</a> <a href="https://ok.org">ok</a>',
        "<img >",
    ]
    assert "javascript" in content["formatted_body"], "the caller's content is not changed"


async def test_an_edit_loses_the_unsafe_links_of_its_new_content(
    recorded: tuple[PluginClient, RecordingAPI],
) -> None:
    client, http = recorded
    html = '<a href=" javascript:alert(1)">x</a>'
    new = {"msgtype": "m.text", "body": "x", "format": "org.matrix.custom.html"}

    await client.send(
        ROOM,
        new
        | {
            "body": "* x",
            "formatted_body": "* " + html,
            "m.new_content": new | {"formatted_body": html},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$old"},
        },
    )

    [sent] = http.sent
    assert sent.content["formatted_body"] == "* <a >x</a>"
    assert sent.content["m.new_content"]["formatted_body"] == "<a >x</a>"


async def test_a_homeserver_gets_only_answers_that_fit(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    room = fakehs.create_room("alice", members=["bot"])
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=fakehs_account(fakehs),
        plugins=["echo"],
        plugin_dirs=[str(PLUGINS)],
    )

    async with running_bot(config):
        since = len(fakehs.sent)
        fakehs.inject(room, "alice", {"msgtype": "m.text", "body": "!echo " + "x" * 60_000})
        too_long = await fakehs.wait_for_sent(is_notice, timeout=60, since=since)
        since = len(fakehs.sent)
        fakehs.inject(room, "alice", {"msgtype": "m.text", "body": "!echo " + "*a* " * 6000})
        cut = await fakehs.wait_for_sent(is_notice, timeout=60, since=since)

    assert "too long" in too_long.content["body"]
    assert cut.content["body"].endswith(CUT_NOTICE)
    assert "<em>a</em>" in cut.content["formatted_body"]


def is_notice(event: SentEvent) -> bool:
    return event.content.get("msgtype") == "m.notice"
