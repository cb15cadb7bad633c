"""The instance's config as a typed object: ``self.config`` of the plugin.

``config.yaml`` holds the defaults and what each key means; this class adds what a
default cannot say (see :mod:`botkit.config.typed`): a weekday, a time, a time zone,
sections and projects that refer to each other, an ``ack`` that is one of its
words. :meth:`Settings.prepare` first fills it from Hebbot's ``config.toml``
(:mod:`.hebbot`). ``botkit check`` reports each problem.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from datetime import time as day_time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from mautrix.types import RoomID, UserID
from mautrix.util import variation_selector

from botkit.config import Invalid, at_least

from .context import project_view, section_view
from .hebbot import HebbotConfigError, with_hebbot
from .model import Project, Section
from .youtube import youtube_id

__all__ = ["Schedule", "Settings", "fold", "project_key"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def fold(key: str) -> str:
    """A reaction key as compared: without variation selectors and outer spaces."""
    return variation_selector.remove(key).strip()


def project_key(key: str) -> str:
    """A reaction key as compared with project names: folded, a trailing ``?`` and case
    ignored, so that confirming the bot's ``synapse ?`` suggestion counts as ``synapse``."""
    return fold(key).removesuffix("?").strip().casefold()


@attrs.frozen
class Schedule:
    """When the weekly preview goes to the editors: ``config.yaml``'s ``schedule``."""

    weekday: str
    time: str
    timezone: str

    def __attrs_post_init__(self) -> None:
        if self.weekday.lower() not in WEEKDAYS:
            raise Invalid("weekday", f"must be one of {', '.join(WEEKDAYS)}, not {self.weekday!r}")
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", self.time)
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            raise Invalid("time", f"must be HH:MM, not {self.time!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Invalid("timezone", f"unknown time zone {self.timezone!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        """The editors' time zone (ZoneInfo keeps one object per name)."""
        return ZoneInfo(self.timezone)

    @property
    def at(self) -> day_time:
        """The time of day, in :attr:`zone`."""
        hours, minutes = self.time.split(":")
        return day_time(int(hours), int(minutes))

    def next_run(self, now: datetime) -> datetime:
        """The first scheduled moment after ``now`` (an aware datetime)."""
        local = now.astimezone(self.zone)
        days = (WEEKDAYS.index(self.weekday.lower()) - local.weekday()) % 7
        candidate = datetime.combine(local.date() + timedelta(days=days), self.at, self.zone)
        if candidate <= local:
            candidate = datetime.combine(candidate.date() + timedelta(days=7), self.at, self.zone)
        return candidate


def _none_if_empty(value: str | None) -> Any:
    # Hebbot's config and older configs say "" where this one says null. Any: it
    # serves the str and the RoomID fields alike.
    return value or None


def _video(value: str) -> str:
    if not value:
        return ""
    video = youtube_id(value)
    if video is None:
        raise Invalid("live_video", f"{value!r} is not a YouTube video URL or id")
    return video


def _unique(where: str, field: str, values: Sequence[str]) -> list[Invalid]:
    seen: set[str] = set()
    problems = []
    for i, value in enumerate(values):
        if value in seen:
            problems.append(Invalid(f"{where}[{i}].{field}", f"{value!r} is used twice"))
        seen.add(value)
    return problems


def _file_name(value: str | None) -> str | None:
    if not value:
        return None
    if "/" in value or "\\" in value or value.replace("{date}", "x").strip(".") == "":
        raise Invalid("file_name", f"{value!r} must name a file in output_dir, not a path")
    return value


def _token(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) < 16 or value != value.strip() or any(not c.isprintable() for c in value):
        raise Invalid(
            "draft_token",
            "must be at least 16 printable characters without outer spaces"
            " (e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe())')",
        )
    return value


def _template(value: str) -> str:
    return value or "current"


def _one_line(value: str) -> str:
    return " ".join(value.split())


@attrs.frozen(kw_only=True)
class Settings:
    """Everything the plugin reads from its config; see ``config.yaml`` for each key."""

    hebbot_config: str | None
    """Read by :meth:`prepare`; its values are in the other fields."""
    rooms: tuple[RoomID, ...]
    editors: frozenset[UserID]
    editor_room: RoomID | None = attrs.field(converter=_none_if_empty)
    notice_emoji: str
    ack: Literal["reaction", "notice", "receipt"]
    editor_name: str
    header_image: str | None = attrs.field(converter=_none_if_empty)
    output_dir: str
    ping_room: RoomID | None = attrs.field(converter=_none_if_empty)
    ping_room_alias: str | None = attrs.field(converter=_none_if_empty)
    twim_room_alias: str
    schedule: Schedule
    sections: tuple[Section, ...]
    projects: tuple[Project, ...]
    draft_token: str | None = attrs.field(converter=_token)
    template: str = attrs.field(converter=_template)
    restrict_notice: bool
    verbs: tuple[str, ...]
    min_length: int = attrs.field(validator=at_least(0))
    ack_text: str
    image_markdown: str
    video_markdown: str
    file_name: str | None = attrs.field(converter=_file_name)
    live_title: str = attrs.field(converter=_one_line)
    live_video: str = attrs.field(converter=_video)
    reports: Literal["all", "mentions"]
    # Rooms replaced by an upgrade: still watched, as their late events count, but
    # nothing is sent there (see :mod:`.upgrades`).
    retired: frozenset[RoomID] = frozenset()

    def __attrs_post_init__(self) -> None:
        problems = (
            [Invalid("notice_emoji", "must not be empty")] if not fold(self.notice_emoji) else []
        )
        problems += [
            *_unique("sections", "key", [s.key for s in self.sections]),
            *_unique("sections", "emoji", [fold(s.emoji) for s in self.sections]),
            *_unique("projects", "name", [project_key(p.name) for p in self.projects]),
            *_unique("projects", "emoji", [project_key(p.reaction) for p in self.projects]),
        ]
        keys = {s.key for s in self.sections}
        for i, project in enumerate(self.projects):
            if project.section is not None and project.section not in keys:
                reason = f"{project.section!r} is not a section key"
                problems.append(Invalid(f"projects[{i}].section", reason))
        if problems:
            raise ExceptionGroup("twim settings", problems)

    @classmethod
    def prepare(cls, raw: dict[str, Any]) -> tuple[dict[str, Any], list[Invalid]]:
        """``raw`` with its ``hebbot_config`` file applied, and that file's problems."""
        try:
            config, problems = with_hebbot(raw)
        except HebbotConfigError as e:
            raise Invalid("hebbot_config", str(e)) from e
        return config, [Invalid(p.key, p.reason, file=p.file) for p in problems]

    @property
    def reporting_room(self) -> RoomID | None:
        """The TWIM room people report in now: the first one not replaced by an upgrade."""
        return next((room for room in self.rooms if room not in self.retired), None)

    def today(self, now: datetime) -> date:
        """The date of ``now`` where the editors live (the schedule's time zone)."""
        return now.astimezone(self.schedule.zone).date()

    def counts(self, reactor: str, key: str, author: str) -> bool:
        """Whether ``reactor``'s reaction ``key`` on ``author``'s message counts: an
        editor's does; with ``restrict_notice`` so does the author's own notice_emoji
        (Hebbot's rule: reporters submit their own reports and media, editors the rest)."""
        if reactor in self.editors:
            return True
        return self.restrict_notice and reactor == author and fold(key) == fold(self.notice_emoji)

    def ack_notice(self, reporter: str) -> str:
        """The notice that acknowledges ``reporter``'s included report."""
        if not self.ack_text:
            return "Included in this week's post."
        return self.ack_text.replace("{{user}}", reporter)

    def project_reactions(self) -> dict[str, str]:
        """Project names by the reaction keys (see :func:`project_key`) that tag them:
        each project's name, and its emoji where that differs."""
        keys = {project_key(p.name): p.name for p in self.projects}
        keys.update((project_key(p.reaction), p.name) for p in self.projects)
        return keys

    def template_config(self) -> dict[str, Any]:
        """What a template sees as ``config``: Hebbot's config keys, from these settings."""
        return {
            "reporting_room_id": self.reporting_room or "",
            "admin_room_id": self.editor_room or "",
            "ping_room_id": self.ping_room or "",
            "notice_emoji": self.notice_emoji,
            "restrict_notice": self.restrict_notice,
            "verbs": list(self.verbs),
            "min_length": self.min_length,
            "ack_text": self.ack_text,
            "image_markdown": self.image_markdown,
            "video_markdown": self.video_markdown,
            "editors": sorted(self.editors),
            "sections": [section_view(section) for section in self.sections],
            "projects": [project_view(project) for project in self.projects],
        }
