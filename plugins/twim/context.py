"""What a post's template sees: Hebbot's context, and the layout of the 2021 format.

Hebbot (``src/render.rs``) gives its template ``timestamp``, ``editor``, ``config``,
``projects`` (the names of the week's projects) and ``sections``: a mapping from
``"<order>-<name>"`` (so that ``dictsort`` puts them in order) to the section, its
news without a project, and its projects, each with its news. A news item has
``reporter_id``, ``reporter_display_name``, ``timestamp``, ``message``, ``images`` and
``videos`` (``(file name, mxc URI)`` pairs, named ``<media id>_<upload name>``).
Like Hebbot, a project reported under a section other than its default one appears
there separately, and a section's projects come in reverse order of their names
(Hebbot prepends them while it walks them sorted). Hebbot takes news in no fixed
order; here they come as they were posted.

Besides, each item carries what the plugin's own templates need (``heading``,
the report's first-line heading or the one an editor set, ``text``, the message
without a first-line heading, ``verb``, ``attachments``, ``notes``), each project its
``first_at`` (when its first report was posted, for the order of arrival), and ``twim``
holds the 2021 layout: credit lines, quotes and headings worked out by the rules of the
published 2021 posts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from .htmlmd import quote, split_heading
from .model import Attachment, Entry, Post, Project, Section
from .sanitize import sanitize_markdown

__all__ = [
    "IMAGE_MARKDOWN",
    "RETURNED",
    "VIDEO_MARKDOWN",
    "credit_verb",
    "hebbot_name",
    "project_view",
    "section_view",
    "template_context",
]

RETURNED = "returned to say"
"""The verb for a sender credited again right after their own entry (2021)."""

IMAGE_MARKDOWN = "> ![](/blog/img/{{file}})"
"""How the current template shows an image unless config says otherwise."""
VIDEO_MARKDOWN = '> {{< video src="/blog/img/{{file}}" >}}'
"""How the current template shows a video unless config says otherwise."""

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def credit_verb(seed: str, verbs: Sequence[str]) -> str:
    """One of ``verbs``, always the same one for the same seed (an event id)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return verbs[int.from_bytes(digest[:4], "big") % len(verbs)]


def hebbot_name(attachment: Attachment) -> str:
    """Hebbot's name for a file: ``<media id>_<upload name>``, made safe to save.

    The upload's name comes from its sender: only its last path component is kept and
    characters outside ``A-Za-z0-9._-`` become ``_``, so it cannot leave the folder.
    """
    media = attachment.url.rsplit("/", 1)[-1]
    upload = re.split(r"[/\\]", attachment.filename)[-1] or "file"
    return re.sub(r"\.{2,}", ".", _UNSAFE_NAME.sub("_", f"{media}_{upload}"))


def template_context(post: Post, image_name: Any, verbs: Sequence[str]) -> dict[str, Any]:
    """Everything the post's template sees (see the module's docstring).

    ``config`` is ``post.config`` with ``verbs`` and, where empty, ``image_markdown``
    and ``video_markdown`` filled in.

    ``image_name(date, event id, upload name)`` names files for the 2021 layout;
    ``verbs`` are the credit verbs when ``post.verbs`` is empty.
    """
    verbs = tuple(post.verbs) or tuple(verbs)
    reserved = (post.twim_room_alias,)

    def clean(text: str) -> str:
        return sanitize_markdown(text, reserved)

    sections = {section.key: section for section in post.sections}
    projects = {project.name: project for project in post.projects}
    entries = sorted(
        (entry for entry in post.entries if entry.section in sections),
        key=lambda entry: (entry.posted_at, entry.event_id),
    )
    news: dict[str, dict[str, Any]] = {
        entry.event_id: _news(post, entry, verbs, clean, image_name) for entry in entries
    }
    timestamp = post.timestamp or datetime.combine(post.date, time(), UTC)
    return {
        "timestamp": timestamp,
        "date": post.date.isoformat(),
        "editor": post.editor,
        "config": {
            **post.config,
            "verbs": list(verbs),
            "image_markdown": post.config.get("image_markdown") or IMAGE_MARKDOWN,
            "video_markdown": post.config.get("video_markdown") or VIDEO_MARKDOWN,
        },
        "projects": sorted({entry.project for entry in entries if entry.project}),
        "sections": _hebbot_sections(entries, news, sections, projects),
        "ping_table": _ping_rows(post.ping_table),
        "post": {
            "header_image": (post.header_image or "").replace("{date}", post.date.isoformat()),
            "live_video": post.live_video or "",
            "live_title": post.live_title or "",
            "live_description": (post.live_description or "").strip("\n"),
            "ping_table": sanitize_markdown(post.ping_table or "").strip("\n"),
            "has_ping": bool(post.ping_table),
            "ping_room_alias": post.ping_room_alias or "",
            "twim_room_alias": post.twim_room_alias,
            "closing": (post.closing or "").strip("\n"),
        },
        "twim": _layout_2021(post, entries, news, projects, reserved),
    }


def _news(
    post: Post, entry: Entry, verbs: Sequence[str], clean: Callable[[str], str], image_name: Any
) -> dict[str, Any]:
    def files(kind: str) -> list[tuple[str, str]]:
        return [(hebbot_name(a), str(a.url)) for a in entry.attachments if a.kind == kind]

    # A first-line heading leaves the quote (PROTOCOL §3); Hebbot's own templates know
    # only "message", the whole text, so that stays as it was.
    heading, body = (entry.heading, entry.text) if entry.heading else split_heading(entry.text)
    return {
        "event_id": entry.event_id,
        "reporter_id": entry.sender,
        "reporter_display_name": entry.sender_name or entry.sender,
        "timestamp": datetime.fromtimestamp(entry.posted_at / 1000, UTC),
        "message": clean(entry.text).strip("\n"),
        "images": files("image"),
        "videos": files("video"),
        "heading": clean(" ".join(heading.split())) if heading else None,
        "text": clean(body).strip("\n"),
        "verb": credit_verb(entry.event_id, verbs),
        "attachments": [
            {"name": image_name(post.date, a.event_id, a.filename), "kind": a.kind}
            for a in entry.attachments
        ],
        "notes": [note.strip("\n") for note in entry.notes if note.strip()],
    }


