"""Edits after an editor's approval: the post keeps the approved version until re-approved.

An editor's ⭕ approves a report as it reads when the bot receives the reaction. An
edit the sender makes afterwards (new text, or another image) is not in the post
until an editor approves again, by reacting ⭕ once more (in most clients: take the
⭕ away and add it again) or with ``!twim approve <event>``; until then the post
prints the version that was approved, which is what the editor read and chose.
Edits by an editor need no approval.

Which edit came after which approval is decided by the order the bot received them
in, not by their timestamps (see :mod:`.schema`).
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Iterable, Sequence
from dataclasses import replace
from urllib.parse import quote, unquote

from mautrix.types import EventID, Format, MessageType, RoomID, TextMessageEventContent, UserID

from .htmlmd import message_markdown
from .rows import MessageRow, ReactionRow
from .settings import Settings, fold
from .store import TwimStore

__all__ = [
    "approval",
    "edit_diff",
    "edit_notice",
    "edited",
    "report_id",
    "review_notice",
    "split_edits",
]

REAPPROVE = "react ⭕ to it again (take your ⭕ away and add it back) or say !twim approve"
"""How an editor approves an edit, as the bot tells them."""


def edited(original: MessageRow, edit: MessageRow) -> MessageRow:
    """The original as ``edit`` changed it: new text, the file kept unless replaced."""
    return replace(
        original,
        msgtype=edit.msgtype,
        body=edit.body,
        formatted_body=edit.formatted_body,
        format=edit.format,
        media_url=edit.media_url or original.media_url,
        filename=edit.filename or original.filename,
        mimetype=edit.mimetype or original.mimetype,
        # The new content's m.mentions are the whole set, but a client may leave them
        # out: a report stays addressed to the bot, as Hebbot keeps its news on an edit.
        mentions=edit.mentions or original.mentions,
    )


def approval(
    reactions: Iterable[ReactionRow], editors: frozenset[UserID], notice_emoji: str
) -> int | None:
    """The number of arrival of the latest editor's ⭕ among ``reactions``, if any."""
    notice = fold(notice_emoji)
    seqs = [r.seq for r in reactions if r.sender in editors and fold(r.key) == notice]
    return max(seqs) if seqs else None


def split_edits(
    original: MessageRow,
    edits: Sequence[MessageRow],
    approved: int | None,
    editors: frozenset[UserID],
) -> tuple[MessageRow, MessageRow | None]:
    """The version the post prints and, if there is one, the latest edit awaiting approval.

    ``edits`` are the sender's edits of ``original`` in order of arrival; ``approved``
    is the latest approval's number (None: not included, so every edit counts).
    """
    current, pending = original, None
    for edit in edits:
        if approved is None or edit.seq <= approved or edit.sender in editors:
            current = edited(current, edit)
        else:
            pending = edited(pending or current, edit)
    return current, pending


async def edit_diff(before: MessageRow, after: MessageRow) -> str:
    """The changes from ``before`` to ``after``, as a unified diff of their markdown."""
    old = await message_markdown(before.body, before.formatted_body, before.format)
    new = await message_markdown(after.body, after.formatted_body, after.format)
    lines = list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), "approved", "edited", lineterm="", n=2
        )
    )
    if before.media_url != after.media_url:
        lines.append(f"file: {before.filename} ({before.media_url})")
        lines.append(f"   → {after.filename} ({after.media_url})")
    return "\n".join(lines) or "(no visible change)"


def report_id(text: str) -> EventID | None:
    """The event ID in ``text``: a bare ``$id`` or a matrix.to link to an event."""
    text = text.strip().strip("<>")
    if "matrix.to/#/" in text:
        path = text.split("matrix.to/#/", 1)[1].split("?", 1)[0]
        text = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    return EventID(text) if text.startswith("$") and len(text) > 1 else None


def review_notice(
    sender_name: str, room_id: RoomID, event_id: EventID, diff: str
) -> TextMessageEventContent:
    """The notice that tells the editors an approved report was edited, with the diff."""
    link = f"https://matrix.to/#/{quote(room_id)}/{quote(event_id)}"
    approve = f"!twim approve {event_id}"
    intro = (
        f"{sender_name} edited a report after it was included ({link}). The post keeps "
        f"the approved version until an editor approves the edit: {REAPPROVE} ({approve})."
    )
    return TextMessageEventContent(
        msgtype=MessageType.NOTICE,
        body=f"{intro}\n\n{diff}",
        format=Format.HTML,
        formatted_body=(
            f"<p>{html.escape(sender_name)} edited "
            f'<a href="{html.escape(link)}">a report</a> after it was included. The post '
            f"keeps the approved version until an editor approves the edit: {REAPPROVE} "
            f"(<code>{html.escape(approve)}</code>).</p>"
            f"<pre><code>{html.escape(diff)}</code></pre>"
        ),
    )


async def edit_notice(
    store: TwimStore, settings: Settings, edit: MessageRow, cutoff_seq: int
) -> TextMessageEventContent | None:
    """The notice for the editors if ``edit`` (stored) changes an approved report of the
    week (one received after ``cutoff_seq``), else None."""
    editors = settings.editors
    original = await store.message(edit.replaces) if edit.replaces else None
    if original is None or original.sender != edit.sender or edit.sender in editors:
        return None
    if original.seq <= cutoff_seq or await store.is_redacted(original.event_id):
        return None
    approved = approval(await store.reactions_to(original.event_id), editors, settings.notice_emoji)
    if approved is None or approved > edit.seq:
        return None
    earlier = [
        e
        for e in await store.edits(original.event_id)
        if e.sender == original.sender and e.seq < edit.seq
    ]
    kept, pending = split_edits(original, earlier, approved, editors)
    diff = await edit_diff(kept, edited(pending or kept, edit))
    return review_notice(original.sender_name, original.room_id, original.event_id, diff)
