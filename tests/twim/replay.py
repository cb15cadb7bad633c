"""One week of TWIM replayed into a real Synapse, as the TWIM guide and Hebbot run it.

The same week feeds the end-to-end tests of both formats (``test_e2e_hebbot.py`` with
twim-config's files, ``test_e2e_2021.py`` with the shipped ``2021`` template):

1. Bot running, in the TWIM room: Alice reports Synapse news, addressing the bot as the
   guide asks (``<bot>: …`` with a pill to it); the editor includes it (⭕). Alice posts
   a screenshot and includes it herself: with ``restrict_notice`` a reporter's ⭕ counts
   on their own message. Bob ⭕s a report of Alice's: that does not count. Bob reports
   something by mistake; the editor includes it; Bob deletes it, and the bot takes its
   acknowledgement back.
2. In the middle of the week the editor upgrades the room (Synapse's upgrade API, a
   real tombstone); everyone, the bot too, is invited to the new room and joins. The
   editor tags Alice's report in the *old* room with its project: late reactions there
   still count. Bob reports Element X iOS news in the new room, and edits it before the
   editor includes and tags it.
3. The bot is stopped. Alice reports the federation stats in the new room, and the
   editor files them while the bot is down, with the section's emoji only: as with
   Hebbot, a report that addresses the bot needs no ⭕️.
4. The bot starts again, catches up, and an editor publishes from the admin room.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mautrix.api import Method
from mautrix.api import Path as ApiPath
from mautrix.types import EventID, EventType, RoomID

from botkit.testing.bot import running_bot
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import Synapse
from botkit.testing.talk import ask, wait_joined
from tests.twim.world import PING_TABLE, World, png, twim_world

SHOT = png(8, 6, (30, 200, 30))
# Every report is at least twim-config's min_length (100 characters) long, without the
# mention, so that Hebbot would keep each of them.
SYNAPSE_MD = (
    "**Synapse 1.161** is out, with faster joins for rooms with many members"
    " and less memory for the state cache."
)
SYNAPSE_HTML = (
    "<strong>Synapse 1.161</strong> is out, with faster joins for rooms with many members"
    " and less memory for the state cache."
)
CONDUIT = "Conduit 0.11 is out: it speaks the new authenticated media API and starts faster."
OOPS = "Oops, this was meant for the Element room, please ignore it: sorry for the noise, all."
XIOS_DRAFT = "Element X iOS 26.09 shows threads, and it is quicker to open a room than ever."
XIOS = "Element X iOS 26.09 shows threads and polls, and it is quicker to open a room than ever."
STATS = (
    "Federation stats: 12345 servers this week, 321 more than last week, and the median"
    " server runs Synapse."
)


@dataclass
class Week:
    """The rooms and the events of the replayed week, for the expected post."""

    old_room: RoomID
    new_room: RoomID | None = None
    ids: dict[str, EventID] = field(default_factory=dict)
    published: str = ""


async def upgrade(client: TestClient, room: RoomID) -> RoomID:
    """Upgrade ``room`` as a client does (``POST /rooms/{roomId}/upgrade``): its successor."""
    path = ApiPath.v3.rooms[room].upgrade
    resp = await client.client.api.request(Method.POST, path, {"new_version": "10"})
    return RoomID(resp["replacement_room"])


async def send(client: TestClient, room: RoomID, content: dict[str, Any]) -> EventID:
    """Send a raw ``m.room.message`` (mentions, edits) as a client would."""
    # mautrix's types do not list a plain dict, which it sends as it is.
    raw: Any = content
    event_id: EventID = await client.client.send_message_event(room, EventType.ROOM_MESSAGE, raw)
    return event_id


async def report(
    w: World, client: TestClient, room: RoomID, markdown: str, html: str | None = None
) -> EventID:
    """A report addressed to the bot: its name first in the body (what Hebbot strips), a
    pill to it in the HTML, and ``m.mentions``."""
    name = w.bot_id[1:].split(":")[0]
    pill = f'<a href="https://matrix.to/#/{w.bot_id}">{name}</a>: '
    return await send(
        client,
        room,
        {
            "msgtype": "m.text",
            "body": f"{name}: {markdown}",
            "format": "org.matrix.custom.html",
            "formatted_body": pill + (html or markdown),
            "m.mentions": {"user_ids": [w.bot_id]},
        },
    )


#: The Dept of Ping's table in the post: the lines of the world's ping table as they are.
PING_LINES = PING_TABLE.split("\n")

HEBBOT_TAGS = {"synapse": "Synapse", "xios": "Emt X iOS", "stats": "📊"}
"""The reactions that tag the reports with twim-config's projects and section."""