def project_view(project: Project) -> dict[str, Any]:
    return {
        "emoji": project.reaction,
        "name": project.name,
        "title": project.title,
        "description": project.description,
        "website": project.website,
        "default_section": project.section or "",
        "usual_reporters": list(project.usual_reporters),
    }


def section_view(section: Section) -> dict[str, Any]:
    return {
        "emoji": section.emoji,
        "name": section.key,
        "title": section.title,
        "order": section.order,
        "usual_reporters": list(section.usual_reporters),
    }


def _hebbot_sections(
    entries: Sequence[Entry],
    news: Mapping[str, dict[str, Any]],
    sections: dict[str, Section],
    projects: dict[str, Project],
) -> dict[str, dict[str, Any]]:
    rendered: dict[str, dict[str, Any]] = {}
    by_project: dict[str, dict[str, Any]] = {}

    def section_slot(key: str) -> dict[str, Any]:
        section = sections[key]
        return rendered.setdefault(
            f"{section.order}-{key}",
            {"section": section_view(section), "news": [], "projects": []},
        )

    for entry in entries:
        assert entry.section is not None
        if entry.project is None:
            section_slot(entry.section)["news"].append(news[entry.event_id])
            continue
        project = projects.get(entry.project) or Project(entry.project, entry.project)
        moved = entry.section != project.section
        key = f"{project.name}-{entry.section}" if moved else project.name
        slot = by_project.setdefault(
            key,
            {
                "project": project_view(project),
                "news": [],
                "overwritten_section": entry.section if moved else None,
                "section_key": entry.section,
                "first_at": entry.posted_at,
            },
        )
        slot["news"].append(news[entry.event_id])
    for key in sorted(by_project):
        slot = by_project[key]
        section_slot(slot.pop("section_key"))["projects"].insert(0, slot)
    return rendered


def _ping_rows(table: str | None) -> str:
    """The rows of a ping table without its two header lines, as Hebbot's template wants."""
    lines = sanitize_markdown(table or "").strip("\n").split("\n")
    return "\n".join(line for line in lines[2:] if line) if len(lines) > 2 else ""


@dataclass
class _Place:
    """A ``###`` heading inside a section (or none, for ``key`` None) and its entries."""

    key: tuple[str, ...] | None
    title: str = ""
    project: Project | None = None
    members: list[tuple[Entry, str]] = field(default_factory=list)


def _layout_2021(
    post: Post,
    entries: Sequence[Entry],
    news: Mapping[str, dict[str, Any]],
    projects: dict[str, Project],
    reserved: Sequence[str],
) -> list[dict[str, Any]]:
    """The sections of the 2021 format: places, then credit lines, quotes and notes."""
    described: set[str] = set()
    layout = []
    for section in sorted(post.sections, key=lambda section: section.order):
        mine = [entry for entry in entries if entry.section == section.key]
        if not mine:
            continue
        places = []
        previous: Entry | None = None
        for place in _places(mine, projects, reserved):
            description = ""
            if place.project is not None and place.project.name not in described:
                described.add(place.project.name)
                description = place.project.description.strip("\n")
            items = []
            for index, (entry, body) in enumerate(place.members):
                verb: str | None = news[entry.event_id]["verb"]
                if previous is not None and previous.sender == entry.sender:
                    # Items of one sender in one place share a credit line unless they
                    # stand apart, under another heading or after an editor's note.
                    verb = RETURNED if index == 0 or previous.notes else None
                body = sanitize_markdown(body, reserved)
                text = quote(body) if body.strip() else ""
                items.append({**news[entry.event_id], "verb": verb, "quote": text})
                previous = entry
            places.append({"title": place.title, "description": description, "news": items})
        layout.append({"title": section.title, "places": places})
    return layout


def _places(
    entries: Sequence[Entry], projects: dict[str, Project], reserved: Sequence[str]
) -> list[_Place]:
    """Entries without a heading first, then each place where its first entry was."""
    loose = _Place(key=None)
    places: dict[tuple[str, ...], _Place] = {}
    for entry in entries:
        place, body = _place_of(entry, projects, reserved)
        if place.key is None:
            loose.members.append((entry, body))
        else:
            places.setdefault(place.key, place).members.append((entry, body))
    return [loose, *places.values()]


def _place_of(
    entry: Entry, projects: dict[str, Project], reserved: Sequence[str]
) -> tuple[_Place, str]:
    """Where an entry stands, and the text of its quote."""
    if entry.heading:
        heading: str | None = entry.heading
        body = entry.text
    else:
        heading, body = split_heading(entry.text)
    title = sanitize_markdown(" ".join(heading.split()), reserved) if heading else ""
    if entry.project is not None:
        project = projects.get(entry.project) or Project(entry.project, entry.project)
        if not title:
            return _Place(("project", project.name), project.title, project), entry.text
        # The report's own heading stands for the project's there (PROTOCOL §3); the
        # project is still described once, under its first heading in the post.
        return _Place(("project", project.name, title), title, project), body
    if not title:
        return _Place(key=None), body
    return _Place(("heading", title), title), body
