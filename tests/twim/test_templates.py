"""Posts rendered from templates: twim-config's template.md unchanged, ``current``, errors."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from mautrix.types import ContentURI

from botkit.config import load_defaults
from plugins.twim.checks import template_problems
from plugins.twim.draft import Draft
from plugins.twim.model import Post
from plugins.twim.publish import PublishError, write_post
from plugins.twim.render import attachment_files, ping_table, post_file_name, render_post
from plugins.twim.settings import Settings
from plugins.twim.templating import TemplateError
from tests.twim.builders import entry, image
from tests.twim.stored import config_problems, read_settings
from tests.twim.twimconfig import twim_config_dir

CONFIG_YAML = Path(__file__).parents[2] / "plugins" / "twim" / "config.yaml"
AT = datetime(2026, 9, 4, 14, 8, 9, tzinfo=UTC)


def real_settings(**values: Any) -> Settings:
    """The settings of twim-config's config.toml, with ``values`` set in the YAML."""
    folder = twim_config_dir()
    defaults = load_defaults(CONFIG_YAML.read_text(encoding="utf-8"), str(CONFIG_YAML))
    config = {**defaults, "hebbot_config": str(folder / "config.toml"), **values}
    return read_settings(config)


def week(settings: Settings, template: str) -> Post:
    """Five reports: one without a project, three under two projects, one with a video."""
    entries = [
        entry(
            "Federation grew.\n\n- 10 servers",
            event_id="$stats",
            sender="@aine:etke.cc",
            name="Aine [etke.cc]",
            at=1,
            section="stats",
        ),
        entry(
            "Tuwunel 1.4 is out.",
            event_id="$tuwunel",
            sender="@june:woof.gay",
            name="june",
            at=2,
            project="tuwunel",
            attachments=[image("$abc", "shot.png")],
        ),
        entry(
            "Synapse 1.161 released.",
            event_id="$syn1",
            sender="@erikj:jki.re",
            name="Erik",
            at=3,
            project="synapse",
        ),
        entry(
            "Also a fix.",
            event_id="$syn2",
            sender="@erikj:jki.re",
            name="Erik",
            at=4,
            project="synapse",
        ),
        entry(
            "New X iOS.",
            event_id="$xios",
            sender="@Manu:matrix.org",
            name="Manu",
            at=5,
            section="clients",
            project="element-x-ios",
            attachments=[image("$vid", "demo.mp4", "video")],
        ),
    ]
    return Post(
        date=AT.date(),
        editor="Andy Piper",
        sections=settings.sections,
        projects=settings.projects,
        entries=entries,
        template=template,
        timestamp=AT,
        verbs=settings.verbs,
        config=settings.template_config(),
        ping_table=ping_table([("vrkknn.net", 153), ("vibb.me", 252.5)]),
        ping_room_alias="#ping:maunium.net",
        twim_room_alias="#twim:matrix.org",
    )


DEPT_OF_PING = [
    "## Dept of Ping 🏓",
    "",
    "Here we reveal, rank, and applaud the homeservers with the lowest ping, as measured by"
    " [pingbot](https://github.com/maubot/echo), a [maubot](https://github.com/maubot/maubot)"
    " that you can host on your own server.",
    "",
    "Join [#ping:maunium.net](https://matrix.to/#/#ping:maunium.net) to experience the fun"
    " live, and to find out how to add YOUR server to the game.",
    "",
    "|Rank|Hostname|Median MS|",
    "|:---:|:---:|:---:|",
    "|1|vrkknn.net|153|",
    "|2|vibb.me|252.5|",
    "",
    "## That's all I know",
    "",
    "See you next week, and be sure to stop by [#twim:matrix.org](https://matrix.to/#/#twim:matrix.org)"
    " with your updates!",
    "",
    "To learn more about how to prepare an entry for TWIM check out"
    " [the TWIM guide](@/twim-guide.md).",
]


#: The front matter twim-config's template and the shipped "current" one give the week.
FRONT_MATTER = [
    "+++",
    'date = "2026-09-04T14:08:09+00:00"',
    'title = "This Week in Matrix 2026-09-04"',
    'path = "/blog/2026/09/04/this-week-in-matrix-2026-09-04"',
    "",
    "[taxonomies]",
    'author = ["Andy Piper"]',
    'category = ["This Week in Matrix"]',
    "+++",
]


