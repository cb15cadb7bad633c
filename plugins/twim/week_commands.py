"""``!twim date``, ``!twim editor``, ``!twim title`` and ``!twim live``: the week's post
as the editors want it, without a config edit (see :mod:`.week`), and ``!twim clear``."""

from __future__ import annotations

from datetime import date
from typing import Any

from mautrix.types import UserID

from botkit import CommandContext, CommandError, Rest, command

from .settings import Settings
from .store import TwimStore
from .week import Kind, WeekChoices, WeekStore
from .youtube import youtube_id

__all__ = ["WeekCommands", "parse_day"]

_UNSET = ("none", "off", "-")
_CONFIRM_WITHIN_MS = 5 * 60 * 1000


def _is_editor(plugin: Any, user: UserID) -> bool:
    settings = getattr(plugin, "settings", None)
    return isinstance(settings, Settings) and user in settings.editors


def parse_day(text: str) -> date:
    """A date written YYYY-MM-DD, or the command's error."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text} is not a date; write it as YYYY-MM-DD.") from None


class WeekCommands:
    """Mixed into the plugin: what the editors set for this week's post."""

    settings: Settings
    store: TwimStore
    week: WeekStore
    week_choices: WeekChoices = WeekChoices()

    async def refresh_week(self, upto: int | None = None) -> WeekChoices:
        """The week's choices (up to number ``upto``); without ``upto`` also kept."""
        choices = await self.week.choices(await self.week.start(), upto)
        if upto is None:
            self.week_choices = choices
        return choices

    async def _choose(self, ctx: CommandContext, kind: Kind, value: str | None) -> None:
        await self.week.set(ctx.event.event_id, kind, value)
        await self.refresh_week()

    @command("twim date", allow=_is_editor)
    async def set_date(self, ctx: CommandContext, day: str) -> None:
        """Date this week's post (YYYY-MM-DD; "none": the day it is published)"""
        value = None if day.lower() in _UNSET else parse_day(day).isoformat()
        await self._choose(ctx, "date", value)
        await ctx.reply(
            f"The post will be dated {value}."
            if value
            else "The post will be dated the day it is published."
        )

    @command("twim editor", allow=_is_editor)
    async def set_editor(self, ctx: CommandContext, name: Rest) -> None:
        """Sign this week's post with another editor's name ("none": the config's)"""
        value = " ".join(name.split())
        if not value:
            raise CommandError("Whose name? Give it after !twim editor.")
        chosen = None if value.lower() in _UNSET else value
        await self._choose(ctx, "editor", chosen)
        await ctx.reply(
            f"Editor of this week's post: {chosen or self.settings.editor_name}.", markdown=False
        )

    @command("twim title", allow=_is_editor)
    async def set_live_title(self, ctx: CommandContext, title: Rest) -> None:
        """Set this week's Matrix Live title, e.g. S13E09 ("none": the config's)"""
        value = " ".join(title.split())
        if not value:
            raise CommandError("Which title? Give it after !twim title.")
        chosen = None if value.lower() in _UNSET else value
        await self._choose(ctx, "live_title", chosen)
        shown = chosen or self.settings.live_title or "none"
        await ctx.reply(f"Matrix Live title: {shown}.", markdown=False)

    @command("twim clear", aliases=["clear"], allow=_is_editor)
    async def clear(self, ctx: CommandContext, confirm: str = "") -> None:
        """Start the week anew without a post; asks for a confirmation first"""
        # The request is kept with the week's other choices, so a restart between it
        # and the confirmation loses nothing; both times are the sender's server's.
        if confirm.lower() != "confirm":
            asked = f"{ctx.event.timestamp} {ctx.sender}"
            await self.week.set(ctx.event.event_id, "clear_asked", asked)
            await ctx.reply(
                "This leaves every report, reaction and choice received so far this week"
                " out of the post (the rooms keep them). To go ahead, send"
                " `!twim clear confirm` within 5 minutes."
            )
            return
        since = await self.week.clear_asked(ctx.sender, await self.week.start())
        if since is None:
            raise CommandError("Send `!twim clear` first; then confirm within 5 minutes.")
        if not 0 <= ctx.event.timestamp - since <= _CONFIRM_WITHIN_MS:
            raise CommandError(
                "Your `!twim clear` was more than 5 minutes ago, so the week stays as it is."
                " Send `!twim clear` again to start over."
            )
        await self.week.set(ctx.event.event_id, "clear", None)
        await self.refresh_week()
        await ctx.reply("Cleared: the week starts anew, and the post holds what comes from now on.")

    @command("twim live", allow=_is_editor)
    async def live(self, ctx: CommandContext, video: str) -> None:
        """Set this week's Matrix Live video (a YouTube URL or id; "none": the config's)"""
        video_id = None if video.lower() in _UNSET else youtube_id(video)
        if video_id is None and video.lower() not in _UNSET:
            raise CommandError(f"{video} is not a YouTube video URL or id.")
        await self.store.set_live(ctx.event.event_id, ctx.event.timestamp, video_id)
        await ctx.reply(f"Matrix Live: {video_id or self.settings.live_video or 'none'}.")
