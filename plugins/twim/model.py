"""The week's post as data: its sections, projects and entries, and what frames them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from mautrix.types import ContentURI, EventID, UserID

__all__ = ["Attachment", "Entry", "Post", "Project", "Section"]


@dataclass(frozen=True)
class Section:
    """A part of the post such as "Dept of Servers", as configured.

    ``title`` is the whole heading (``Dept of Servers 🏢``); ``emoji`` is the reaction
    with which an editor files an entry here; sections appear in ascending ``order``.
    """

    key: str
    title: str
    emoji: str
    order: int
    usual_reporters: tuple[str, ...] = ()
    """Matrix IDs whose reports usually belong here (from Hebbot's config)."""


@dataclass(frozen=True)
class Project:
    """A project that reports are about, as configured.

    ``name`` is what editors react with; ``title`` heads the project's entries;
    ``description`` (markdown, may be empty) is printed once per post under that
    heading; ``section`` is the key of the section its reports usually go to;
    ``aliases`` are further names by which a report's text suggests the project.
    ``emoji`` is the reaction that tags a report with it when that is not ``name``
    (Hebbot's projects react with e.g. ``Emt Client`` for ``element``); ``website``
    and ``usual_reporters`` come from Hebbot's config.
    """

    name: str
    title: str
    description: str = ""
    section: str | None = None
    aliases: tuple[str, ...] = ()
    emoji: str = ""
    website: str = ""
    usual_reporters: tuple[str, ...] = ()

    @property
    def reaction(self) -> str:
        """The reaction key that tags a report with this project."""
        return self.emoji or self.name


@dataclass(frozen=True)
class Attachment:
    """An image or video posted with a report, saved next to the post.

    ``filename`` is the name the sender's client gave the upload; the saved file's name
    comes from :func:`plugins.twim.render.image_name`.
    """

    event_id: EventID
    filename: str
    url: ContentURI
    kind: Literal["image", "video"] = "image"


@dataclass(kw_only=True)
class Entry:
    """One report included in the post.

    ``text`` is the report as markdown, already converted from the message (see
    :func:`plugins.twim.htmlmd.message_markdown`); the renderer quotes and sanitises
    it. ``posted_at`` is the message's ``origin_server_ts`` in milliseconds. An entry
    whose ``section`` is None or not configured is not in the post yet. ``heading``
    overrides a heading taken from the text's first line; ``notes`` are the editors'
    remarks (markdown), printed after the entry as they are.
    """

    event_id: EventID
    sender: UserID
    sender_name: str
    posted_at: int
    text: str
    section: str | None = None
    project: str | None = None
    heading: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class Post:
    """Everything one week's post is rendered from.

    ``editor`` is the author's name. ``header_image`` is the URL in the front matter,
    where ``{date}`` stands for the post's date. ``live_video`` is the YouTube id of
    the week's Matrix Live, with ``live_description`` (markdown) under it.
    ``ping_table`` is the ready markdown table of the Dept of Ping (None leaves the
    section out) and ``ping_room_alias`` the room it comes from. ``closing`` is the
    editor's last word before the sign-off, which invites readers to
    ``twim_room_alias``.

    ``template`` is the template it is rendered with (``current``, ``2021`` or a file's
    path); ``timestamp`` is the template's ``timestamp`` (default: the post's date at
    midnight UTC); ``verbs`` are the credit verbs (empty: the template's own);
    ``live_title`` follows "Matrix Live" in the heading; ``file_name`` is the pattern of
    the post's file name, ``{date}`` standing for its date (None: the template's own);
    ``config`` is what a template sees as ``config`` (Hebbot's config keys).
    """

    date: date
    editor: str
    sections: Sequence[Section]
    projects: Sequence[Project] = ()
    entries: Sequence[Entry] = ()
    header_image: str | None = None
    live_video: str | None = None
    live_description: str | None = None
    ping_table: str | None = None
    ping_room_alias: str | None = None
    closing: str | None = None
    twim_room_alias: str = "#TWIM:matrix.org"
    template: str = "2021"
    timestamp: datetime | None = None
    verbs: Sequence[str] = ()
    live_title: str | None = None
    file_name: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def unplaced(self) -> list[Entry]:
        """Entries the post leaves out because they have no configured section."""
        keys = {section.key for section in self.sections}
        return [entry for entry in self.entries if entry.section not in keys]
