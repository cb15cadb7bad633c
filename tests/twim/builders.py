"""Small builders for the TWIM tests: entries and posts with just the fields a test needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from mautrix.types import ContentURI, EventID, UserID

from plugins.twim.model import Attachment, Entry, Post, Section

SECTIONS = (
    Section("servers", "Dept of Servers 🏢", "🏢", 30),
    Section("clients", "Dept of Clients 📱", "📱", 60),
    Section("thoughts", "Final Thoughts 💭", "💭", 140),
)


def entry(
    text: str,
    *,
    event_id: str,
    sender: str = "@alice:example.org",
    name: str = "Alice",
    at: int = 0,
    section: str | None = "servers",
    **fields: Any,
) -> Entry:
    """An entry posted ``at`` milliseconds into the week."""
    return Entry(
        event_id=EventID(event_id),
        sender=UserID(sender),
        sender_name=name,
        posted_at=at,
        text=text,
        section=section,
        **fields,
    )


def image(event_id: str, filename: str, kind: Literal["image", "video"] = "image") -> Attachment:
    """An attachment whose upload is named ``filename``."""
    url = ContentURI(f"mxc://example.org/{event_id.strip('$')}")
    return Attachment(EventID(event_id), filename, url, kind)


def post(entries: Sequence[Entry] = (), **fields: Any) -> Post:
    """A post of 2021-01-29 by Ben Parsons over :data:`SECTIONS`."""
    fields.setdefault("sections", SECTIONS)
    return Post(date=date(2021, 1, 29), editor="Ben Parsons", entries=entries, **fields)


def blocks(markdown: str) -> list[str]:
    """The post's blocks: the pieces between blank lines."""
    return markdown.split("\n\n")
