"""A week of TWIM against a real Synapse, with the bot restarted between the steps.

People post news (HTML, markdown, an image); the editor includes, files and tags it
with reactions, writes a note and edits it; a report edited after its inclusion is
approved again; a non-editor's reactions and commands do nothing; redactions undo;
messages sent while the bot is down are picked up. At the
end ``!twim publish`` writes the post and its image, compared with the expected text.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from mautrix.types import EventID, EventType, MediaMessageEventContent, MessageEvent

from botkit.testing.bot import running_bot
from botkit.testing.synapse import Synapse
from botkit.testing.talk import ask, wait_joined
from plugins.twim.render import credit_verb
from tests.twim.world import World, png, twim_world

DAY = "2024-05-03"
SHOT = png(8, 6, (200, 30, 30))
FIRST_HTML = (
    "<p><strong>Synapse 1.99</strong> is out, with faster room joins:</p>"
    "<ul><li>partial state</li><li>less <code>CPU</code></li></ul>"
)
EDITED_HTML = (
    "<p><strong>Synapse 1.100</strong> is out, with <em>much</em> faster room joins:</p>"
    "<ul><li>partial state</li><li>less <code>CPU</code></li></ul>"
    '<p>See <a href="https://github.com/element-hq/synapse/releases">the release notes</a>.</p>'
)
NHEKO = "# Nheko 0.12\n\nNheko now has **threads** and `/commands`."
SLIDING = "Also: the *sliding sync* proxy is now deprecated, use the native one."


async def send(client: Any, world: World, content: dict[str, Any]) -> EventID:
    """Send a raw ``m.room.message`` (replies, edits) as a client would."""
    event_id: EventID = await client.client.send_message_event(
        world.room, EventType.ROOM_MESSAGE, content
    )
    return event_id


def expected_post(w: World, ids: dict[str, EventID]) -> str:
    alice = f"[Alice](https://matrix.to/#/{w.alice.user_id})"
    bob = f"[Bob](https://matrix.to/#/{w.bob.user_id})"
    image = f"{DAY}-{ids['shot'][1:6]}-screenshot.png"
    return f"""+++
title = "This Week in Matrix {DAY}"
path = "/blog/2024/05/03/this-week-in-matrix-{DAY}"

[taxonomies]
author = ["TWIM editors"]
category = ["This Week in Matrix"]

[extra]
image = "https://matrix.org/blog/img/{DAY}-ml.png"
+++

## Matrix Live 🎙

{{{{ youtube_player(video_id="dQw4w9WgXcQ") }}}}

## Dept of Servers 🏢

{alice} {credit_verb(ids["sliding"])}:

> {SLIDING}

### Synapse

Synapse is a popular homeserver written in Python.

{alice} returned to say:

