"""cmark's pathological markdown through every path that renders user text.

A whole bot on the fake homeserver gets each case as ``!echo`` and as ``!ping`` text,
then a plain ``!ping``: the plain ping is answered while the echoes are still being
rendered, and every command is answered. The twim paths (sanitizer, renderer, draft
page) return on each case as well. ``python -m bench.markdown`` prints their times.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from mautrix.types import EventID, UserID

from botkit.testing.bot import running_bot
from botkit.testing.botconfig import fakehs_account, write_bot_config
from botkit.testing.fakehs import FakeHomeserver, SentEvent
from botkit.testing.pathological import PATHOLOGICAL, Case
from plugins.twim.draft import Draft
from plugins.twim.model import Entry, Post, Section
from plugins.twim.preview import page_html
from plugins.twim.render import render_post
from plugins.twim.sanitize import sanitize_markdown

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

PLUGINS = Path(__file__).parents[2] / "plugins"
ECHO_CHARS = 16_000
TWIM_CHARS = 8_000
SECTION = Section("servers", "Dept of Servers", "🏢", 1)


def text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


def body(event: SentEvent) -> str:
    value = event.content.get("body")
    return value if isinstance(value, str) else ""


def is_echo(event: SentEvent) -> bool:
    return event.type == "m.room.message" and "pong" not in event.content


def pong_for(ping: EventID) -> Callable[[SentEvent], bool]:
    return lambda event: event.content.get("pong", {}).get("ping") == ping


async def test_the_bot_answers_a_ping_while_it_renders_hostile_markdown(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    account = fakehs_account(fakehs)
    room = fakehs.create_room("alice", members=["bot"])
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=account,
        plugins={"echo": {"config": {"min_ms": 0}}},
        plugin_dirs=[str(PLUGINS)],
    )
    async with running_bot(config):
        warm = fakehs.inject(room, "alice", text("!ping warm"))
        await fakehs.wait_for_sent(pong_for(warm), timeout=60)
        # The echo plugin spreads a room's events over 16 lanes: with fewer than 16
        # events at once, the last ping has a lane of its own and waits for no echo.
        for chunk in (PATHOLOGICAL[:12], PATHOLOGICAL[12:]):
            since = len(fakehs.sent)
            for case in chunk:
                fakehs.inject(room, "alice", text(f"!echo {case.sized(ECHO_CHARS)}"))
            alive = fakehs.inject(room, "alice", text("!ping alive"))

            pong = await fakehs.wait_for_sent(pong_for(alive), timeout=120, since=since)
            before = fakehs.sent[since : fakehs.sent.index(pong)]
            assert len([e for e in before if is_echo(e)]) < len(chunk) // 2, "the ping waited"
            answers = await sent_after(fakehs, is_echo, len(chunk), since)
            assert all(body(a) and "formatted_body" in a.content for a in answers)

        since = len(fakehs.sent)
        pings = [
            fakehs.inject(room, "alice", text(f"!ping {case.sized(ECHO_CHARS)}"))
            for case in PATHOLOGICAL
        ]
        for ping in pings:
            await fakehs.wait_for_sent(pong_for(ping), timeout=60, since=since)


async def sent_after(
    fakehs: FakeHomeserver, predicate: Callable[[SentEvent], bool], count: int, since: int
) -> list[SentEvent]:
    """The next ``count`` events sent from index ``since`` on that match ``predicate``."""
    found = []
    for _ in range(count):
        event = await fakehs.wait_for_sent(predicate, timeout=120, since=since)
        since = fakehs.sent.index(event) + 1
        found.append(event)
    return found


def letters(markdown: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", markdown.replace("&lt;", "<").replace("&#91;", "["))


def post_of(report: str) -> Post:
    entry = Entry(
        event_id=EventID("$report"),
        sender=UserID("@mallory:example.org"),
        sender_name="Mallory",
        posted_at=1_700_000_000_000,
        text=report,
        section=SECTION.key,
    )
    return Post(date=date(2024, 6, 7), editor="Test", sections=[SECTION], entries=[entry])


@pytest.mark.parametrize("case", PATHOLOGICAL, ids=lambda case: case.name)
def test_twim_renders_each_hostile_report(case: Case) -> None:
    report = case.sized(TWIM_CHARS)

    sanitized = sanitize_markdown(report)
    post = post_of(report)
    page = page_html(Draft(post=post, issues=[], previous=None), "/media")

    assert letters(sanitized) == letters(report), "the words are kept"
    assert "Dept of Servers" in render_post(post)
    assert "<article>" in page and "</article>" in page
