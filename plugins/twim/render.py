"""A week's post rendered in the markdown of matrix.org's "This Week in Matrix".

The layout follows the published posts line for line: TOML front matter, Matrix Live,
one ``##`` section per department in configured order, ``###`` headings for projects
and for reports that bring their own, credited quotes, images, editors' notes, the Dept
of Ping and the sign-off. The front matter has no ``date``: Zola takes it from the file
name, and a render time would make the same week render differently each time.
"""

from __future__ import annotations

import hashlib
import os.path
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote as percent_encode

from mautrix.types import ContentURI

from .htmlmd import quote, split_heading
from .model import Attachment, Entry, Post, Project, Section
from .sanitize import escape_text, sanitize_markdown

__all__ = [
    "RETURNED",
    "VERBS",
    "attachment_files",
    "credit_verb",
    "format_median",
    "image_name",
    "ping_table",
    "post_filename",
    "render_post",
]

VERBS = ("said", "reported", "announced", "told us", "offered")
"""Verbs a credit line draws from."""
RETURNED = "returned to say"
"""The verb for a sender credited again right after their own entry."""

_IMAGE_PATH = "/blog/img/"
_PING_INTRO = (
    "Here we reveal, rank, and applaud the homeservers with the lowest ping, as measured by"
    " [pingbot](https://github.com/maubot/echo), a [maubot](https://github.com/maubot/maubot)"
    " that you can host on your own server."
)
_PING_JOIN = (
    "Join {room} to experience the fun live, and to find out how to add YOUR server to the game."
)
_SIGN_OFF = "See you next week, and be sure to stop by [{room}] with your updates!"

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_MAX_UPLOAD_NAME = 120
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def post_filename(day: date) -> str:
    """The post's file name: ``YYYY-MM-DD-this-week-in-matrix-YYYY-MM-DD.md``."""
    return f"{day.isoformat()}-this-week-in-matrix-{day.isoformat()}.md"


def image_name(post_date: date, event_id: str, filename: str) -> str:
    """The name an attachment is saved and shown under.

    ``YYYY-MM-DD-<5 chars of the event id after the $>-<file name without spaces>``.
    The upload's name comes from its sender, so only its last path component is kept,
    characters outside ``A-Za-z0-9._-`` become ``_`` and dot runs shrink to one dot:
    the result cannot leave the image folder.
    """
    upload = re.split(r"[/\\]", filename)[-1]
    upload = "".join(upload.split())
    if len(upload) > _MAX_UPLOAD_NAME:
        stem, extension = os.path.splitext(upload)
        extension = extension[:16]
        upload = stem[: _MAX_UPLOAD_NAME - len(extension)] + extension
    tag = event_id.removeprefix("$")[:5]
    name = _UNSAFE_NAME.sub("_", f"{post_date.isoformat()}-{tag}-{upload or 'file'}")
    return re.sub(r"\.{2,}", ".", name)


def credit_verb(seed: str) -> str:
    """A verb from :data:`VERBS`, always the same one for the same seed (an event id)."""
    digest = hashlib.sha256(seed.encode()).digest()
    return VERBS[int.from_bytes(digest[:4], "big") % len(VERBS)]


def format_median(median: float) -> str:
    """A median in milliseconds as the table shows it: ``437``, ``975.5``."""
    return str(int(median)) if float(median).is_integer() else str(median)


def ping_table(rows: Iterable[tuple[str, float]]) -> str:
    """The Dept of Ping table for ``(server name, median ms)`` rows, best first."""
    lines = ["|Rank|Hostname|Median MS|", "|:---:|:---:|:---:|"]
    for rank, (server, median) in enumerate(rows, start=1):
        lines.append(f"|{rank}|{escape_text(server)}|{format_median(median)}|")
    return "\n".join(lines)


def attachment_files(post: Post) -> dict[str, ContentURI]:
    """The files the post shows, by saved name, with the upload to fetch for each."""
    sections = {section.key for section in post.sections}
    return {
        image_name(post.date, attachment.event_id, attachment.filename): attachment.url
        for entry in post.entries
        if entry.section in sections
        for attachment in entry.attachments
    }


def render_post(post: Post) -> str:
    """The whole post as markdown, ready to be saved under :func:`post_filename`."""
    blocks = [_front_matter(post)]
    if post.live_video:
        blocks += _matrix_live(post)
    described: set[str] = set()
    entries = sorted(post.entries, key=lambda entry: (entry.posted_at, entry.event_id))
    for section in sorted(post.sections, key=lambda section: section.order):
        mine = [entry for entry in entries if entry.section == section.key]
        if mine:
            blocks += _SectionWriter(post, section, described).render(mine)
    if post.ping_table:
        blocks += _dept_of_ping(post)
    blocks += _closing(post)
    return "\n\n".join(block.strip("\n") for block in blocks) + "\n"


def _front_matter(post: Post) -> str:
    day = post.date.isoformat()
    lines = [
        "+++",
        f"title = {_toml_string(f'This Week in Matrix {day}')}",
        f"path = {_toml_string(f'/blog/{post.date:%Y/%m/%d}/this-week-in-matrix-{day}')}",
        "",
        "[taxonomies]",
        f"author = [{_toml_string(post.editor)}]",
        'category = ["This Week in Matrix"]',
    ]
    if post.header_image:
        image = post.header_image.replace("{date}", day)
        lines += ["", "[extra]", f"image = {_toml_string(image)}"]
    return "\n".join([*lines, "+++"])


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04X}", escaped) + '"'


