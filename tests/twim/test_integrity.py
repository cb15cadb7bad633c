"""What goes into a published post cannot be altered, duplicated or broken from outside.

A whole bot runs twim against the fake homeserver, which stamps events as a test asks
and passes on what a careless server would (a redaction by anyone).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import aiohttp
from mautrix.types import RoomID

from botkit.testing.bot import running_bot
from botkit.testing.fakehs import FakeHomeserver, SentEvent
from tests.twim.fakeroom import fake_room, now_ms
from tests.twim.world import png

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

FIRST, SECOND = "2024-05-03", "2024-05-10"
FAST = "Synapse 1.99 is out, stamped by a server whose clock is five minutes fast"
APPROVED = "Nheko 0.12 is out, with threads and a new settings page"
SPAM = "Nheko 0.12 is out; buy cheap watches at example.com"
TOKEN = "s3cret-draft-token-0123456789"
SLOW = "Conduit 0.7 is out, stamped by a server whose clock is ten minutes slow"


def post(output: Path, day: str) -> str:
    return (output / f"{day}-this-week-in-matrix-{day}.md").read_text(encoding="utf-8")


async def test_each_report_is_in_exactly_one_post_whatever_the_senders_clock(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = fake_room(fakehs, tmp_path)
    async with running_bot(w.config):
        fast = w.say("alice", FAST, ts=now_ms() + 5 * 60_000)
        w.include(fast, "🏢")
        await w.acked(fast)
        assert "Published" in await w.ask(f"!twim publish {FIRST}", "ublished")

        since = len(fakehs.sent)
        slow = w.say("bob", SLOW, ts=now_ms() - 10 * 60_000)
        w.include(slow, "🏢")
        await w.acked(slow, since=since)
        status = await w.ask("!twim status", "This Week in Matrix")
        assert ": 1 entry since the post of 2024-05-03" in status
        assert "Published" in await w.ask(f"!twim publish {SECOND}", "ublished")

    assert FAST in post(w.output, FIRST)
    assert SLOW not in post(w.output, FIRST)
    assert SLOW in post(w.output, SECOND)
    assert FAST not in post(w.output, SECOND)


async def test_only_the_sender_a_moderator_or_an_editor_can_take_a_report_out(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = fake_room(fakehs, tmp_path)
    levels = {"users": {w.user("editor"): 100, w.user("mod"): 50}, "redact": 50}
    fakehs.inject_state(w.room, "editor", "m.room.power_levels", levels)
    async with running_bot(w.config):
        reports = [
            w.say(who, f"{who}'s news of the week, long enough")
            for who in ("alice", "alice", "bob")
        ]
        acks = []
        for report in reports:
            w.include(report)
            acks.append(await w.acked(report))
        own_report, reaction_target, moderated = reports
        reaction = w.react("editor", reaction_target, "🏢")

        w.redact("bob", own_report)
        w.redact("bob", reaction)
        w.redact("mod", moderated)
        await w.bot_sends(lambda sent: sent.content.get("redacts") == acks[2].event_id)
        status = await w.ask("!twim status", "This Week in Matrix")
        assert ": 2 entries" in status
        assert "Dept of Servers 🏢: 1" in status

        w.redact("alice", own_report)
        await w.bot_sends(lambda sent: sent.content.get("redacts") == acks[0].event_id)
        assert ": 1 entry" in await w.ask("!twim status", "This Week in Matrix")


async def test_an_image_that_cannot_be_fetched_is_a_warning_and_left_out(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    editors_room = fakehs.create_room("editor", members=["bot"])
    w = fake_room(fakehs, tmp_path, editor_room=editors_room)
    async with running_bot(w.config) as bot:
        report = w.say("alice", "Element X now sends images, see the screenshots")
        good = w.image("alice", w.upload(png(4, 4, (0, 90, 200)), "good.png"), "good.png")
        malformed = w.image("alice", "mxc://a/b/c", "bad.png")
        gone = w.image("alice", f"mxc://{fakehs.server_name}/nosuchfile", "gone.png")
        w.include(report, "📱")
        for image in (good, malformed, gone):
            w.include(image)
        refused = await w.bot_sends(lambda sent: "not a valid mxc://" in str(sent.content))
        assert refused.content["body"].startswith("@editor:")
        assert refused.room_id == editors_room
        await w.acked(gone)

        status = await w.ask("!twim status", "This Week in Matrix")
        assert "Included but its file cannot be fetched" in status
        assert "not a valid mxc:// URI" in status
        assert bot.web is not None
        media = f"http://127.0.0.1:{bot.web.port}/_botkit/plugins/twim/media"
        async with aiohttp.ClientSession() as http:
            for image, status_code in ((good, 200), (malformed, 404), (gone, 404)):
                async with http.get(media, params={"event": image}) as resp:
                    assert resp.status == status_code, image

        answer = await w.ask(f"!twim publish {FIRST}", "ublished")
        assert answer.startswith(f"Published the post of {FIRST}")
        assert "gone.png" in answer and "Left out" in answer

    text = post(w.output, FIRST)
    saved = sorted(path.name for path in (w.output / "img").iterdir())
    assert saved == [f"{FIRST}-{good[1:6]}-good.png"]
    assert saved[0] in text and "gone.png" not in text and "bad.png" not in text
    assert sorted(path.name for path in w.output.iterdir()) == [
        f"{FIRST}-this-week-in-matrix-{FIRST}.md",
        "img",
    ]


async def test_the_draft_pages_want_the_token_when_one_is_set(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = fake_room(fakehs, tmp_path, draft_token=TOKEN)
    async with running_bot(w.config) as bot:
        report = w.say("alice", "Secret news, not for readers before Friday")
        shot = w.image("alice", w.upload(png(2, 2, (9, 9, 9)), "s.png"), "s.png")
        w.include(report, "🏢")
        w.include(shot)
        await w.acked(shot)
        assert bot.web is not None
        base = f"http://127.0.0.1:{bot.web.port}/_botkit/plugins/twim/"
        media = {"event": shot}

        async with aiohttp.ClientSession() as http:
            for path, params, headers in (
                ("draft.md", {}, {}),
                ("draft.md", {"token": TOKEN[:-1] + "x"}, {}),
                ("", {}, {"Authorization": "Bearer nope"}),
                ("media", media, {}),
            ):
                async with http.get(base + path, params=params, headers=headers) as resp:
                    assert resp.status == 401, (path, params, headers)
                    assert "Secret news" not in await resp.text()
            async with http.get(base + "draft.md", params={"token": TOKEN}) as resp:
                assert resp.status == 200
                assert "Secret news" in await resp.text()
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            async with http.get(base + "draft.md", headers=bearer) as resp:
                assert resp.status == 200
        # A browser opens the page with the token; its images come with the cookie
        # (which aiohttp's jar takes from an IP address only when told to).
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            async with browser.get(base, params={"token": TOKEN}) as resp:
                assert resp.status == 200
                assert "Secret news" in await resp.text()
            async with browser.get(base + "media", params=media) as resp:
                assert resp.status == 200


async def test_an_edit_after_inclusion_waits_for_an_editor_and_the_editors_see_the_diff(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    editors_room = fakehs.create_room("editor", members=["bot"])
    w = fake_room(fakehs, tmp_path, editor_room=editors_room)
    old_png, new_png = png(2, 2, (1, 1, 1)), png(3, 3, (2, 2, 2))
    async with running_bot(w.config) as bot:
        report = w.say("alice", APPROVED)
        shot = w.image("alice", w.upload(old_png, "shot.png"), "shot.png")
        w.include(report, "🏢")
        w.include(shot)
        await w.acked(shot)

        since = len(fakehs.sent)
        w.edit("alice", report, SPAM)
        notice = await w.bot_sends(lambda sent: _edited(sent, editors_room), since=since)
        assert "Alice edited a report after it was included" in notice.content["body"]
        assert f"-{APPROVED}\n+{SPAM}" in notice.content["body"]
        since = len(fakehs.sent)
        swapped = w.upload(new_png, "other.png")
        w.edit("alice", shot, "other.png", msgtype="m.image", url=swapped)
        notice = await w.bot_sends(lambda sent: _edited(sent, editors_room), since=since)
        assert f"→ other.png ({swapped})" in notice.content["body"]

        status = await w.ask("!twim status", "This Week in Matrix")
        assert "Edited after inclusion, waiting for approval" in status
        assert bot.web is not None
        base = f"http://127.0.0.1:{bot.web.port}/_botkit/plugins/twim/"
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "draft.md") as resp:
                draft = await resp.text()
            async with http.get(base + "media", params={"event": shot}) as resp:
                assert await resp.read() == old_png
        assert APPROVED in draft and SPAM not in draft

        w.react("editor", report, "⭕")
        status = await w.ask("!twim status", "This Week in Matrix")
        assert status.count(" approved version") == 1  # only the image still waits
        link = f"https://matrix.to/#/{quote(w.room)}/{quote(shot)}?via=x"
        assert await w.ask(f"!twim approve {link}", "pprove") == (
            "Approved: the post shows that report as it reads now."
        )
        assert "approved version" not in await w.ask("!twim status", "This Week in Matrix")
        refused = await w.ask("!twim approve $nosuchevent", "seen")
        assert refused == "I have not seen that message in a TWIM room."
        await w.ask(f"!twim publish {FIRST}", "ublished")

    published = post(w.output, FIRST)
    assert SPAM in published and APPROVED not in published
    assert "other.png" in published and "shot.png" not in published
    assert (w.output / "img" / f"{FIRST}-{shot[1:6]}-other.png").read_bytes() == new_png


def _edited(sent: SentEvent, room: RoomID) -> bool:
    """The bot's notice in ``room`` that an included report was edited."""
    return sent.room_id == room and "edited a report" in str(sent.content.get("body"))
