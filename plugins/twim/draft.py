"""The week's post as it stands now, and how the editors are told about it.

A :class:`Draft` is built afresh from the store whenever it is needed (a command, a web
request, the weekly preview), so it always shows the latest reactions and edits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote

from mautrix.types import UserID

from .collect import Issue, IssueKind, collect
from .model import Post
from .render import render_post
from .settings import Settings
from .store import PublishedWeek, TwimStore
from .templating import TemplateError
from .youtube import youtube_id

__all__ = ["Draft", "build_draft", "issues_markdown", "status_markdown", "youtube_id"]

_ISSUE_TITLES: dict[IssueKind, str] = {
    "edited": "Edited after inclusion, waiting for approval",
    "no_section": "Included but no section",
    "unconfirmed_project": "Project suggested but not confirmed",
    "short": "Very short reports",
    "not_included": "Filed under a section or project but not included",
    "empty": "Included but unusable",
    "bad_media": "Included but its file cannot be fetched",
}


@dataclass(frozen=True)
class Draft:
    """The post as it would be published now, its issues, and the post before it."""

    post: Post
    issues: list[Issue]
    previous: PublishedWeek | None

    @property
    def markdown(self) -> str:
        """The post's file content; when its template fails, a page that says why."""
        try:
            return render_post(self.post)
        except (TemplateError, ValueError) as e:
            return f"# The post cannot be rendered\n\n{_plain(str(e))}\n"

    @property
    def error(self) -> str | None:
        """Why the post cannot be rendered (its template's file and line), or None."""
        try:
            render_post(self.post)
        except (TemplateError, ValueError) as e:
            return str(e)
        return None


async def build_draft(
    store: TwimStore,
    settings: Settings,
    bot: UserID,
    day: date,
    ping_table: Callable[[], Awaitable[str | None]],
    upto: int | None = None,
    now: datetime | None = None,
    start: int | None = None,
    names: Sequence[str] | None = None,
) -> Draft:
    """The draft of the post dated ``day`` from everything received since the last post
    (and, with ``upto``, up to that number of arrival: the publish command's).
    Templates see ``now`` as ``timestamp``, as Hebbot's see the render time, when the
    post is today's; a post of another day sees that day. ``start`` is where the week
    begins in the order of arrival when not right after the last post (a clear).
    ``names`` are the bot's, by which a report may address it (:func:`.collect.bot_names`)."""
    previous = await store.last_week()
    cutoff = start if start is not None else previous.cutoff_seq if previous else 0
    rows = await store.week_rows(settings.rooms, cutoff, upto)
    week = await collect(rows, settings, bot, names)
    post = Post(
        date=day,
        editor=settings.editor_name,
        sections=settings.sections,
        projects=settings.projects,
        entries=week.entries,
        header_image=settings.header_image,
        live_video=await store.live(cutoff, upto) or settings.live_video or None,
        live_title=settings.live_title or None,
        ping_table=await ping_table(),
        ping_room_alias=settings.ping_room_alias,
        twim_room_alias=settings.twim_room_alias,
        template=settings.template,
        timestamp=now if now is not None and day == settings.today(now) else None,
        verbs=settings.verbs,
        file_name=settings.file_name,
        config=settings.template_config(),
    )
    return Draft(post, week.issues, previous)


def status_markdown(draft: Draft) -> str:
    """``!twim status``: entries per section this week, then the warnings."""
    post = draft.post
    keys = {section.key for section in post.sections}
    counts = Counter(entry.section if entry.section in keys else None for entry in post.entries)
    since = f" since the post of {draft.previous.post_date}" if draft.previous else ""
    total = sum(counts.values())
    entries = "1 entry" if total == 1 else f"{total} entries"
    lines = [f"**This Week in Matrix {post.date}**: {entries}{since}"]
    for section in sorted(post.sections, key=lambda s: s.order):
        if counts[section.key]:
            lines.append(f"* {section.title}: {counts[section.key]}")
    if counts[None]:
        lines.append(f"* not in a section yet: {counts[None]}")
    lines.append("")
    lines.append(f"Matrix Live: {post.live_video or 'not set'}")
    lines.append("")
    lines.append(issues_markdown(draft.issues))
    return "\n".join(lines)


def issues_markdown(issues: list[Issue]) -> str:
    """The warnings, grouped by kind, each linking to its message."""
    if not issues:
        return "No warnings."
    lines = ["**Warnings**"]
    for kind, title in _ISSUE_TITLES.items():
        mine = [issue for issue in issues if issue.kind == kind]
        if not mine:
            continue
        lines += ["", f"{title}:"]
        for issue in mine:
            link = f"https://matrix.to/#/{quote(issue.room_id)}/{quote(issue.event_id)}"
            snippet = _plain(issue.snippet) or "(no text)"
            lines.append(f"* [{_plain(issue.sender_name)}]({link}): {snippet} ({issue.detail})")
    return "\n".join(lines)


def _plain(text: str) -> str:
    """Text shown literally in a markdown notice."""
    return re.sub(r"([\\`*_\[\]<>#|~!])", r"\\\1", text)
