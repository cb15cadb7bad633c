"""From the stored room to the week's entries: reactions, edits, redactions, files, notes."""

from __future__ import annotations

from datetime import date

import attrs

from plugins.twim.collect import Week, collect, refusal, suggestions
from plugins.twim.model import Post
from plugins.twim.render import render_post
from plugins.twim.rows import MessageRow
from tests.twim.stored import ALICE, BOB, BOT, EDITOR, ROOM, Room, settings

SETTINGS = settings()
REPORT = "Synapse 1.99 is out, with faster joins and a new admin API for media."


async def week(room: Room) -> Week:
    return await collect(room.rows(), SETTINGS, BOT)


def rendered(found: Week) -> str:
    post = Post(
        date=date(2024, 5, 3),
        editor="Editors",
        sections=SETTINGS.sections,
        projects=SETTINGS.projects,
        entries=found.entries,
    )
    markdown = render_post(post)
    start = markdown.index("\n## ") + 1
    return markdown[start : markdown.index("## That's all I know")].strip()


async def test_an_included_report_is_filed_by_section_emoji_with_or_without_selector() -> None:
    room = Room()
    first = room.say(ALICE, REPORT)
    second = room.say(BOB, "Element X now supports spaces in the room list, finally!")
    room.include(first, "🏢\ufe0f")
    room.include(second, "📱")

    found = await week(room)

    assert [(e.event_id, e.section, e.sender_name) for e in found.entries] == [
        (first, "servers", "Alice"),
        (second, "clients", "Bob"),
    ]


async def test_reactions_from_others_than_editors_change_nothing() -> None:
    room = Room()
    report = room.say(ALICE, REPORT)
    room.react(BOB, report, "⭕")
    room.react(ALICE, report, "🏢")
    room.react(BOT, report, "⭕")

    found = await week(room)

    assert found.entries == []
    assert found.issues == []


async def test_a_section_without_the_notice_emoji_includes_nothing_but_is_flagged() -> None:
    room = Room()
    report = room.say(ALICE, REPORT)
    room.react(EDITOR, report, "🏢")

    found = await week(room)

    assert found.entries == []
    assert [(i.kind, i.event_id) for i in found.issues] == [("not_included", report)]


async def test_a_project_reaction_confirms_the_suggestion_and_brings_its_section() -> None:
    room = Room()
    report = room.say(ALICE, REPORT)
    room.include(report, "Synapse ?")

    found = await week(room)

    [entry] = found.entries
    assert (entry.project, entry.section) == ("synapse", "servers")
    assert rendered(found).startswith(
        "## Dept of Servers 🏢\n\n### Synapse\n\nSynapse is a popular homeserver"
    )
    assert found.issues == []


async def test_an_unconfirmed_suggestion_and_a_missing_section_are_warned_about() -> None:
    room = Room()
    report = room.say(ALICE, REPORT)
    room.include(report)

    found = await week(room)

    assert [(i.kind, i.detail) for i in found.issues] == [
        ("unconfirmed_project", "it mentions synapse"),
        ("no_section", "it is not in the post yet"),
    ]
    assert found.issues[0].snippet.startswith("Synapse 1.99 is out")


async def test_very_short_reports_are_warned_about() -> None:
    room = Room()
    report = room.say(ALICE, "new release!")
    room.include(report, "📱")

    found = await week(room)

    assert [(i.kind, i.detail) for i in found.issues] == [("short", "only 12 characters")]


async def test_the_reporters_mention_of_the_bot_leaves_the_report() -> None:
    room = Room()
    pill = f'<a href="https://matrix.to/#/{BOT}">TWIM</a>'
    report = room.say(ALICE, f"TWIM: {REPORT}", html=f"<p>{pill}: {REPORT}</p>")
    plain = room.say(BOB, f"twim, {REPORT}")
    room.include(report, "📱")
    room.include(plain, "📱")

    found = await week(room)

    assert [entry.text for entry in found.entries] == [REPORT, REPORT]


async def test_with_reports_from_mentions_a_report_to_the_bot_needs_only_a_tag() -> None:
    # Hebbot stores a message that addresses it as news, and renders what an editor
    # filed under a section or project: no ⭕ needed. Other messages still need one.
    room = Room()
    addressed = room.say(ALICE, f"TWIM: {REPORT}")
    chat = room.say(BOB, f"By the way: {REPORT}")
    untagged = room.say(BOB, f"TWIM: {REPORT} And more.")
    for message in (addressed, chat):
        room.react(EDITOR, message, "🏢")

    hebbot = await collect(room.rows(), settings(reports="mentions"), BOT)
    everything = await collect(room.rows(), SETTINGS, BOT)

    assert [(e.event_id, e.section) for e in hebbot.entries] == [
        (addressed, "servers"),
        (untagged, None),
    ]
    assert [i.event_id for i in hebbot.issues if i.kind == "not_included"] == [chat]
    assert everything.entries == []