> **Synapse 1.100** is out, with *much* faster room joins:
>
> * partial state
> * less `CPU`
>
> See [the release notes](https://github.com/element-hq/synapse/releases).

![{image}](/blog/img/{image})

Congratulations to the Synapse team on the release!

## Dept of Clients 📱

### Nheko 0.12

{bob} {credit_verb(ids["nheko"])}:

> Nheko now has **threads** and `/commands`.

## Dept of Ping 🏓

Here we reveal, rank, and applaud the homeservers with the lowest ping, as measured by \
[pingbot](https://github.com/maubot/echo), a [maubot](https://github.com/maubot/maubot) that \
you can host on your own server. Join [#ping:maunium.net](https://matrix.to/#/#ping:maunium.net) \
to experience the fun live, and to find out how to add YOUR server to the game.

|Rank|Hostname|Median MS|
|:---:|:---:|:---:|
|1|envs.net|437|
|2|blackline.xyz|975.5|

## That's all I know 🏁

See you next week, and be sure to stop by [#twim:matrix.org] with your updates!

[#TWIM:matrix.org]: https://matrix.to/#/#TWIM:matrix.org
"""


async def first_day(w: World, ids: dict[str, EventID]) -> None:
    """News arrives; the editor includes some; a non-editor's reactions do nothing."""
    ids["synapse"] = await w.alice.send_text(w.room, "Synapse 1.99 is out", html=FIRST_HTML)
    assert await w.bot_reaction(ids["synapse"], "synapse ?")
    ids["shot"] = await w.alice.send_image(w.room, SHOT, filename="screen shot.png")
    ids["nheko"] = await w.bob.send_text(w.room, NHEKO)
    await w.bot_reaction(ids["nheko"], "nheko ?")
    await w.bob.react(w.room, ids["nheko"], "⭕")
    await w.bob.react(w.room, ids["synapse"], "📱")
    ids["include"] = await w.editor.react(w.room, ids["synapse"], "⭕")
    await w.editor.react(w.room, ids["synapse"], "synapse ?")
    await w.editor.react(w.room, ids["shot"], "⭕\ufe0f")
    await w.bot_reaction(ids["shot"], "⭕")
    # The bot handles a room's events in order: its answer to this command comes after
    # it has seen Bob's reaction, which it must not have acknowledged.
    status = await ask(w.editor, w.room, w.bot_id, "!twim status", "This Week in Matrix")
    assert "⭕" not in w.bot_reactions_to(ids["nheko"])
    assert "Dept of Servers 🏢: 1" in status.content.body
    refused = await ask(w.bob, w.room, w.bot_id, "!twim status", "not allowed")
    assert refused.content.body == "Sorry, you are not allowed to use !twim status."


async def while_down(w: World, ids: dict[str, EventID]) -> None:
    """The bot is offline: more news, a note, inclusions."""
    ids["sliding"] = await w.alice.send_text(w.room, SLIDING)
    ids["note"] = await send(
        w.editor,
        w,
        {
            "msgtype": "m.text",
            "body": f"> <{w.alice.user_id}> Synapse 1.99 is out\n\nCongratulations on the release!",
            "m.relates_to": {"m.in_reply_to": {"event_id": ids["synapse"]}},
        },
    )
    await w.editor.react(w.room, ids["nheko"], "⭕")
    await w.editor.react(w.room, ids["nheko"], "📱")
    await w.editor.react(w.room, ids["sliding"], "🏢")
    await w.editor.react(w.room, ids["sliding"], "⭕")


async def reapprove(w: World, ids: dict[str, EventID]) -> None:
    """Alice edited her included report: the editors are told; the editor approves again."""
    assert w.admin_room is not None
    told = await w.editor.wait_for_message(
        w.admin_room, sender=w.bot_id, contains="edited a report"
    )
    assert "+**Synapse 1.100** is out" in told.content.body
    ack = await w.bot_reaction(ids["synapse"], "⭕")
    await w.editor.redact(w.room, ids["include"])
    await w.bot_redaction(ack)
    await w.editor.react(w.room, ids["synapse"], "⭕")

    def new_ack(evt: Any) -> bool:
        relates = getattr(evt.content, "relates_to", None)
        return (
            evt.sender == w.bot_id
            and evt.event_id != ack
            and relates is not None
            and relates.event_id == ids["synapse"]
            and relates.key == "⭕"
        )

    await w.editor.wait_for(new_ack, 60)


async def second_day(w: World, ids: dict[str, EventID]) -> None:
    """Edits (one approved again), a redaction, a refusal, Matrix Live, a preview."""
    await w.bot_reaction(ids["sliding"], "⭕")
    assert "⭕" in w.bot_reactions_to(ids["nheko"])
    await send(
        w.alice,
        w,
        {
            "msgtype": "m.text",
            "body": "* Synapse 1.100 is out",
            "m.new_content": {
                "msgtype": "m.text",
                "body": "Synapse 1.100 is out",
                "format": "org.matrix.custom.html",
                "formatted_body": EDITED_HTML,
            },
            "m.relates_to": {"rel_type": "m.replace", "event_id": ids["synapse"]},
        },
    )
    await reapprove(w, ids)
    await send(
        w.editor,
        w,
        {
            "msgtype": "m.text",
            "body": "* Congratulations to the Synapse team on the release!",
            "m.new_content": {
                "msgtype": "m.text",
                "body": "Congratulations to the Synapse team on the release!",
            },
            "m.relates_to": {"rel_type": "m.replace", "event_id": ids["note"]},
        },
    )
    mistake = await w.alice.send_text(w.room, "Oops, this was meant for another room, sorry")
    await w.editor.react(w.room, mistake, "⭕")
    ack = await w.bot_reaction(mistake, "⭕")
    await w.alice.redact(w.room, mistake)
    await w.bot_redaction(ack)

    empty = await w.alice.send_text(w.room, " ")
    await w.editor.react(w.room, empty, "⭕")
    assert w.admin_room is not None
    refusal = await w.editor.wait_for_message(w.admin_room, sender=w.bot_id, contains="empty")
    assert refusal.content.body == (
        f"{w.editor.user_id}: I cannot use that message in the post: it is empty."
        f" https://matrix.to/#/{w.room}/{empty}"
    )
    live = await ask(
        w.editor, w.room, w.bot_id, "!twim live https://youtu.be/dQw4w9WgXcQ", "Matrix Live"
    )
    assert live.content.body == "Matrix Live: dQw4w9WgXcQ."


async def preview(w: World, port: int, ids: dict[str, EventID]) -> None:
    """The preview file in the room, the warnings, and draft.md on the web."""
    seen = {evt.event_id for evt in w.editor.events}
    await w.editor.send_text(w.room, "!twim preview")

    def uploaded(evt: Any) -> bool:
        return (
            isinstance(evt, MessageEvent)
            and evt.sender == w.bot_id
            and isinstance(evt.content, MediaMessageEventContent)
            and str(evt.content.body).endswith(".md")
        )

    upload = await w.editor.wait_for(uploaded, 60)
    assert isinstance(upload, MessageEvent) and isinstance(upload.content, MediaMessageEventContent)
    assert upload.content.url is not None
    data = await w.editor.client.download_media(upload.content.url)
    assert "### Nheko 0.12" in data.decode()
    warnings = await w.editor.wait_for(
        lambda evt: (
            evt.event_id not in seen
            and evt.sender == w.bot_id
            and "Warnings" in str(getattr(evt.content, "body", ""))
        )
    )
    assert isinstance(warnings, MessageEvent)
    assert "Project suggested but not confirmed" in warnings.content.body
    assert "it mentions nheko" in warnings.content.body

    url = f"http://127.0.0.1:{port}/_botkit/plugins/twim/draft.md?date={DAY}"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        assert await resp.text() == expected_post(w, ids)


def read(path: Path) -> bytes:
    return path.read_bytes()


async def test_a_week_of_twim_is_collected_and_published(synapse: Synapse, tmp_path: Path) -> None:
    ids: dict[str, EventID] = {}
    async with twim_world(synapse, tmp_path, admin_room=True) as w:
        assert w.admin_room is not None
        async with running_bot(w.config):
            await wait_joined(w.editor, w.room, w.bot_id)
            await wait_joined(w.editor, w.admin_room, w.bot_id)
            await first_day(w, ids)
        await while_down(w, ids)
        async with running_bot(w.config) as bot:
            await second_day(w, ids)
            assert bot.web is not None
            await preview(w, bot.web.port, ids)
        async with running_bot(w.config):
            done = await ask(
                w.editor, w.room, w.bot_id, f"!twim publish {DAY}", "Published", timeout=60
            )
            post = w.output / f"{DAY}-this-week-in-matrix-{DAY}.md"
            assert done.content.body == (
                f"Published the post of {DAY} to `{post}`. A new week begins now."
            )
            assert post.read_text(encoding="utf-8") == expected_post(w, ids)
            image = w.output / "img" / f"{DAY}-{ids['shot'][1:6]}-screenshot.png"
            assert await asyncio.to_thread(read, image) == SHOT

            # The week is over: its messages can no longer be filed.
            await w.editor.react(w.room, ids["nheko"], "🧰")
            late = await w.editor.wait_for_message(
                w.admin_room, sender=w.bot_id, contains="week is over"
            )
            assert "sent before the last post was published" in late.content.body
            again = await ask(w.editor, w.room, w.bot_id, f"!twim publish {DAY}", "already")
            assert again.content.body == (
                f"The post of {DAY} was already published; give another date."
            )


async def test_a_notice_acknowledges_an_inclusion_until_the_reaction_is_redacted(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with twim_world(synapse, tmp_path, ack="notice") as w, running_bot(w.config):
        await wait_joined(w.editor, w.room, w.bot_id)
        report = await w.alice.send_text(w.room, "Hydrogen now shows threads, thanks to Bruno")
        include = await w.editor.react(w.room, report, "⭕")
        notice = await w.editor.wait_for_message(w.room, sender=w.bot_id, contains="Included")
        assert notice.content.body == "Included in this week's post."
        assert notice.content.get_reply_to() == report

        await w.editor.redact(w.room, include)
        await w.bot_redaction(notice.event_id)
        status = await ask(w.editor, w.room, w.bot_id, "!twim status", "This Week in Matrix")
        assert status.content.body.startswith("**This Week in Matrix ")
        assert ": 0 entries\n" in status.content.body
