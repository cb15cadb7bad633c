"""A week of TWIM on a real Synapse with twim-config's config.toml and template.md.

Reports (HTML, an image, an edit before inclusion, one redacted), reactions with
Hebbot's emoji (⭕️ with its variation selector, project names such as ``Emt X iOS``),
a bot restart with news and inclusions while it is down, then ``!twim publish``: the
post is compared line by line with what Hebbot's template makes of that week. The
credit verbs are ``config.verbs | random``; they are checked to be the config's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from botkit.testing.bot import running_bot
from botkit.testing.synapse import Synapse
from botkit.testing.talk import ask, wait_joined
from tests.twim.test_e2e import send
from tests.twim.twimconfig import twim_config_dir
from tests.twim.world import World, png, twim_world

DAY = "2026-09-04"
SHOT = png(8, 6, (30, 200, 30))
SYNAPSE_HTML = "<p><strong>Synapse 1.161</strong> is out, with faster joins.</p>"
VERBS = ("reports", "says", "announces")


def expected(w: World, image: str) -> list[str]:
    alice = f"[Alice](https://matrix.to/#/{w.alice.user_id})"
    bob = f"[Bob](https://matrix.to/#/{w.bob.user_id})"
    return [
        "+++",
        f'date = "{DAY}T00:00:00+00:00"',
        f'title = "This Week in Matrix {DAY}"',
        f'path = "/blog/2026/09/04/this-week-in-matrix-{DAY}"',
        "",
        "[taxonomies]",
        'author = ["TWIM editors"]',
        'category = ["This Week in Matrix"]',
        "+++",
        "",
        "## Matrix Live",
        "",
        '{{youtube_player(video_id="")}}',
        "",
        "## Dept of Servers 🏢",
        "  ",
        "### Synapse ([website](https://github.com/element-hq/synapse/))",
        "",
        "Synapse is a Matrix homeserver implementation developed by Element.",
        "",
        f"{alice} <verb>",
        "",
        "> **Synapse 1.161** is out, with faster joins.",
        f"> ![]({image})",
        "",
        "## Dept of Clients 📱",
        "  ",
        "### Element X iOS ([website](https://github.com/vector-im/element-x-ios))",
        "",
        "A total rewrite of Element iOS using the Matrix Rust SDK underneath and targeting"
        " devices running iOS 17+.",
        "",
        f"{bob} <verb>",
        "",
        "> Element X iOS 26.09 shows threads and polls.",
        "",
        "## Matrix Federation Stats 📊",
        "",
        f"{alice} <verb>",
        "",
        "> Federation: 12345 servers this week.",
        "",
        "## Dept of Ping 🏓",
        "",
        "Here we reveal, rank, and applaud the homeservers with the lowest ping, as measured"
        " by [pingbot](https://github.com/maubot/echo), a"
        " [maubot](https://github.com/maubot/maubot) that you can host on your own server.",
        "",
        "Join [#ping:maunium.net](https://matrix.to/#/#ping:maunium.net) to experience the"
        " fun live, and to find out how to add YOUR server to the game.",
        "",
        "|Rank|Hostname|Median MS|",
        "|:---:|:---:|:---:|",
        "|1|envs.net|437|",
        "|2|blackline.xyz|975.5|",
        "",
        "## That's all I know",
        "",
        "See you next week, and be sure to stop by"
        " [#twim:matrix.org](https://matrix.to/#/#twim:matrix.org) with your updates!",
        "",
        "To learn more about how to prepare an entry for TWIM check out"
        " [the TWIM guide](@/twim-guide.md).",
        "",
    ]


def without_verbs(lines: list[str], w: World) -> list[str]:
    """The lines with each credit line's verb, checked to be a configured one, as <verb>."""
    people = (w.alice.user_id, w.bob.user_id)
    out = []
    for line in lines:
        if line.startswith("[") and any(f"(https://matrix.to/#/{p}) " in line for p in people):
            head, verb = line.rsplit(" ", 1)
            assert verb in VERBS, line
            line = f"{head} <verb>"
        out.append(line)
    return out


async def test_a_week_with_twim_configs_files_is_the_post_hebbot_would_write(
    synapse: Synapse, tmp_path: Path
) -> None:
    folder = twim_config_dir()
    twim = {"hebbot_config": str(folder / "config.toml"), "template": str(folder / "template.md")}
    async with twim_world(synapse, tmp_path, **twim) as w:
        async with running_bot(w.config):
            await wait_joined(w.editor, w.room, w.bot_id)
            syn = await w.alice.send_text(w.room, "Synapse 1.161 is out", html=SYNAPSE_HTML)
            shot = await w.alice.send_image(w.room, SHOT, filename="screen shot.png")
            await w.editor.react(w.room, syn, "⭕️")
            await w.editor.react(w.room, syn, "Synapse")
            await w.editor.react(w.room, shot, "⭕️")
            await w.bot_reaction(shot, "⭕️")
            oops = await w.bob.send_text(w.room, "Oops, this was meant for another room")
            await w.editor.react(w.room, oops, "⭕️")
            ack = await w.bot_reaction(oops, "⭕️")
            await w.bob.redact(w.room, oops)
            await w.bot_redaction(ack)

        # While the bot is down: news, an edit, inclusions by Hebbot's emoji.
        xios = await w.bob.send_text(w.room, "Element X iOS 26.09 shows threads.")
        await send(
            w.bob,
            w,
            {
                "msgtype": "m.text",
                "body": "* Element X iOS 26.09 shows threads and polls.",
                "m.new_content": {
                    "msgtype": "m.text",
                    "body": "Element X iOS 26.09 shows threads and polls.",
                },
                "m.relates_to": {"rel_type": "m.replace", "event_id": xios},
            },
        )
        stats = await w.alice.send_text(w.room, "Federation: 12345 servers this week.")
        await w.editor.react(w.room, xios, "⭕️")
        await w.editor.react(w.room, xios, "Emt X iOS")
        await w.editor.react(w.room, stats, "⭕️")
        await w.editor.react(w.room, stats, "📊")

        async with running_bot(w.config):
            await w.bot_reaction(stats, "⭕️")
            done = await ask(
                w.editor, w.room, w.bot_id, f"!twim publish {DAY}", "Published", timeout=60
            )
            assert f"{DAY}-twim.md" in done.content.body

    [image] = await asyncio.to_thread(lambda: sorted(p.name for p in (w.output / "img").iterdir()))
    assert image.endswith("_screen_shot.png")
    assert (w.output / "img" / image).read_bytes() == SHOT
    post = (w.output / f"{DAY}-twim.md").read_text(encoding="utf-8")
    assert without_verbs(post.split("\n"), w) == expected(w, image)
