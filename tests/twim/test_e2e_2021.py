"""The week of :mod:`tests.twim.replay` on a real Synapse, published with the shipped
``2021`` template and checked line by line against the conventions of the 2021 posts
(PROTOCOL §3 and ``../shared/reference/twim/``).

The config is the plugin's own (no Hebbot file, so this test always runs), with the
sections and projects the week uses, the ``restrict_notice`` and notice emoji of today's
TWIM, and a Matrix Live video for the week.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botkit.testing.synapse import Synapse
from plugins.twim.render import credit_verb
from tests.twim.replay import PING_LINES, SHOT, STATS, SYNAPSE_MD, XIOS, Week, publish_week
from tests.twim.world import World

DAY = "2026-09-04"
VERBS_2021 = ("said", "reported", "announced", "told us", "offered")  # PROTOCOL §3
SYNAPSE_ABOUT = "Synapse is a popular homeserver written in Python."
XIOS_ABOUT = "Element X iOS is the next generation of Element on the iPhone."
TWIM: dict[str, Any] = {
    "template": "2021",
    "reports": "mentions",
    "restrict_notice": True,
    "notice_emoji": "⭕️",  # today's TWIM's, with its variation selector
    "live_video": "https://youtu.be/dQw4w9WgXcQ",
    "sections": [
        {"key": "servers", "title": "Dept of Servers 🏢", "emoji": "🏢", "order": 30},
        {"key": "clients", "title": "Dept of Clients 📱", "emoji": "📱", "order": 60},
        {"key": "stats", "title": "Matrix Federation Stats 📊", "emoji": "📊", "order": 900},
    ],
    "projects": [
        {"name": "synapse", "title": "Synapse", "description": SYNAPSE_ABOUT, "section": "servers"},
        {
            "name": "element-x-ios",
            "title": "Element X iOS",
            "description": XIOS_ABOUT,
            "section": "clients",
        },
    ],
}

TAGS = {"synapse": "synapse", "xios": "element-x-ios", "stats": "📊"}


def expected(w: World, week: Week) -> list[str]:
    """The post of the replayed week in the 2021 format, with why each line is so."""
    ids = week.ids

    def credit(name: str, who: str, event: str) -> str:
        # "[<display name>](https://matrix.to/#/<mxid>) <verb>:", the verb one of the
        # 2021 posts' (said, reported, announced, told us, offered), fixed per report.
        verb = credit_verb(ids[event])
        assert verb in VERBS_2021
        return f"[{name}](https://matrix.to/#/{who}) {verb}:"

    # "YYYY-MM-DD-<5 chars of the event id after the $>-<file name without spaces>".
    image = f"{DAY}-{ids['shot'][1:6]}-screenshot.png"
    return [
        # Front matter: title, path, [taxonomies] with the editor's name, [extra] with
        # the header image (header_image's default, dated).
        "+++",
        f'title = "This Week in Matrix {DAY}"',
        f'path = "/blog/2026/09/04/this-week-in-matrix-{DAY}"',
        "",
        "[taxonomies]",
        'author = ["TWIM editors"]',
        'category = ["This Week in Matrix"]',
        "",
        "[extra]",
        f'image = "https://matrix.org/blog/img/{DAY}-ml.png"',
        "+++",
        "",
        # The week has a video: "## Matrix Live 🎙" and the shortcode with spaces.
        "## Matrix Live 🎙",
        "",
        '{{ youtube_player(video_id="dQw4w9WgXcQ") }}',
        "",
        # Sections with entries, by ascending order: servers 30, clients 60, stats 900.
        "## Dept of Servers 🏢",
        "",
        # A project's entries under "### <title>", its description once.
        "### Synapse",
        "",
        SYNAPSE_ABOUT,
        "",
        credit("Alice", w.alice.user_id, "synapse"),
        "",
        # The report as a quote, converted from its HTML; the mention of the bot is gone.
        f"> {SYNAPSE_MD}",
        "",
        # The screenshot Alice included herself goes with her report, after the quote.
        f"![{image}](/blog/img/{image})",
        "",
        "## Dept of Clients 📱",
        "",
        "### Element X iOS",
        "",
        XIOS_ABOUT,
        "",
        credit("Bob", w.bob.user_id, "xios"),
        "",
        # Sent in the upgraded room; the text as Bob last edited it.
        f"> {XIOS}",
        "",
        # No project: the credit line directly under the section title. Filed with 📊
        # alone while the bot was down: a report to the bot needs no ⭕️.
        "## Matrix Federation Stats 📊",
        "",
        credit("Alice", w.alice.user_id, "stats"),
        "",
        f"> {STATS}",
        "",
        # The Dept of Ping: the introduction and the invitation in one paragraph (as in
        # the 2021-01-29, 02-12 and 02-26 posts), then the table.
        "## Dept of Ping 🏓",
        "",
        "Here we reveal, rank, and applaud the homeservers with the lowest ping, as measured"
        " by [pingbot](https://github.com/maubot/echo), a"
        " [maubot](https://github.com/maubot/maubot) that you can host on your own server."
        " Join [#ping:maunium.net](https://matrix.to/#/#ping:maunium.net) to experience the"
        " fun live, and to find out how to add YOUR server to the game.",
        "",
        *PING_LINES,
        "",
        # The sign-off and the link reference for the TWIM room.
        "## That's all I know 🏁",
        "",
        "See you next week, and be sure to stop by [#twim:matrix.org] with your updates!",
        "",
        "[#TWIM:matrix.org]: https://matrix.to/#/#TWIM:matrix.org",
        "",
    ]


async def test_the_week_in_the_2021_format_follows_the_2021_posts(
    synapse: Synapse, tmp_path: Path
) -> None:
    name = f"{DAY}-this-week-in-matrix-{DAY}.md"
    post = await publish_week(synapse, tmp_path, DAY, name, TWIM, TAGS)
    assert name in post.week.published
    assert post.image == f"{DAY}-{post.week.ids['shot'][1:6]}-screenshot.png"
    assert post.image_data == SHOT
    assert post.lines == expected(post.w, post.week)