def test_twim_configs_template_renders_as_hebbot_would() -> None:
    template = str(twim_config_dir() / "template.md")
    settings = real_settings(verbs=["says"])

    rendered = render_post(week(settings, template))

    # What Hebbot's template makes of this week, whitespace and all: the two spaces
    # before each project's heading and "> " on a quote's empty line are the template's.
    assert rendered.split("\n") == [
        *FRONT_MATTER,
        "",
        "## Matrix Live",
        "",
        '{{youtube_player(video_id="")}}',
        "",
        "## Dept of Servers 🏢",
        "  ",
        "### Tuwunel ([website](https://github.com/matrix-construct/tuwunel))",
        "",
        "Enterprise successor to conduwuit, the high-performance and feature-rich fork of Conduit.",
        "",
        "[june](https://matrix.to/#/@june:woof.gay) says",
        "",
        "> Tuwunel 1.4 is out.",
        "> ![](abc_shot.png)",
        "  ",
        "### Synapse ([website](https://github.com/element-hq/synapse/))",
        "",
        "Synapse is a Matrix homeserver implementation developed by Element.",
        "",
        "[Erik](https://matrix.to/#/@erikj:jki.re) says",
        "",
        "> Synapse 1.161 released.",
        "",
        "[Erik](https://matrix.to/#/@erikj:jki.re) says",
        "",
        "> Also a fix.",
        "",
        "## Dept of Clients 📱",
        "  ",
        "### Element X iOS ([website](https://github.com/vector-im/element-x-ios))",
        "",
        "A total rewrite of Element iOS using the Matrix Rust SDK underneath and targeting"
        " devices running iOS 17+.",
        "",
        "[Manu](https://matrix.to/#/@Manu:matrix.org) says",
        "",
        "> New X iOS.",
        '> {{<video src="vid_demo.mp4">}}',
        "",
        "## Matrix Federation Stats 📊",
        "",
        "[Aine [etke.cc]](https://matrix.to/#/@aine:etke.cc) says",
        "",
        "> Federation grew.",
        "> ",
        "> - 10 servers",
        "",
        *DEPT_OF_PING,
        "",
    ]
    assert set(attachment_files(week(settings, template))) == {"abc_shot.png", "vid_demo.mp4"}


def test_random_verbs_come_from_the_config_and_repeat_for_the_same_week() -> None:
    template = str(twim_config_dir() / "template.md")
    settings = real_settings()
    post = week(settings, template)
    many = replace(
        post,
        entries=[
            entry("Report.", event_id=f"$e{i}", at=i, section="stats", name="Aine")
            for i in range(30)
        ],
    )

    rendered = render_post(many)
    verbs = [line.rsplit(") ", 1)[1] for line in rendered.split("\n") if line.startswith("[Aine]")]

    assert len(verbs) == 30
    assert set(verbs) == {"reports", "says", "announces"}
    assert render_post(many) == rendered
    assert render_post(replace(many, date=date(2026, 9, 11))) != rendered


def test_the_current_template_writes_the_post_as_published_in_2026() -> None:
    settings = real_settings()
    post = replace(
        week(settings, "current"), live_video="q7Os7WzHoCg", live_title="S13E09 - Hydra updates"
    )

    lines = render_post(post).split("\n")

    assert lines[:14] == [
        *FRONT_MATTER,
        "",
        "## Matrix Live S13E09 - Hydra updates",
        "",
        '{{youtube_player(video_id="q7Os7WzHoCg")}}',
        "",
    ]
    servers = lines.index("## Dept of Servers 🏢")
    assert lines[servers : servers + 22] == [
        "## Dept of Servers 🏢",
        "",
        "### Tuwunel ([website](https://github.com/matrix-construct/tuwunel))",
        "",
        "Enterprise successor to conduwuit, the high-performance and feature-rich fork of Conduit.",
        "",
        f"[june](https://matrix.to/#/@june:woof.gay) {verb_of(lines, '@june:woof.gay')}",
        "",
        "> Tuwunel 1.4 is out.",
        "> ![](/blog/img/abc_shot.png)",
        "",
        "### Synapse ([website](https://github.com/element-hq/synapse/))",
        "",
        "Synapse is a Matrix homeserver implementation developed by Element.",
        "",
        f"[Erik](https://matrix.to/#/@erikj:jki.re) {verb_of(lines, '@erikj:jki.re')}",
        "",
        "> Synapse 1.161 released.",
        "",
        f"[Erik](https://matrix.to/#/@erikj:jki.re) also {verb_of(lines, '@erikj:jki.re', 1)}",
        "",
        "> Also a fix.",
    ]
    stats = lines.index("## Matrix Federation Stats 📊")
    assert lines[stats + 4 : stats + 8] == ["> Federation grew.", ">", "> - 10 servers", ""]
    assert lines[stats + 8 :] == [*DEPT_OF_PING, ""]
    assert all(line == line.rstrip() for line in lines)
    assert post_file_name(post) == "2026-09-04-twim.md"


def verb_of(lines: list[str], user: str, index: int = 0) -> str:
    """The verb of ``user``'s ``index``-th credit line, checked to be one of the config's."""
    credits = [line for line in lines if f"(https://matrix.to/#/{user}) " in line]
    verb = credits[index].rsplit(") ", 1)[1].removeprefix("also ")
    assert verb in ("reports", "says", "announces")
    return verb


