"""Benchmark: rendering a week's TWIM post of 500 entries with :func:`render_post`.

It is timed with each shipped template and, when found next to the checkout (as
``shared/reference/twim-config/template.md`` in a parent folder), with twim-config's
own template as Hebbot uses it.

The entries look like a busy week's reports: several paragraphs of markdown with
links, code and lists, some with their own heading, most filed under a project,
a few with images and editors' notes, spread over the configured sections.

    python -m bench.twim_render [--entries 500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from mautrix.types import ContentURI, EventID, UserID

from plugins.twim.model import Attachment, Entry, Post, Project, Section
from plugins.twim.render import render_post

__all__ = ["make_post", "measure"]

_SECTIONS = [
    Section("spec", "Dept of Spec 📜", "📜", 1),
    Section("servers", "Dept of Servers 🏢", "🏢", 2),
    Section("clients", "Dept of Clients 📱", "📱", 3),
    Section("bots", "Dept of Bots 🤖", "🤖", 4),
    Section("events", "Dept of Events and Talks 🗣️", "🗣️", 5),
]
_PARAGRAPHS = [
    "We released **version {n}** with [a changelog](https://example.org/{n}) and fixes "
    "for `/sync` under load.",
    "- faster room list\n- threads in the timeline\n- `m.mentions` everywhere",
    "Thanks to everyone who tested the release candidates in #room{n}:example.org!",
    "```\nbotkit run -c config.yaml\n```",
    "Read more in the [announcement](https://example.org/blog/{n}), *including* the "
    "migration notes <https://example.org/migrate>.",
]


def make_post(entries: int, seed: int = 1) -> Post:
    """A post with ``entries`` reports over every section, reproducibly random."""
    rng = random.Random(seed)
    projects = [
        Project(f"project{i}", f"Project {i}", f"Project {i} does *things*.", None)
        for i in range(60)
    ]
    made = []
    for i in range(entries):
        text = "\n\n".join(p.format(n=i) for p in rng.sample(_PARAGRAPHS, rng.randint(1, 4)))
        if rng.random() < 0.2:
            text = f"### A heading of report {i}\n\n{text}"
        attachments = []
        if rng.random() < 0.15:
            url = ContentURI(f"mxc://example.org/img{i}")
            attachments.append(Attachment(EventID(f"$img{i}"), f"screenshot {i}.png", url))
        made.append(
            Entry(
                event_id=EventID(f"$report{i}"),
                sender=UserID(f"@user{rng.randrange(120)}:example.org"),
                sender_name=f"User {i % 120}",
                posted_at=1_700_000_000_000 + i * 60_000,
                text=text,
                section=rng.choice(_SECTIONS).key,
                project=rng.choice(projects).name if rng.random() < 0.7 else None,
                attachments=attachments,
                notes=["Editor's note: *nice*!"] if rng.random() < 0.05 else [],
            )
        )
    return Post(
        date=date(2024, 6, 7),
        editor="Bench",
        sections=_SECTIONS,
        projects=projects,
        entries=made,
        ping_table="|Rank|Hostname|Median MS|\n|:---:|:---:|:---:|\n|1|example.org|100|",
        ping_room_alias="#ping:maunium.net",
    )


def templates() -> list[tuple[str, str]]:
    """(label, template) pairs to time: the shipped ones and twim-config's if present."""
    found = [("2021", "2021"), ("current", "current")]
    for parent in Path(__file__).resolve().parents:
        real = parent / "shared" / "reference" / "twim-config" / "template.md"
        if real.is_file():
            found.append(("twim-config template.md", str(real)))
            break
    return found


def measure(entries: int = 500, repeats: int = 5) -> list[tuple[str, str]]:
    """Time :func:`render_post` (median of ``repeats``) per template; (what, figure) pairs."""
    figures = []
    for label, template in templates():
        post = replace(make_post(entries), template=template)
        times, size = [], 0
        for _ in range(repeats):
            started = time.perf_counter()
            size = len(render_post(post))
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        figures += [
            (f"twim render_post, {entries} entries, {label}", f"{median * 1000:.1f} ms"),
            (f"twim post size, {label}", f"{size / 1024:.0f} KiB"),
        ]
    return figures


def main() -> None:
    """Command line: print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for what, figure in measure(args.entries, args.repeats):
        print(f"{what}: {figure}")


if __name__ == "__main__":
    main()