async def replay_week(w: World, day: str, tags: dict[str, str] = HEBBOT_TAGS) -> Week:
    """Replay the week (see the module's docstring) and publish it as of ``day``;
    ``tags`` are the reactions that file each report under its project or section."""
    week = Week(old_room=w.room)
    ids = week.ids
    room = w.room
    async with running_bot(w.config):
        assert w.admin_room is not None, "the week needs twim_world(admin_room=True)"
        await wait_joined(w.editor, room, w.bot_id)
        await wait_joined(w.editor, w.admin_room, w.bot_id)
        ids["synapse"] = await report(w, w.alice, room, SYNAPSE_MD, SYNAPSE_HTML)
        ids["shot"] = await w.alice.send_image(room, SHOT, filename="screen shot.png")
        await w.editor.react(room, ids["synapse"], "⭕️")
        await w.alice.react(room, ids["shot"], "⭕️")  # her own media: restrict_notice
        await w.bot_reaction(ids["shot"], "⭕️")
        ids["conduit"] = await report(w, w.alice, room, CONDUIT)
        await w.bob.react(room, ids["conduit"], "⭕️")  # not his: does not count
        ids["oops"] = await report(w, w.bob, room, OOPS)
        await w.editor.react(room, ids["oops"], "⭕️")
        ack = await w.bot_reaction(ids["oops"], "⭕️")
        await w.bob.redact(room, ids["oops"])
        await w.bot_redaction(ack)
        assert "⭕️" not in w.bot_reactions_to(ids["conduit"])

        # The room upgrade, in the middle of the week.
        new = week.new_room = await upgrade(w.editor, room)
        for person in (w.bot_id, w.alice.user_id, w.bob.user_id):
            await w.editor.invite(new, person)
        await w.alice.join(new)
        await w.bob.join(new)
        await wait_joined(w.editor, new, w.bot_id)
        await w.editor.react(room, ids["synapse"], tags["synapse"])  # in the old room
        await tag_counted(w, ids["synapse"], "tags it with the project")
        ids["xios"] = await report(w, w.bob, new, XIOS_DRAFT)
        await send(
            w.bob,
            new,
            {
                "msgtype": "m.text",
                "body": f"* {XIOS}",
                "m.new_content": {"msgtype": "m.text", "body": XIOS},
                "m.relates_to": {"rel_type": "m.replace", "event_id": ids["xios"]},
            },
        )
        # Tagged before the ⭕️, so the bot's acknowledgement shows it has seen both: it
        # handles a room's events in order.
        await w.editor.react(new, ids["xios"], tags["xios"])
        await w.editor.react(new, ids["xios"], "⭕️")
        await w.bot_reaction(ids["xios"], "⭕️")

    # The bot is down: a report, filed while it is away. It addresses the bot, so
    # the section's emoji alone puts it in the post, as with Hebbot: no ⭕️.
    ids["stats"] = await report(w, w.alice, new, STATS)
    await w.editor.react(new, ids["stats"], tags["stats"])

    async with running_bot(w.config):
        await tag_counted(w, ids["stats"], "files it in")
        done = await ask(
            w.editor, w.admin_room, w.bot_id, f"!twim publish {day}", "Published", timeout=60
        )
        week.published = done.content.body
    return week


async def tag_counted(w: World, report: EventID, meaning: str) -> None:
    """Wait until ``!twim details`` says an editor's tag of ``report`` counts (a
    reaction line that reads ``meaning``).

    The old room and the admin room are handled apart, so only the bot's own account
    of the report shows that it has seen the tag.
    """
    assert w.admin_room is not None
    for _ in range(60):
        details = await ask(w.editor, w.admin_room, w.bot_id, f"!twim details {report}", report)
        if meaning in details.content.body:
            return
    raise AssertionError(f"the tag of {report} never counted: {details.content.body}")


@dataclass
class Post:
    """The replayed week, published: the world, the week, the post's one image and lines."""

    w: World
    week: Week
    image: str
    image_data: bytes
    lines: list[str]


async def publish_week(
    synapse: Synapse,
    tmp_path: Path,
    day: str,
    name: str,
    twim: dict[str, Any],
    tags: dict[str, str] = HEBBOT_TAGS,
) -> Post:
    """Replay the week in a world with ``twim``'s config (see :func:`replay_week`),
    publish it as of ``day``, and read the post's file ``name`` and its image."""
    async with twim_world(synapse, tmp_path, admin_room=True, **twim) as w:
        week = await replay_week(w, day, tags)
    image, data = await asyncio.to_thread(_the_image, w)
    lines = await asyncio.to_thread(_post_lines, w, name)
    return Post(w, week, image, data, lines)


def _the_image(w: World) -> tuple[str, bytes]:
    """The one image file the post brought along: its name and bytes."""
    [image] = list((w.output / "img").iterdir())
    return image.name, image.read_bytes()


def _post_lines(w: World, name: str) -> list[str]:
    """The published post's lines (the last one empty when it ends with a newline)."""
    return Path(w.output / name).read_text(encoding="utf-8").split("\n")
