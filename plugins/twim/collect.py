"""From the stored messages and reactions of the week to the entries of the post.

Nothing here touches the network or the database: :func:`collect` gets the week's rows
and the settings and derives everything again each time. So an edit shows its latest
text, and a redacted message, reaction or edit simply stops counting.

The rules, in the order they apply:

- A message reads as its sender last edited it, except that an edit received after an
  editor's latest ⭕ waits for approval (:mod:`.review`): the post keeps the approved
  version, and the edit is a warning.
- Only editors' reactions count, and never the bot's own. The notice emoji includes a
  message (with ``reports: mentions`` a report that addresses the bot and is not too
  short is included by itself, as Hebbot stores it as news); a section's emoji files
  it there; a project's name (or the bot's suggestion ``name ?``) tags it. When an
  editor reacts twice the same way, the latest reaction wins. A project's usual
  section stands in when no section was given.
- An included image or video sent as a reply to an included report goes with it.
  Otherwise it is attached to the sender's included report that it follows, looking
  back over the sender's own consecutive messages; failing that it goes with the
  report it precedes, as an item of its own just before it, so that the
  post keeps the order in which they were posted. Failing both it is an entry itself.
- An editor's reply to an included message is a note, printed after its entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from mautrix.types import EventID, MessageType, RoomID, UserID

from .htmlmd import message_markdown, split_heading
from .mention import addresses, strip_mention
from .model import Attachment, Entry, Project
from .review import REAPPROVE, approval, split_edits
from .rows import MEDIA_TYPES, MessageRow, ReactionRow, valid_mxc
from .sanitize import sanitize_markdown
from .settings import Settings, fold, project_key
from .store import WeekRows

__all__ = [
    "SHORT_REPORT",
    "Issue",
    "IssueKind",
    "NewReport",
    "Week",
    "bot_names",
    "collect",
    "new_report",
    "preset_reactions",
    "refusal",
    "suggestions",
]

SHORT_REPORT = 30
"""Reports with fewer characters than this get a warning: usually a slip of the hand."""

_BAD_MEDIA = "its file's address is not a valid mxc:// URI, so the post leaves it out"

TEXT_TYPES = frozenset({MessageType.TEXT.value, MessageType.NOTICE.value, MessageType.EMOTE.value})

IssueKind = Literal[
    "edited", "empty", "bad_media", "no_section", "unconfirmed_project", "short", "not_included"
]


@dataclass(frozen=True)
class Issue:
    """Something the editors should look at before publishing."""

    kind: IssueKind
    event_id: EventID
    room_id: RoomID
    sender_name: str
    snippet: str
    detail: str = ""


@dataclass
class Week:
    """The entries of the week, oldest first, and the issues found on the way."""

    entries: list[Entry] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


@dataclass
class _Marks:
    """What the editors' reactions say about one message."""

    included: bool = False
    section: str | None = None
    project: str | None = None
    tagged: bool = False


def suggestions(text: str, projects: Iterable[Project]) -> list[Project]:
    """The projects whose name or an alias appears in ``text`` as a word of its own."""
    found = []
    for project in projects:
        names = "|".join(re.escape(name) for name in (project.name, *project.aliases) if name)
        if names and re.search(rf"(?<![\w-])(?:{names})(?![\w-])", text, re.IGNORECASE):
            found.append(project)
    return found


def preset_reactions(sender: str, text: str, settings: Settings, limit: int = 3) -> list[str]:
    """The reactions the bot puts on a new report to save the editors work, as Hebbot
    does: ``<project reaction> ?`` for up to ``limit`` projects it names, and the emoji
    of each section whose usual reporters include ``sender``."""
    keys = [f"{project.reaction} ?" for project in suggestions(text, settings.projects)]
    keys = keys[:limit]
    keys += [s.emoji for s in settings.sections if sender in s.usual_reporters]
    return keys