def own_template(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mine.md"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_an_editors_own_template_is_rendered(tmp_path: Path) -> None:
    settings = real_settings()
    template = own_template(
        tmp_path,
        "# {{ editor }}, {{ timestamp | dateformat(format='long') }}\n"
        "{% for key, entry in sections | dictsort %}{% for p in entry.projects %}"
        "{% for item in p.news %}* {{ p.project.title }}: {{ item.message }}\n"
        "{% endfor %}{% endfor %}{% endfor %}",
    )

    rendered = render_post(week(settings, template))

    assert rendered == (
        "# Andy Piper, September 4 2026\n"
        "* Tuwunel: Tuwunel 1.4 is out.\n"
        "* Synapse: Synapse 1.161 released.\n"
        "* Synapse: Also a fix.\n"
        "* Element X iOS: New X iOS.\n"
    )


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("+++\n{% for x in %}\n", 2, "Expected an expression"),
        ("+++\ntitle\n{{ editr }}\n", 3, "unknown name: 'editr' is undefined"),
        ("+++\n\n{{ timestamp | datetimeformat(format='[yr]') }}\n", 3, "unknown component [yr]"),
        ("+++\n{{ config.verbs[0] | random }}{{ [] | random }}\n", 2, "sequence is empty"),
    ],
)
def test_botkit_check_names_the_template_file_and_line_of_an_error(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    template = own_template(tmp_path, text)
    config = {
        **load_defaults(CONFIG_YAML.read_text(encoding="utf-8"), str(CONFIG_YAML)),
        "template": template,
    }

    [problem] = config_problems(config)

    assert (problem.file, problem.key) == ("", "template")
    assert problem.reason.startswith(f"{template}:{line}: ")
    assert reason in problem.reason


async def test_an_error_inside_a_report_fails_preview_and_publish_and_loses_nothing(
    tmp_path: Path,
) -> None:
    settings = real_settings()
    # Fine without reports (botkit check passes it), wrong on the first one.
    template = own_template(
        tmp_path,
        "{{ editor }}\n{% for key, entry in sections | dictsort %}\n"
        "{% for item in entry.news %}{{ item.mesage }}{% endfor %}{% endfor %}\n",
    )
    assert template_problems(attrs.evolve(settings, template=template)) == []
    post = week(settings, template)

    with pytest.raises(TemplateError, match=rf"^{re.escape(template)}:3: unknown name: .*mesage"):
        render_post(post)
    draft = Draft(post, [], None)
    assert draft.error is not None and draft.error.startswith(f"{template}:3: ")
    assert "The post cannot be rendered" in draft.markdown

    async def download(url: ContentURI) -> bytes:
        raise AssertionError("nothing is downloaded for a post that cannot be rendered")

    with pytest.raises(PublishError, match=rf"{re.escape(template)}:3: "):
        await write_post(post, tmp_path / "out", download)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.md"))
    assert len(post.entries) == 5


@pytest.mark.parametrize("template", ["current", "2021"])
def test_the_shipped_templates_pass_botkit_check(template: str) -> None:
    config = {
        **load_defaults(CONFIG_YAML.read_text(encoding="utf-8"), str(CONFIG_YAML)),
        "template": template,
    }

    assert config_problems(config) == []


def test_the_real_template_passes_botkit_check_with_the_real_config() -> None:
    folder = twim_config_dir()
    config = {
        **load_defaults(CONFIG_YAML.read_text(encoding="utf-8"), str(CONFIG_YAML)),
        "hebbot_config": str(folder / "config.toml"),
        "template": str(folder / "template.md"),
    }

    assert config_problems(config) == []


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('timestamp | datetimeformat(format="iso")', "2026-09-04T14:08:09+00:00"),
        (
            'timestamp | datetimeformat(format="iso", tz="Europe/Berlin")',
            "2026-09-04T16:08:09+02:00",
        ),
        ("timestamp | datetimeformat", "Sep 4 2026 14:08"),
        ('timestamp | datetimeformat(format="full")', "Friday, September 4 2026 14:08:09.0"),
        ('timestamp | dateformat(format="short")', "2026-09-04"),
        ('timestamp | dateformat(format="long")', "September 4 2026"),
        ('timestamp | dateformat(format="[day padding:none]. [month repr:short]")', "4. Sep"),
        ('timestamp | timedelta(days=-7) | dateformat(format="short")', "2026-08-28"),
        (
            'timestamp | timedelta(weeks=1, hours=10) | datetimeformat(format="short")',
            "2026-09-12 00:08",
        ),
        ('timestamp | datetimeformat(format="unix")', "1788530889"),
        (
            'timestamp | timedelta(seconds=0.25) | datetimeformat(format="full")',
            "Friday, September 4 2026 14:08:09.25",
        ),
    ],
)
def test_the_date_filters_write_what_minijinja_contrib_writes(
    tmp_path: Path, expression: str, expected: str
) -> None:
    template = own_template(tmp_path, f"{{{{ {expression} }}}}")
    post = Post(date=AT.date(), editor="", sections=(), template=template, timestamp=AT)

    assert render_post(post) == f"{expected}\n"