async def test_with_reports_from_mentions_m_mentions_count_and_an_edit_may_add_them() -> None:
    # Spec, "User and room mentions": an edit's new content carries m.mentions; one
    # without them (an older client) leaves the report addressed, as Hebbot keeps news.
    room = Room()
    mentioned = room.say(ALICE, REPORT, mentions=(BOT,))
    edited_in = room.say(BOB, f"{REPORT} And more.")
    room.edit(BOB, edited_in, f"{REPORT} And more!", mentions=(BOT,))
    kept = room.say(ALICE, f"{REPORT} Again.", mentions=(BOT,))
    room.edit(ALICE, kept, f"{REPORT} Again!")
    for message in (mentioned, edited_in, kept):
        room.react(EDITOR, message, "🏢")

    week = await collect(room.rows(), settings(reports="mentions"), BOT)

    assert [e.event_id for e in week.entries] == [mentioned, edited_in, kept]


async def test_min_length_sets_what_counts_as_very_short() -> None:
    room = Room()
    report = room.say(ALICE, REPORT)
    room.include(report, "📱")

    found = await collect(room.rows(), attrs.evolve(SETTINGS, min_length=100), BOT)

    assert [(i.kind, i.detail) for i in found.issues] == [
        ("short", f"only {len(REPORT)} characters"),
        ("unconfirmed_project", "it mentions synapse"),
    ]


async def test_the_latest_section_counts_and_redacting_it_restores_the_one_before() -> None:
    room = Room()
    report = room.say(ALICE, REPORT)
    room.include(report, "🏢")
    moved = room.react(EDITOR, report, "📱")
    assert [e.section for e in (await week(room)).entries] == ["clients"]

    room.redact(moved)

    assert [e.section for e in (await week(room)).entries] == ["servers"]


async def test_redacting_the_message_or_the_inclusion_removes_the_entry() -> None:
    room = Room()
    kept = room.say(ALICE, REPORT)
    deleted = room.say(BOB, "Element X now supports spaces in the room list, finally!")
    unincluded = room.say(BOB, "Nheko can now send and show polls, thanks to a new contributor")
    room.include(kept, "🏢")
    room.include(deleted, "📱")
    room.react(EDITOR, unincluded, "📱")
    include = room.react(EDITOR, unincluded, "⭕")
    room.redact(deleted)
    room.redact(include)

    found = await week(room)

    assert [e.event_id for e in found.entries] == [kept]


async def test_the_latest_edit_of_the_sender_is_the_text() -> None:
    room = Room()
    report = room.say(ALICE, "Synapse 1.99 is out, with faster jions.")
    room.edit(ALICE, report, "Synapse 1.99 is out, with faster joins.")
    latest = room.edit(ALICE, report, "Synapse 1.99 is out, with faster joins and more.")
    room.edit(BOB, report, "Bob cannot edit Alice's report")
    room.include(report, "🏢")

    assert [e.text for e in (await week(room)).entries] == [
        "Synapse 1.99 is out, with faster joins and more."
    ]
    room.redact(latest)
    assert [e.text for e in (await week(room)).entries] == [
        "Synapse 1.99 is out, with faster joins."
    ]


async def test_an_edit_after_inclusion_waits_until_an_editor_approves_it() -> None:
    room = Room()
    report = room.say(ALICE, REPORT)
    room.include(report, "🏢")
    room.edit(ALICE, report, "Buy cheap watches at example.com")
    own = room.say(EDITOR, "The editors' own report, with a typo in it")
    room.include(own, "🏢")
    room.edit(EDITOR, own, "The editors' own report, without a typo")

    found = await week(room)
    assert [e.text for e in found.entries] == [REPORT, "The editors' own report, without a typo"]
    edited = [(i.event_id, i.snippet) for i in found.issues if i.kind == "edited"]
    assert edited == [(report, "Buy cheap watches at example.com")]

    again = room.react(EDITOR, report, "⭕")
    found = await week(room)
    assert found.entries[0].text == "Buy cheap watches at example.com"
    assert [i for i in found.issues if i.kind == "edited"] == []
    room.redact(again)
    assert (await week(room)).entries[0].text == REPORT


async def test_html_reports_are_converted_to_markdown() -> None:
    room = Room()
    report = room.say(
        ALICE,
        "plain fallback",
        html="<p>Version <strong>2.0</strong> of <a href='https://example.org'>the bot</a></p>",
    )
    room.include(report, "🤖")

    [entry] = (await week(room)).entries

    assert entry.text == "Version **2.0** of [the bot](https://example.org)"