def bot_names(bot: UserID, display_names: Iterable[str] = ()) -> tuple[str, ...]:
    """The names by which a report may address the bot at its start: "TWIM", its
    user name, and its ``display_names`` (its profile's and its rooms')."""
    names = ["TWIM", bot.split(":")[0].lstrip("@")]
    names += (name.strip() for name in display_names if name and name.strip())
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class NewReport:
    """What the bot does with a new message in a TWIM room, as Hebbot does on receipt."""

    reactions: list[str]
    """The reactions it presets (:func:`preset_reactions`)."""
    short: str | None = None
    """The notice to the reporter that the report is too short for the post."""
    report: bool = False
    """Whether it is a report that addressed the bot and is long enough: Hebbot's
    "submitted a news entry", which ``ack: receipt`` thanks with ``ack_text``."""


def new_report(
    row: MessageRow, settings: Settings, bot: UserID, names: Sequence[str], limit: int = 3
) -> NewReport:
    """What the bot does with a new message (``names``: :func:`bot_names`). With
    ``reports: mentions`` only a message that addresses the bot is a report; only such
    a message is told it is too short (``min_length``), as Hebbot tells it, so that
    chat in the room is left alone."""
    addressed = addresses(row.body, row.formatted_body, bot, names, row.mentions)
    if settings.reports == "mentions" and not addressed:
        return NewReport([])
    keys = preset_reactions(row.sender, row.body, settings, limit)
    text = strip_mention(row.body, bot, names).strip()
    if addressed and settings.min_length and len(text) < settings.min_length:
        short = (
            f"{row.sender_name or row.sender}: your update is too short for the post"
            f" ({len(text)} characters; at least {settings.min_length}, please)."
        )
        return NewReport(keys, short)
    return NewReport(keys, report=addressed)


def refusal(
    target: MessageRow | None, *, redacted: bool, cutoff_seq: int, bot: UserID
) -> str | None:
    """Why an editor's reaction on ``target`` cannot put it in the post, or None.

    ``cutoff_seq`` is the last post's command in the order of arrival: messages
    received before it belong to that post.
    """
    if target is None:
        return "I have not seen that message, or it is in a room I do not watch"
    if target.replaces is not None:
        return "it is an edit; react to the original message instead"
    if redacted:
        return "it was deleted"
    if target.sender == bot:
        return "it is one of my own messages"
    if target.seq <= cutoff_seq:
        return "it was sent before the last post was published, so its week is over"
    if target.msgtype not in TEXT_TYPES and target.msgtype not in MEDIA_TYPES:
        return "only text, images and videos can go into the post"
    if target.msgtype in MEDIA_TYPES and target.media_url is None:
        return "its file is encrypted or missing"
    if target.msgtype in MEDIA_TYPES and not valid_mxc(target.media_url or ""):
        return _BAD_MEDIA
    if target.msgtype in TEXT_TYPES and not target.body.strip():
        return "it is empty"
    return None


async def collect(
    rows: WeekRows, settings: Settings, bot: UserID, names: Sequence[str] | None = None
) -> Week:
    """The week's entries and issues, from its stored rows; ``names`` are the bot's
    (:func:`bot_names`, by default without a display name)."""
    return await _Collector(rows, settings, bot, names or bot_names(bot)).run()


