"""A week of TWIM on a real Synapse with twim-config's ``config.toml`` and ``template.md``.

The week of :mod:`tests.twim.replay` (reports addressing the bot, an image its reporter
includes herself, reactions by the editor and a non-editor, an edit, a redaction, a
room upgrade in the middle of the week, a restart) is published with twim-config's
files as they are, read from ``../shared/reference/twim-config/`` (the test skips, and
says why, when they are absent). The post is compared line by line with what Hebbot
makes of that week with the same files; the credit verbs are ``config.verbs | random``,
so each is checked to be one of the config's and then compared as ``<verb>``.
"""

from __future__ import annotations

from pathlib import Path

from botkit.testing.synapse import Synapse
from tests.twim.replay import PING_LINES, SHOT, STATS, SYNAPSE_MD, XIOS, publish_week
from tests.twim.twimconfig import twim_config_dir
from tests.twim.world import World

DAY = "2026-09-04"
VERBS = ("reports", "says", "announces")  # twim-config's ``verbs``


def expected(w: World, image: str) -> list[str]:
    """The post Hebbot writes from template.md for the replayed week, line by line.

    Jinja2 and Tera (Hebbot's engine) treat ``{%-``/``-%}`` alike: each strips the
    whitespace, newlines included, on its side of the tag. The comments say which
    template line makes each line.
    """
    alice = f"[Alice](https://matrix.to/#/{w.alice.user_id}) <verb>"
    bob = f"[Bob](https://matrix.to/#/{w.bob.user_id}) <verb>"
    return [
        # The front matter, line by line: `timestamp` is the publish date at midnight
        # UTC (datetimeformat "iso"; dateformat "short" is YYYY-MM-DD, the path's
        # "[year]/[month]/[day]" its parts), `editor` is editor_name's default.
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
        # `{% raw %}` keeps the shortcode as written.
        '{{youtube_player(video_id="")}}',
        # `{%- macro` and `{%- for key, entry in sections | dictsort %}` swallow the
        # newlines after the shortcode; the loop body starts "\n\n## {{title}}".
        # dictsort orders the keys "<order>-<name>": 1060-servers, 1100-clients,
        # 1900-stats.
        "",
        "## Dept of Servers 🏢",
        # `{{- news(entry.news) }}`: no news without a project. The project loop's body
        # starts with a line of two spaces (the template's "  " line), then "### …".
        "  ",
        "### Synapse ([website](https://github.com/element-hq/synapse/))",
        "",
        "Synapse is a Matrix homeserver implementation developed by Element.",
        # The macro's item: "\n\n[name](…) verb\n\n> message"; the mention Hebbot's
        # remove_bot_name strips is gone.
        "",
        alice,
        "",
        f"> {SYNAPSE_MD}",
        # `{%- if item.images -%}{%- for image …%}` + "\n> ![]({{ image[0] }})": the
        # screenshot Alice included herself (restrict_notice), as <media id>_<name>.
        # Hebbot keeps the name's space ("…_screen shot.png"), which ends a CommonMark
        # link destination and so breaks the image; the plugin writes "_" for it.
        f"> ![]({image})",
        # Alice's Conduit report, ⭕ by Bob who is no editor, and Bob's deleted report
        # are not news. The next section starts "\n\n## …" again.
        "",
        "## Dept of Clients 📱",
        "  ",
        "### Element X iOS ([website](https://github.com/vector-im/element-x-ios))",
        "",
        "A total rewrite of Element iOS using the Matrix Rust SDK underneath and targeting"
        " devices running iOS 17+.",
        "",
        bob,
        "",
        # Reported in the upgraded room, as Bob last edited it.
        f"> {XIOS}",
        "",
        # A section without projects: its news straight under the title.
        "## Matrix Federation Stats 📊",
        "",
        alice,
        "",
        # Reported and filed (📊, no ⭕️: it addressed the bot) while the bot was down.
        f"> {STATS}",
        # `{%- endfor %} {#- sections #}` swallows the space; "\n\n## Dept of Ping 🏓"
        # and the rest of the template are literal text, but for `{{ping_table}}`.
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
        *PING_LINES,
        "",
        "## That's all I know",
        "",
        "See you next week, and be sure to stop by"
        " [#twim:matrix.org](https://matrix.to/#/#twim:matrix.org) with your updates!",
        "",
        "To learn more about how to prepare an entry for TWIM check out"
        " [the TWIM guide](@/twim-guide.md).",
        # The file ends with one newline, as the published posts do.
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
    twim = {
        "hebbot_config": str(folder / "config.toml"),
        "template": str(folder / "template.md"),
        # Hebbot's rule: only a message that addresses the bot is a report.
        "reports": "mentions",
    }
    post = await publish_week(synapse, tmp_path, DAY, f"{DAY}-twim.md", twim)
    assert f"{DAY}-twim.md" in post.week.published
    assert post.image.endswith("_screen_shot.png")
    assert post.image_data == SHOT
    assert without_verbs(post.lines, post.w) == expected(post.w, post.image)
