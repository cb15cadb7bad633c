"""The ``current`` template against a post as published in 2026, section by section.

The reports are taken back out of the published post (its credit lines and quotes),
filed as the editors filed them, and rendered with twim-config's sections and
projects: what the template writes around them must be the published text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from plugins.twim.model import Entry, Post
from plugins.twim.render import ping_table, render_post
from tests.twim.builders import entry
from tests.twim.test_templates import real_settings
from tests.twim.twimconfig import ROOT

_CREDIT = re.compile(r"\[(?P<name>.*)\]\(https://matrix\.to/#/(?P<user>@[^)]+)\) (?P<verb>\w+)")


def published(name: str) -> list[str]:
    for parent in ROOT.parents:
        path = parent / "shared" / "reference" / "twim-2026" / name
        if path.is_file():
            return path.read_text(encoding="utf-8").split("\n")
    pytest.skip(f"no shared/reference/twim-2026/{name} in any parent of {ROOT}")


def section(lines: list[str], title: str) -> list[str]:
    start = lines.index(f"## {title}")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    return lines[start:end]


def reports(lines: list[str], section_key: str, projects: dict[str, str]) -> list[Entry]:
    """The reports of a published section: each credit line and the quote under it."""
    found: list[Entry] = []
    project = None
    for i, line in enumerate(lines):
        if line.startswith("### "):
            project = projects[line[4:].split(" ([website]")[0]]
        credit = _CREDIT.fullmatch(line)
        if credit is None:
            continue
        quote = []
        for quoted in lines[i + 2 :]:
            if not quoted.startswith(">"):
                break
            quote.append(quoted[2:] if quoted.startswith("> ") else quoted[1:])
        found.append(
            entry(
                "\n".join(quote),
                event_id=f"$r{i}",
                sender=credit["user"],
                name=credit["name"],
                at=i,
                section=section_key,
                project=project,
            )
        )
    return found


def test_the_dept_of_servers_of_2026_09_18_as_published() -> None:
    post_lines = published("2026-09-18-twim.md")
    settings = real_settings(verbs=["says"])
    titles = {project.title: project.name for project in settings.projects}
    servers = section(post_lines, "Dept of Servers 🏢")
    post = Post(
        date=datetime(2026, 9, 18).date(),
        editor="Andy Piper",
        sections=settings.sections,
        projects=settings.projects,
        entries=reports(servers, "servers", titles),
        template="current",
        timestamp=datetime(2026, 9, 18, 14, 19, 10, tzinfo=UTC),
        verbs=settings.verbs,
        config=settings.template_config(),
        ping_table=ping_table(
            [
                (row.split("|")[2], float(row.split("|")[3]))
                for row in post_lines
                if re.fullmatch(r"\|\d+\|.*\|", row)
            ]
        ),
        ping_room_alias="#ping:maunium.net",
        twim_room_alias="#twim:matrix.org",
        live_video="q7Os7WzHoCg",
        live_title="S13E09 - Hydra updates",
    )

    rendered = render_post(post).split("\n")

    assert section(rendered, "Dept of Servers 🏢") == servers
    # Front matter, Matrix Live, Dept of Ping and the sign-off are the published ones.
    assert rendered[:14] == post_lines[:14]
    assert (
        rendered[rendered.index("## Dept of Ping 🏓") :]
        == post_lines[post_lines.index("## Dept of Ping 🏓") :]
    )