async def test_files_after_a_report_are_attached_in_order() -> None:
    room = Room()
    report = room.say(ALICE, REPORT)
    first = room.image(ALICE, "first shot.png")
    second = room.image(ALICE, "demo.mp4", msgtype="m.video")
    ignored = room.image(ALICE, "not included.png")
    room.include(report, "🏢")
    room.include(first)
    room.include(second)

    found = await week(room)

    [entry] = found.entries
    assert [(a.event_id, a.kind) for a in entry.attachments] == [
        (first, "image"),
        (second, "video"),
    ]
    assert ignored not in {a.event_id for a in entry.attachments}
    text = rendered(found)
    assert text.endswith(
        f"> {REPORT}\n\n"
        f"![2024-05-03-{first[1:6]}-firstshot.png](/blog/img/2024-05-03-{first[1:6]}-firstshot.png)"
        f"\n\n[2024-05-03-{second[1:6]}-demo.mp4](/blog/img/2024-05-03-{second[1:6]}-demo.mp4)"
    )


async def test_a_file_before_the_report_stays_before_it_under_one_credit_line() -> None:
    room = Room()
    shot = room.image(ALICE, "shot.png")
    report = room.say(ALICE, "# Conduit 0.7\n\nConduit now supports sliding sync and more.")
    room.include(shot)
    room.include(report, "🏢")

    found = await week(room)

    assert [e.event_id for e in found.entries] == [shot, report]
    text = rendered(found)
    name = f"2024-05-03-{shot[1:6]}-shot.png"
    assert text.startswith("## Dept of Servers 🏢\n\n### Conduit 0.7\n\n[Alice]")
    assert text.split("\n\n")[3:] == [
        f"![{name}](/blog/img/{name})",
        "> Conduit now supports sliding sync and more.",
    ]


async def test_a_file_apart_from_the_senders_reports_is_an_entry_of_its_own() -> None:
    room = Room()
    report = room.say(ALICE, REPORT)
    room.say(BOB, "nice!")
    shot = room.image(ALICE, "shot.png")
    room.include(report, "🏢")
    room.include(shot)

    found = await week(room)

    assert [(e.event_id, e.attachments == []) for e in found.entries] == [
        (report, True),
        (shot, False),
    ]
    assert [i.event_id for i in found.issues if i.kind == "no_section"] == [shot]


async def test_a_file_sent_as_a_reply_goes_with_the_report_it_replies_to() -> None:
    room = Room()
    report = room.say(ALICE, REPORT)
    other = room.say(ALICE, "Also, Conduit 0.7 is out, with sliding sync and more of it.")
    room.say(BOB, "nice!")
    shot = room.image(ALICE, "shot.png", reply_to=report)
    room.include(report, "🏢")
    room.include(other, "🏢")
    room.include(shot)

    found = await week(room)

    assert [(e.event_id, [a.event_id for a in e.attachments]) for e in found.entries] == [
        (report, [shot]),
        (other, []),
    ]


async def test_an_editors_reply_is_a_note_after_the_entry() -> None:
    room = Room()
    report = room.say(ALICE, REPORT)
    shot = room.image(ALICE, "shot.png")
    room.include(report, "🏢")
    room.include(shot)
    note = room.say(EDITOR, "Congratulations to the team!", reply_to=report)
    room.say(EDITOR, "And *nice* screenshot.", reply_to=shot)
    room.say(BOB, "Bob's reply is no note", reply_to=report)
    room.edit(EDITOR, note, "Congratulations to the whole team!")

    found = await week(room)

    assert [e.notes for e in found.entries] == [
        ["Congratulations to the whole team!", "And *nice* screenshot."]
    ]
    assert rendered(found).endswith("Congratulations to the whole team!\n\nAnd *nice* screenshot.")


def message(**fields: object) -> MessageRow:
    base: dict[str, object] = {
        "event_id": "$m",
        "room_id": ROOM,
        "sender": ALICE,
        "sender_name": "Alice",
        "ts": 2000,
        "seq": 2000,
        "msgtype": "m.text",
        "body": "news",
    }
    return MessageRow(**{**base, **fields})  # type: ignore[arg-type]


def test_refusals_say_why() -> None:
    def why(target: MessageRow | None, redacted: bool = False) -> str | None:
        return refusal(target, redacted=redacted, cutoff_seq=1000, bot=BOT)

    assert why(message()) is None
    assert why(message(msgtype="m.image", media_url="mxc://a/b")) is None
    assert why(message(body="  ")) == "it is empty"
    assert why(message(seq=999)) == (
        "it was sent before the last post was published, so its week is over"
    )
    assert why(message(), redacted=True) == "it was deleted"
    assert why(message(sender=BOT)) == "it is one of my own messages"
    assert why(message(msgtype="m.file")) == "only text, images and videos can go into the post"
    assert why(message(replaces="$x")) == "it is an edit; react to the original message instead"
    assert why(None) is not None


def test_projects_are_suggested_by_name_or_alias_as_whole_words() -> None:
    projects = SETTINGS.projects

    assert [p.name for p in suggestions("We released matrix-synapse 1.2", projects)] == ["synapse"]
    assert [p.name for p in suggestions("Hydrogen and FLUFFYCHAT", projects)] == [
        "hydrogen",
        "fluffychat",
    ]
    assert suggestions("synapses fire; conduits carry; elementary", projects) == []