class _Collector:
    def __init__(
        self, rows: WeekRows, settings: Settings, bot: UserID, names: Sequence[str]
    ) -> None:
        self.settings = settings
        self.bot = bot
        self.names = names
        self.week = Week()
        gone = rows.redacted
        originals = {
            m.event_id: m
            for m in rows.messages
            if m.replaces is None and m.event_id not in gone and m.sender != bot
        }
        # Only the sender edits their message; rows come in order of arrival.
        edits: dict[EventID, list[MessageRow]] = {}
        for edit in rows.messages:
            original = originals.get(edit.replaces) if edit.replaces else None
            if (
                original is not None
                and edit.event_id not in gone
                and edit.sender == original.sender
            ):
                edits.setdefault(original.event_id, []).append(edit)
        reactions = [r for r in rows.reactions if r.event_id not in gone]
        approvals: dict[EventID, list[ReactionRow]] = {}
        for reaction in reactions:
            approvals.setdefault(reaction.target, []).append(reaction)
        self.messages: dict[EventID, MessageRow] = {}
        self.pending: dict[EventID, MessageRow] = {}
        for event_id, original in originals.items():
            approved = approval(
                approvals.get(event_id, ()), settings.editors, settings.notice_emoji
            )
            current, pending = split_edits(
                original, edits.get(event_id, []), approved, settings.editors
            )
            self.messages[event_id] = current
            if pending is not None:
                self.pending[event_id] = pending
        self.marks = self._marks(reactions)

    def _marks(self, reactions: Iterable[ReactionRow]) -> dict[EventID, _Marks]:
        notice = fold(self.settings.notice_emoji)
        sections = {fold(s.emoji): s.key for s in self.settings.sections}
        projects = self.settings.project_reactions()
        marks: dict[EventID, _Marks] = {}
        for reaction in sorted(reactions, key=lambda r: (r.seq, r.ts, r.event_id)):
            target = self.messages.get(reaction.target)
            if target is None or not self.settings.counts(
                reaction.sender, reaction.key, target.sender
            ):
                continue
            mark = marks.setdefault(reaction.target, _Marks())
            key = fold(reaction.key)
            if key == notice:
                mark.included = True
            elif key in sections:
                mark.section, mark.tagged = sections[key], True
            elif project_key(reaction.key) in projects:
                mark.project, mark.tagged = projects[project_key(reaction.key)], True
        return marks

    async def run(self) -> Week:
        ordered = sorted(self.messages.values(), key=lambda m: (m.seq, m.ts, m.event_id))
        notes = [m for m in ordered if self._is_note(m)]
        noted = {m.event_id for m in notes}
        candidates = [m for m in ordered if m.event_id not in noted]
        # Each entry under its own event id; ``owners`` also maps attached files to the
        # entry that shows them, for the notes that reply to a file.
        entries: dict[EventID, Entry] = {}
        for message in candidates:
            mark = self.marks.get(message.event_id, _Marks())
            pending = self.pending.get(message.event_id)
            if pending is not None and mark.included:
                self._issue("edited", pending, f"the post keeps the approved version; {REAPPROVE}")
            if not mark.included and self._submitted(message):
                mark = replace(mark, included=True)
            if not mark.included:
                if mark.tagged:
                    self._issue("not_included", message, "it has a section or project")
                continue
            if message.msgtype in TEXT_TYPES:
                entry = await self._text_entry(message, mark)
                if entry is not None:
                    entries[message.event_id] = entry
            elif not message.is_media:
                reason = refusal(message, redacted=False, cutoff_seq=-1, bot=self.bot)
                self._issue("empty", message, reason or "it cannot go into the post")
        owners = {**entries, **self._attach_media(candidates, entries)}
        for note in notes:
            host = owners.get(note.reply_to) if note.reply_to else None
            text = await message_markdown(note.body, note.formatted_body, note.format)
            if host is not None and text.strip():
                host.notes.append(sanitize_markdown(text))
        self.week.entries = sorted(entries.values(), key=lambda e: (e.posted_at, e.event_id))
        return self.week

    def _submitted(self, message: MessageRow) -> bool:
        """Whether ``message`` is a report by itself, as Hebbot takes one: with
        ``reports: mentions``, a text that addresses the bot and is not too short needs
        no ⭕ (a section or project tag puts it in the post)."""
        if self.settings.reports != "mentions" or message.msgtype not in TEXT_TYPES:
            return False
        if not addresses(
            message.body, message.formatted_body, self.bot, self.names, message.mentions
        ):
            return False
        # Too short, Hebbot kept no news; an editor's ⭕ may still include it here.
        text = strip_mention(message.body, self.bot, self.names).strip()
        return len(text) >= self.settings.min_length

    def _is_note(self, message: MessageRow) -> bool:
        """An editor's reply to an included message."""
        target = message.reply_to
        return (
            message.sender in self.settings.editors
            and target is not None
            and target in self.messages
            and self.marks.get(target, _Marks()).included
        )

    async def _text_entry(self, message: MessageRow, mark: _Marks) -> Entry | None:
        text = await message_markdown(message.body, message.formatted_body, message.format)
        # The TWIM guide asks reporters to address the bot; that is not part of the news.
        text = strip_mention(text, self.bot, self.names)
        if not text.strip():
            self._issue("empty", message, "it has no text")
            return None
        if len(text.strip()) < (self.settings.min_length or SHORT_REPORT):
            self._issue("short", message, f"only {len(text.strip())} characters")
        if mark.project is None:
            named = suggestions(message.body, self.settings.projects)
            if named:
                names = ", ".join(p.name for p in named)
                self._issue("unconfirmed_project", message, f"it mentions {names}")
        entry = Entry(
            event_id=message.event_id,
            sender=message.sender,
            sender_name=message.sender_name,
            posted_at=message.ts,
            text=text,
            section=mark.section or self._usual_section(mark.project),
            project=mark.project,
        )
        self._warn_unplaced(message, entry)
        return entry

    def _attach_media(
        self, ordered: Sequence[MessageRow], entries: dict[EventID, Entry]
    ) -> dict[EventID, Entry]:
        """Place the included files; adds their own entries, returns where each went."""
        placed: dict[EventID, Entry] = {}
        by_room: dict[RoomID, list[MessageRow]] = {}
        for message in ordered:
            by_room.setdefault(message.room_id, []).append(message)
        for run in by_room.values():
            for i, message in enumerate(run):
                mark = self.marks.get(message.event_id, _Marks())
                if not message.is_media or not mark.included:
                    continue
                if not valid_mxc(message.media_url or ""):
                    self._issue("bad_media", message, _BAD_MEDIA)
                    continue
                attachment = _attachment(message)
                # A file sent as a reply to a report goes with it, as Hebbot links it.
                replied = entries.get(message.reply_to) if message.reply_to else None
                if replied is not None and replied.text:
                    replied.attachments.append(attachment)
                    placed[message.event_id] = replied
                    continue
                before = _host(run, i, range(i - 1, -1, -1), entries)
                after = None if before else _host(run, i, range(i + 1, len(run)), entries)
                if before is not None:
                    before.attachments.append(attachment)
                    placed[message.event_id] = before
                    continue
                if after is not None:
                    # An item of its own just before the report, in the report's place.
                    heading = None if after.project else split_heading(after.text)[0]
                    entry = self._media_entry(message, attachment, after.section, after.project)
                    entry.heading = heading
                else:
                    section = mark.section or self._usual_section(mark.project)
                    entry = self._media_entry(message, attachment, section, mark.project)
                    self._warn_unplaced(message, entry)
                entries[message.event_id] = placed[message.event_id] = entry
        return placed

    def _media_entry(
        self,
        message: MessageRow,
        attachment: Attachment,
        section: str | None,
        project: str | None,
    ) -> Entry:
        return Entry(
            event_id=message.event_id,
            sender=message.sender,
            sender_name=message.sender_name,
            posted_at=message.ts,
            text="",
            section=section,
            project=project,
            attachments=[attachment],
        )

    def _usual_section(self, project: str | None) -> str | None:
        for candidate in self.settings.projects:
            if candidate.name == project:
                return candidate.section
        return None

    def _warn_unplaced(self, message: MessageRow, entry: Entry) -> None:
        if entry.section not in {section.key for section in self.settings.sections}:
            self._issue("no_section", message, "it is not in the post yet")

    def _issue(self, kind: IssueKind, message: MessageRow, detail: str) -> None:
        snippet = " ".join((message.body or message.filename or "").split())
        if len(snippet) > 60:
            snippet = snippet[:59] + "…"
        self.week.issues.append(
            Issue(kind, message.event_id, message.room_id, message.sender_name, snippet, detail)
        )


def _host(
    run: Sequence[MessageRow], start: int, steps: range, entries: dict[EventID, Entry]
) -> Entry | None:
    """The first report of the same sender among ``steps``, while the sender stays the same."""
    sender = run[start].sender
    for j in steps:
        other = run[j]
        if other.sender != sender:
            return None
        entry = entries.get(other.event_id)
        if entry is not None and other.msgtype in TEXT_TYPES:
            return entry
    return None


def _attachment(message: MessageRow) -> Attachment:
    assert message.media_url is not None
    kind: Literal["image", "video"] = "video" if message.msgtype == "m.video" else "image"
    return Attachment(message.event_id, message.filename or message.body, message.media_url, kind)
