"""What the bot says when a report arrives and when an editor reacts, as Hebbot does:
how a report addresses the bot, the thanks, "too short", and the admin room's notices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from mautrix.types import EventID, RoomID, UserID

from botkit.testing.bot import running_bot
from botkit.testing.fakehs import FakeHomeserver, SentEvent
from botkit.testing.harness import DEFAULT_BOT, PluginHarness, plugin_harness
from plugins.twim.names import RETRY
from plugins.twim.store import TwimStore
from tests.twim.fakeroom import FakeRoom
from tests.twim.test_hebbot_bot import REPORT, hebbot_world
from tests.twim.test_upgrades import TWIM

pytest_plugins = ["botkit.testing.fakehs_fixtures"]


def admin_world(hs: FakeHomeserver, tmp_path: Path, **twim: Any) -> tuple[FakeRoom, RoomID]:
    """Hebbot's config with an admin room apart from the reporting room."""
    w = hebbot_world(hs, tmp_path, "current", **twim)
    admin = hs.create_room("editor", members=["bot"])
    toml = tmp_path / "config.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            f"admin_room_id = '{w.room}'", f"admin_room_id = '{admin}'"
        ),
        encoding="utf-8",
    )
    return w, admin


def _body(sent: SentEvent) -> str:
    return str(sent.content.get("body"))


async def test_m_mentions_alone_addresses_the_bot(fakehs: FakeHomeserver, tmp_path: Path) -> None:
    w, _ = admin_world(fakehs, tmp_path, reports="mentions", ack="receipt")
    async with running_bot(w.config):
        # A client that mentions without a pill or a name in the text (spec: m.mentions).
        mentioned = w.hs.inject(
            w.room,
            "alice",
            {"msgtype": "m.text", "body": REPORT, "m.mentions": {"user_ids": [w.bot]}},
        )
        thanks = await w.bot_sends(lambda sent: _body(sent) == "Thanks Alice")
        w.react("editor", mentioned, "🏢")
        assert "Published" in await w.ask("!twim publish 2026-09-04", "ublished")

    assert thanks.room_id == w.room
    assert REPORT in (w.output / "2026-09-04-twim.md").read_text(encoding="utf-8")


