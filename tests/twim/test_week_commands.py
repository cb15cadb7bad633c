"""The week's date, editor and Matrix Live by command, until the post is published."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from botkit.config import load_defaults
from botkit.testing.bot import running_bot
from botkit.testing.fakehs import FakeHomeserver
from tests.twim.fakeroom import PLUGINS, fake_room, now_ms
from tests.twim.stored import config_problems

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

TWIM = PLUGINS / "twim"


async def test_editors_set_the_date_editor_and_live_of_the_post(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = fake_room(fakehs, tmp_path, template="current", editor_name="TWIM editors")
    async with running_bot(w.config) as bot:
        await w.filed("alice", "Synapse 1.99 is out, with faster sync.")
        assert "2026-12-04" in await w.ask("!twim date 2026-12-04", "dated")
        assert bot.web is not None
        draft = f"http://127.0.0.1:{bot.web.port}/_botkit/plugins/twim/draft.md"
        async with aiohttp.ClientSession() as http, http.get(draft) as resp:
            assert 'title = "This Week in Matrix 2026-12-04"' in await resp.text()
        await w.ask("!twim editor  Jane   Doe", "Editor of this week's post: Jane Doe.")
        await w.ask("!twim title S13E09 - Hydra", "Matrix Live title: S13E09 - Hydra.")
        await w.ask("!twim live q7Os7WzHoCg", "Matrix Live: q7Os7WzHoCg")
        status = await w.ask("!twim status", "This Week in Matrix")
        assert status.startswith("**This Week in Matrix 2026-12-04**")
        assert "not a date" in await w.ask("!twim date friday", "not a date")

        await w.ask("!twim publish", "Published the post of 2026-12-04")
        # A new week: the choices were for the published one.
        status = await w.ask("!twim status", "This Week in Matrix")
    post = next(w.output.rglob("*2026-12-04*.md")).read_text(encoding="utf-8")
    assert 'author = ["Jane Doe"]' in post
    assert "## Matrix Live S13E09 - Hydra" in post
    assert 'youtube_player(video_id="q7Os7WzHoCg")' in post
    assert not status.startswith("**This Week in Matrix 2026-12-04**")


async def test_clear_starts_the_week_anew_once_confirmed(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = fake_room(fakehs, tmp_path)
    async with running_bot(w.config):
        await w.filed("alice", "Synapse 1.99 is out, with faster sync.")
        assert "first" in await w.ask("!twim clear confirm", "first")
        assert "1 entry" in await w.ask("!twim status", "This Week in Matrix")

        await w.ask("!twim clear", "!twim clear confirm")
        await w.ask("!twim clear confirm", "Cleared")
        assert "0 entries" in await w.ask("!twim status", "This Week in Matrix")

        await w.filed("bob", "Dendrite 1.0 is out, at last.")
        assert "1 entry" in await w.ask("!twim status", "This Week in Matrix")
        await w.ask("!twim publish 2026-12-04", "Published")
    post = next(w.output.rglob("*2026-12-04*.md")).read_text(encoding="utf-8")
    assert "Dendrite 1.0" in post
    assert "Synapse 1.99" not in post


async def test_a_clear_asked_before_a_restart_is_confirmed_after_it(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = fake_room(fakehs, tmp_path)
    async with running_bot(w.config):
        await w.filed("alice", "Synapse 1.99 is out, with faster sync.")
        await w.ask("!twim clear", "!twim clear confirm")
    async with running_bot(w.config):
        await w.ask("!twim clear confirm", "Cleared")
        assert "0 entries" in await w.ask("!twim status", "This Week in Matrix")


async def test_a_clear_confirmed_after_five_minutes_changes_nothing(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    editors = [f"@{name}:{fakehs.server_name}" for name in ("editor", "mod")]
    w = fake_room(fakehs, tmp_path, editors=editors)
    async with running_bot(w.config):
        await w.filed("alice", "Synapse 1.99 is out, with faster sync.")
        # The editor's server stamped the request six minutes before the confirmation.
        since = len(fakehs.sent)
        fakehs.inject(
            w.room,
            "editor",
            {"msgtype": "m.text", "body": "!twim clear"},
            origin_server_ts=now_ms() - 6 * 60 * 1000,
        )
        await w.bot_sends(lambda sent: "within 5" in str(sent.content.get("body")), since=since)
        assert "more than 5 minutes ago" in await w.ask("!twim clear confirm", "5 minutes")
        assert "1 entry" in await w.ask("!twim status", "This Week in Matrix")
        # Another editor's request is not this one's to confirm: only their own counts.
        await w.ask("!twim clear", "!twim clear confirm", sender="mod")
        assert "more than 5 minutes ago" in await w.ask("!twim clear confirm", "5 minutes")
        assert "1 entry" in await w.ask("!twim status", "This Week in Matrix")


async def test_the_config_s_live_video_holds_unless_a_week_sets_its_own(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = fake_room(fakehs, tmp_path, live_video="https://youtu.be/q7Os7WzHoCg")
    async with running_bot(w.config):
        assert "Matrix Live: q7Os7WzHoCg" in await w.ask("!twim status", "Matrix Live")
        await w.ask("!twim live wdy3lUxYxuU", "Matrix Live: wdy3lUxYxuU.")
        assert "Matrix Live: wdy3lUxYxuU" in await w.ask("!twim status", "Matrix Live")
        await w.ask("!twim live none", "Matrix Live: q7Os7WzHoCg.")


def test_a_live_video_that_is_no_youtube_video_is_a_config_problem() -> None:
    yaml = TWIM / "config.yaml"
    defaults = load_defaults(yaml.read_text(encoding="utf-8"), str(yaml))
    config = {**defaults, "live_video": "https://example.org/video"}
    problems = config_problems(config, templates=False)
    assert any("live_video" in str(problem) for problem in problems)
