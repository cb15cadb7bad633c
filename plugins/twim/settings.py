"""The instance's config as typed values, checked when the plugin starts.

botkit has already checked the config's shape against ``config.yaml``; what is checked
here is what a type cannot say: a weekday, a time, a time zone, sections and projects
that refer to each other, an ``ack`` that is one of its two words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mautrix.types import RoomID, UserID
from mautrix.util import variation_selector

from .context import project_view, section_view
from .model import Project, Section
from .youtube import youtube_id

__all__ = ["Schedule", "Settings", "SettingsError", "fold", "project_key"]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class SettingsError(ValueError):
    """A config value the plugin cannot work with; the message names the key."""


def fold(key: str) -> str:
    """A reaction key as compared: without variation selectors and outer spaces."""
    return variation_selector.remove(key).strip()


def project_key(key: str) -> str:
    """A reaction key as compared with project names: folded, a trailing ``?`` and case
    ignored, so that confirming the bot's ``synapse ?`` suggestion counts as ``synapse``."""
    return fold(key).removesuffix("?").strip().casefold()


@dataclass(frozen=True)
class Schedule:
    """When the weekly preview goes to the editors."""

    weekday: int
    at: time
    zone: ZoneInfo

    def next_run(self, now: datetime) -> datetime:
        """The first scheduled moment after ``now`` (an aware datetime)."""
        local = now.astimezone(self.zone)
        days = (self.weekday - local.weekday()) % 7
        candidate = datetime.combine(local.date() + timedelta(days=days), self.at, self.zone)
        if candidate <= local:
            candidate = datetime.combine(candidate.date() + timedelta(days=7), self.at, self.zone)
        return candidate


@dataclass(frozen=True)
class Settings:
    """Everything the plugin reads from its config; see ``config.yaml`` for each key."""

    rooms: tuple[RoomID, ...]
    editors: frozenset[UserID]
    editor_room: RoomID | None
    notice_emoji: str
    ack: Literal["reaction", "notice"]
    editor_name: str
    header_image: str | None
    output_dir: str
    ping_room: RoomID | None
    ping_room_alias: str | None
    twim_room_alias: str
    schedule: Schedule
    sections: tuple[Section, ...]
    projects: tuple[Project, ...]
    draft_token: str | None = None
    template: str = "current"
    restrict_notice: bool = False
    verbs: tuple[str, ...] = ()
    min_length: int = 0
    ack_text: str = ""
    image_markdown: str = ""
    video_markdown: str = ""
    file_name: str | None = None
    live_title: str = ""
    live_video: str = ""
    reports: Literal["all", "mentions"] = "all"
    # Rooms replaced by an upgrade: still watched, as their late events count, but
    # nothing is sent there (see :mod:`.upgrades`).
    retired: frozenset[RoomID] = frozenset()

    @property
    def reporting_room(self) -> RoomID | None:
        """The TWIM room people report in now: the first one not replaced by an upgrade."""
        return next((room for room in self.rooms if room not in self.retired), None)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check ``config`` (already merged with the defaults) and type it."""
        ack = config["ack"]
        if ack not in ("reaction", "notice"):
            raise SettingsError(f"ack: must be 'reaction' or 'notice', not {ack!r}")
        if not fold(config["notice_emoji"]):
            raise SettingsError("notice_emoji: must not be empty")
        sections = tuple(
            Section(**{**item, "usual_reporters": tuple(item.get("usual_reporters") or ())})
            for item in config["sections"]
        )
        _unique("sections", "key", [s.key for s in sections])
        _unique("sections", "emoji", [fold(s.emoji) for s in sections])
        keys = {s.key for s in sections}
        projects = tuple(
            Project(
                **{
                    **item,
                    "aliases": tuple(item.get("aliases") or ()),
                    "usual_reporters": tuple(item.get("usual_reporters") or ()),
                }
            )
            for item in config["projects"]
        )
        _unique("projects", "name", [project_key(p.name) for p in projects])
        _unique("projects", "emoji", [project_key(p.reaction) for p in projects])
        for i, project in enumerate(projects):
            if project.section is not None and project.section not in keys:
                raise SettingsError(
                    f"projects[{i}].section: {project.section!r} is not a section key"
                )
        return cls(
            rooms=tuple(RoomID(r) for r in config["rooms"]),
            editors=frozenset(UserID(u) for u in config["editors"]),
            editor_room=config["editor_room"] or None,
            notice_emoji=config["notice_emoji"],
            ack=ack,
            editor_name=config["editor_name"],
            header_image=config["header_image"] or None,
            output_dir=config["output_dir"],
            ping_room=config["ping_room"] or None,
            ping_room_alias=config["ping_room_alias"] or None,
            twim_room_alias=config["twim_room_alias"],
            schedule=_schedule(config["schedule"]),
            sections=sections,
            projects=projects,
            draft_token=_token(config.get("draft_token")),
            template=str(config.get("template") or "current"),
            restrict_notice=bool(config.get("restrict_notice", False)),
            verbs=tuple(config.get("verbs") or ()),
            min_length=int(config.get("min_length", 0)),
            ack_text=str(config.get("ack_text") or ""),
            image_markdown=str(config.get("image_markdown") or ""),
            video_markdown=str(config.get("video_markdown") or ""),
            file_name=_file_name(config.get("file_name")),
            live_title=" ".join(str(config.get("live_title") or "").split()),
            live_video=_video(config.get("live_video")),
            reports=_reports(config.get("reports") or "all"),
        )

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

    def preview_room(self) -> RoomID | None:
        """Where previews go: the editors' room, else the (current) TWIM room."""
        return self.editor_room or self.reporting_room


def _video(value: Any) -> str:
    if not value:
        return ""
    video = youtube_id(str(value))
    if video is None:
        raise SettingsError(f"live_video: {value!r} is not a YouTube video URL or id")
    return video


def _unique(where: str, field: str, values: Sequence[str]) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise SettingsError(f"{where}[{i}].{field}: {value!r} is used twice")
        seen.add(value)


def _reports(value: Any) -> Literal["all", "mentions"]:
    if value == "all":
        return "all"
    if value == "mentions":
        return "mentions"
    raise SettingsError(f"reports: must be 'all' or 'mentions', not {value!r}")


def _file_name(value: Any) -> str | None:
    if value is None or value == "":
        return None
    name = str(value)
    if "/" in name or "\\" in name or name.replace("{date}", "x").strip(".") == "":
        raise SettingsError(f"file_name: {name!r} must name a file in output_dir, not a path")
    return name


def _token(value: Any) -> str | None:
    if value is None or value == "":
        return None
    token = str(value)
    if len(token) < 16 or token != token.strip() or any(not c.isprintable() for c in token):
        raise SettingsError(
            "draft_token: must be at least 16 printable characters without outer spaces"
            " (e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe())')"
        )
    return token


def _schedule(config: Mapping[str, Any]) -> Schedule:
    weekday = str(config["weekday"]).lower()
    if weekday not in WEEKDAYS:
        raise SettingsError(f"schedule.weekday: must be one of {', '.join(WEEKDAYS)}")
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(config["time"]))
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise SettingsError(f"schedule.time: must be HH:MM, not {config['time']!r}")
    try:
        zone = ZoneInfo(str(config["timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"schedule.timezone: unknown time zone {config['timezone']!r}"
        ) from None
    return Schedule(WEEKDAYS.index(weekday), time(int(match[1]), int(match[2])), zone)