def _matrix_live(post: Post) -> list[str]:
    video = post.live_video or ""
    if not _VIDEO_ID.fullmatch(video):
        raise ValueError(f"not a YouTube video id: {video!r}")
    blocks = ["## Matrix Live 🎙", f'{{{{ youtube_player(video_id="{video}") }}}}']
    if post.live_description:
        blocks.append(post.live_description)
    return blocks


def _dept_of_ping(post: Post) -> list[str]:
    blocks = ["## Dept of Ping 🏓", _PING_INTRO]
    if post.ping_room_alias:
        room = _room_link(post.ping_room_alias)
        blocks += [f"### {room}", _PING_JOIN.format(room=room)]
    blocks.append(sanitize_markdown(post.ping_table or ""))
    return blocks


def _closing(post: Post) -> list[str]:
    blocks = ["## That's all I know 🏁"]
    if post.closing:
        blocks.append(post.closing)
    room = post.twim_room_alias
    # Reference labels match without regard to case; the posts write the alias in
    # lower case in the sentence and as configured in the definition.
    blocks.append(_SIGN_OFF.format(room=room.lower()))
    blocks.append(f"[{room}]: {_matrix_to(room)}")
    return blocks


def _room_link(alias: str) -> str:
    return f"[{escape_text(alias)}]({_matrix_to(alias)})"


def _matrix_to(identifier: str) -> str:
    return "https://matrix.to/#/" + percent_encode(identifier, safe="@:!#/=+[]")


@dataclass
class _Place:
    """A ``###`` heading inside a section (or none, for ``key`` None) and its entries."""

    key: tuple[str, str] | None
    title: str = ""
    project: Project | None = None
    members: list[tuple[Entry, str]] = field(default_factory=list)


class _SectionWriter:
    """Writes one section: its places, credit lines, quotes, attachments and notes."""

    def __init__(self, post: Post, section: Section, described: set[str]) -> None:
        self.post = post
        self.section = section
        self.described = described
        self.projects = {project.name: project for project in post.projects}
        self.reserved = (post.twim_room_alias,)

    def render(self, entries: Sequence[Entry]) -> list[str]:
        blocks = [f"## {self.section.title}"]
        previous: Entry | None = None
        for place in self._places(entries):
            if place.key is not None:
                blocks += self._heading(place)
            for index, (entry, body) in enumerate(place.members):
                blocks += self._entry(entry, body, previous, same_place=index > 0)
                previous = entry
        return blocks

    def _places(self, entries: Sequence[Entry]) -> list[_Place]:
        """Entries without a heading first, then each place where its first entry was."""
        loose = _Place(key=None)
        places: dict[tuple[str, str], _Place] = {}
        for entry in entries:
            place, body = self._place_of(entry)
            if place.key is None:
                loose.members.append((entry, body))
            else:
                places.setdefault(place.key, place).members.append((entry, body))
        return [loose, *places.values()]

    def _place_of(self, entry: Entry) -> tuple[_Place, str]:
        """Where an entry stands, and the text of its quote."""
        if entry.project is not None:
            project = self.projects.get(entry.project) or Project(entry.project, entry.project)
            place = _Place(key=("project", project.name), title=project.title, project=project)
            return place, entry.text
        if entry.heading:
            heading: str | None = entry.heading
            body = entry.text
        else:
            heading, body = split_heading(entry.text)
        if heading is None:
            return _Place(key=None), body
        title = sanitize_markdown(" ".join(heading.split()), self.reserved)
        return _Place(key=("heading", title), title=title), body

    def _entry(
        self, entry: Entry, body: str, previous: Entry | None, *, same_place: bool
    ) -> list[str]:
        blocks: list[str] = []
        if previous is None or previous.sender != entry.sender:
            blocks.append(self._credit(entry, credit_verb(entry.event_id)))
        elif not same_place or previous.notes:
            # Items of one sender in one place share a credit line unless they stand
            # apart, under another heading or after an editor's note.
            blocks.append(self._credit(entry, RETURNED))
        if body.strip():
            blocks.append(quote(sanitize_markdown(body, self.reserved)))
        blocks += [self._attachment(attachment) for attachment in entry.attachments]
        blocks += [note for note in entry.notes if note.strip()]
        return blocks

    def _heading(self, place: _Place) -> list[str]:
        blocks = [f"### {place.title}"]
        project = place.project
        if project is not None and project.description and project.name not in self.described:
            self.described.add(project.name)
            blocks.append(project.description)
        return blocks

    def _credit(self, entry: Entry, verb: str) -> str:
        name = escape_text(entry.sender_name) or escape_text(entry.sender)
        return f"[{name}]({_matrix_to(entry.sender)}) {verb}:"

    def _attachment(self, attachment: Attachment) -> str:
        name = image_name(self.post.date, attachment.event_id, attachment.filename)
        # The blog cannot embed a video from a markdown image, so a video is a link.
        bang = "!" if attachment.kind == "image" else ""
        return f"{bang}[{name}]({_IMAGE_PATH}{name})"