async def test_the_bots_display_name_at_the_start_addresses_it_and_leaves_the_report(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    fakehs.create_user("bot", displayname="Weekly Bot")
    w, admin = admin_world(fakehs, tmp_path, reports="mentions")
    async with running_bot(w.config):
        report = w.say("alice", f"weekly bot: {REPORT}")
        told = await w.bot_sends(lambda sent: "sent a report" in _body(sent))
        w.react("editor", report, "🏢")
        assert "Published" in await w.ask("!twim publish 2026-09-04", "ublished")

    assert told.room_id == admin
    assert told.content["body"].endswith(f"https://matrix.to/#/{w.room}/{report}")
    post = (w.output / "2026-09-04-twim.md").read_text(encoding="utf-8")
    assert REPORT in post
    assert "eekly" not in post


async def test_ack_receipt_thanks_a_report_when_it_comes_as_hebbot_does(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w, admin = admin_world(fakehs, tmp_path, reports="mentions", ack="receipt")
    async with running_bot(w.config):
        since = len(fakehs.sent)
        report = w.say("alice", f"TWIM: {REPORT}")
        thanks = await w.bot_sends(lambda sent: _body(sent) == "Thanks Alice", since=since)
        told = await w.bot_sends(lambda sent: "sent a report" in _body(sent), since=since)
        # An editor's ⭕ adds no second acknowledgement in public.
        w.react("editor", report, "⭕️")
        await w.bot_sends(lambda sent: "included it" in _body(sent), since=since)
        sent = fakehs.sent[since:]

    # A plain notice in the reporting room, as Hebbot sends it: no reply, no thread.
    assert thanks.room_id == w.room
    assert thanks.content["msgtype"] == "m.notice"
    assert "m.relates_to" not in thanks.content
    assert told.room_id == admin
    assert told.content["body"] == (
        f"{w.user('alice')} sent a report. https://matrix.to/#/{w.room}/{report}"
    )
    in_public = [s for s in sent if s.sender == w.bot and s.room_id == w.room]
    assert [s for s in in_public if s.type == "m.room.message"] == [thanks]
    assert not [s for s in in_public if (s.content.get("m.relates_to") or {}).get("key") == "⭕️"]


async def test_a_short_report_is_told_once_even_after_an_edit_and_a_restart(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w, _ = admin_world(fakehs, tmp_path, reports="mentions", ack="receipt")

    def told(sent: SentEvent) -> bool:
        return sent.sender == w.bot and "too short" in _body(sent)

    async with running_bot(w.config):
        short = w.say("alice", "TWIM: soon")
        await w.bot_sends(told)
        w.edit("alice", short, "TWIM: soon!")
        # The room's events are handled in order: once this is answered, so is the edit.
        await w.ask("!twim status", "This Week in Matrix")
    async with running_bot(w.config):
        w.edit("alice", short, "TWIM: soon!!")
        w.react("editor", short, "🏢")
        status = await w.ask("!twim status", "This Week in Matrix")
        # Not a report by itself, as Hebbot kept none; an editor's ⭕ includes it.
        assert ": 0 entries" in status
        w.react("editor", short, "⭕️")
        assert ": 1 entry" in await w.ask("!twim status", "This Week in Matrix")

    answers = [s for s in fakehs.sent if told(s)]
    assert len(answers) == 1
    assert answers[0].content["m.relates_to"]["m.in_reply_to"]["event_id"] == short
    assert not [s for s in fakehs.sent if s.sender == w.bot and "Thanks" in _body(s)]


async def test_what_editors_do_is_told_in_the_admin_room_with_a_link_and_not_in_public(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w, admin = admin_world(fakehs, tmp_path)
    async with running_bot(w.config):
        since = len(fakehs.sent)
        report = w.say("alice", REPORT)
        w.react("editor", report, "⭕️")
        w.react("editor", report, "🏢")
        w.react("editor", report, "Syn")
        empty = w.say("alice", " ")
        w.react("editor", empty, "⭕️")
        await w.bot_sends(lambda sent: "cannot use" in _body(sent), since=since)
        sent = [s for s in fakehs.sent[since:] if s.sender == w.bot]

    link = f"https://matrix.to/#/{w.room}/{report}"
    editor, alice = w.user("editor"), w.user("alice")
    to_admin = [_body(s) for s in sent if s.room_id == admin]
    assert to_admin == [
        f"{editor} included it ({alice}'s message). {link}",
        f"{editor} filed it in Dept of Servers 🏢 ({alice}'s message). {link}",
        f"{editor} tagged it with the project synapse ({alice}'s message). {link}",
        f"{editor}: I cannot use that message in the post: it is empty."
        f" https://matrix.to/#/{w.room}/{empty}",
    ]
    # In public only reactions to the report: the suggestion and the acknowledgement.
    in_public = [s for s in sent if s.room_id == w.room]
    assert {(s.type, s.content["m.relates_to"]["event_id"]) for s in in_public} == {
        ("m.reaction", report)
    }


async def test_a_reaction_or_a_report_taken_back_is_told_in_the_admin_room(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w, admin = admin_world(fakehs, tmp_path)
    async with running_bot(w.config):
        report = w.say("alice", REPORT)
        filed = w.react("editor", report, "🏢")
        chat = w.say("mod", "Nice weather today, all of you")
        w.react("alice", chat, "👍")
        await w.bot_sends(lambda sent: "filed it" in _body(sent))
        since = len(fakehs.sent)
        w.redact("mod", chat)
        w.redact("alice", report)
        w.redact("editor", filed)
        await w.bot_sends(lambda sent: "removed" in _body(sent), since=since)
        sent = [s for s in fakehs.sent[since:] if s.sender == w.bot]

    link = f"https://matrix.to/#/{w.room}/{report}"
    editor, alice = w.user("editor"), w.user("alice")
    # The chat that was never a report is deleted without a word.
    assert [(s.room_id, _body(s)) for s in sent] == [
        (admin, f"{alice} deleted {alice}'s report. {link}"),
        (admin, f"{editor} removed {editor}'s 🏢 from {alice}'s message. {link}"),
    ]


# -- the names, kept in memory (plugin harness: it records every request) -----------

ROOM, ADMIN = RoomID("!twim:example.org"), RoomID("!admin:example.org")
ALICE, EDITOR = UserID("@alice:example.org"), UserID("@editor:example.org")
CLIENT = "/_matrix/client/v3"
PROFILE = f"{CLIENT}/profile/{DEFAULT_BOT}/displayname"
BOT_MEMBER = f"{CLIENT}/rooms/{ROOM}/state/m.room.member/{DEFAULT_BOT}"
ALICE_MEMBER = f"{CLIENT}/rooms/{ROOM}/state/m.room.member/{ALICE}"
# A Monday morning: the weekly preview (Friday) stays out of the way of the clock.
MONDAY = datetime(2026, 9, 7, 9, tzinfo=UTC)


@asynccontextmanager
async def _harness(tmp_path: Path, *, names: bool = True) -> AsyncIterator[PluginHarness]:
    """twim watching ROOM with ``reports: mentions``; with ``names`` the homeserver
    knows the bot as "Weekly Bot" and Alice as "Alice", else it answers no lookup."""
    config = {
        "rooms": [ROOM],
        "editors": [EDITOR],
        "editor_room": ADMIN,
        "reports": "mentions",
        "output_dir": str(tmp_path / "out"),
    }
    async with plugin_harness(TWIM, config=config, tmp_path=tmp_path, start_time=MONDAY) as h:
        if names:
            h.api.answer("GET", PROFILE, {"displayname": "Weekly Bot"})
            h.api.answer("GET", BOT_MEMBER, {"membership": "join", "displayname": "Weekly Bot"})
            h.api.answer("GET", ALICE_MEMBER, {"membership": "join", "displayname": "Alice"})
        yield h


def _asked(h: PluginHarness, path: str) -> int:
    return sum(1 for request in h.requests if request.method == "GET" and request.path == path)


async def _report(h: PluginHarness, body: str, event_id: str = "", **content: Any) -> bool:
    """Whether alice's message ``body`` was taken for a report (the editors are told)."""
    message = {"msgtype": "m.text", "body": body, **content}
    raw = {"type": "m.room.message", "sender": ALICE, "room_id": ROOM, "content": message}
    sent = await h.event({**raw, "event_id": event_id} if event_id else raw)
    return any(
        room_id == ADMIN and "sent a report" in str(sent_content.get("body"))
        for room_id, _, sent_content in sent
    )


async def _member(h: PluginHarness, user: UserID, name: str, before: str) -> None:
    """``user`` is called ``name`` now, ``before`` until now (a member event in ROOM)."""
    await h.event(
        {
            "type": "m.room.member",
            "room_id": ROOM,
            "sender": user,
            "state_key": user,
            "content": {"membership": "join", "displayname": name},
            "unsigned": {"prev_content": {"membership": "join", "displayname": before}},
        }
    )


async def _sender_name(h: PluginHarness, event_id: str) -> str | None:
    """The name the credit line of ``event_id`` shows, as stored."""
    # The harness loads the plugin's module under its own name: no isinstance here.
    store: TwimStore = cast(Any, h.plugin).store
    row = await store.message(EventID(event_id))
    return row.sender_name if row is not None else None


async def test_the_names_are_asked_for_once_for_many_reports(tmp_path: Path) -> None:
    async with _harness(tmp_path) as h:
        for n in range(5):
            body = f"Weekly Bot: report number {n}, with enough to say"
            assert await _report(h, body, event_id=f"$report{n}")
        await h.command("!twim status", sender=EDITOR, room=ADMIN)
        status = h.replies(ADMIN)[-1]
        credited = await _sender_name(h, "$report0")

    assert "5 entries" in status
    assert credited == "Alice"
    assert (_asked(h, PROFILE), _asked(h, BOT_MEMBER), _asked(h, ALICE_MEMBER)) == (1, 1, 1)


async def test_a_new_display_name_comes_from_the_member_event_without_a_lookup(
    tmp_path: Path,
) -> None:
    async with _harness(tmp_path) as h:
        assert await _report(h, "Weekly Bot: the first report of the week, long enough")
        # A change of profile: the homeserver sends the bot's new member event.
        await _member(h, DEFAULT_BOT, "Digest Bot", before="Weekly Bot")
        await _member(h, ALICE, "Alice Liddell", before="Alice")
        second = "Digest Bot: the second report of the week, long enough"
        assert await _report(h, second, event_id="$second")
        assert not await _report(h, "Weekly Bot: a third that uses the old name, so chat")
        renamed = await _sender_name(h, "$second")

    assert renamed == "Alice Liddell"
    assert (_asked(h, PROFILE), _asked(h, BOT_MEMBER), _asked(h, ALICE_MEMBER)) == (1, 1, 1)


async def test_without_names_from_the_homeserver_twim_and_a_pill_still_address_the_bot(
    tmp_path: Path,
) -> None:
    pill = f'<a href="https://matrix.to/#/{DEFAULT_BOT}">Weekly Bot</a>: a report, long enough'
    async with _harness(tmp_path, names=False) as h:
        assert await _report(h, "TWIM: a report that names the bot, long enough", "$twim")
        assert await _report(
            h,
            "Weekly Bot: a report, long enough",
            format="org.matrix.custom.html",
            formatted_body=pill,
        )
        assert not await _report(h, "Weekly Bot: the display name alone is not known")
        credited = await _sender_name(h, "$twim")
        asked = _asked(h, PROFILE), _asked(h, BOT_MEMBER), _asked(h, ALICE_MEMBER)
        # Asked again only after a while, and then the homeserver knows.
        h.api.answer("GET", PROFILE, {"displayname": "Weekly Bot"})
        await h.advance(RETRY)
        assert await _report(h, "Weekly Bot: now the display name is known again")

    assert credited == "alice"
    assert asked == (1, 1, 1)
    assert _asked(h, PROFILE) == 2
