"""Editor commands that Hebbot has: ``!list-sections``, ``!list-projects`` and ``!say``.

Here they are ``!twim sections``, ``!twim projects`` (which reaction files or tags a
report; plain text, one line each) and ``!twim say <text>``, which posts ``text``
(markdown) to the TWIM room as the bot.
"""

from __future__ import annotations

from typing import Any

from mautrix.types import UserID

from botkit import CommandContext, CommandError, Rest, command

from .settings import Settings, fold

__all__ = ["EditorCommands", "projects_text", "sections_text"]


def _is_editor(plugin: Any, user: UserID) -> bool:
    settings = getattr(plugin, "settings", None)
    return isinstance(settings, Settings) and user in settings.editors


def sections_text(settings: Settings) -> str:
    """The sections in the post's order: reaction, name, title and order."""
    lines = [
        f"{fold(s.emoji)} {s.key}: {s.title} ({s.order})"
        for s in sorted(settings.sections, key=lambda section: section.order)
    ]
    return "\n".join(["Sections (react with the emoji to file a report):", *lines])


def projects_text(settings: Settings) -> str:
    """The projects by name: reaction, name, title and usual section."""
    lines = [
        f"{p.reaction} = {p.name}: {p.title}" + (f" (in {p.section})" if p.section else "")
        for p in sorted(settings.projects, key=lambda project: project.name)
    ]
    return "\n".join(["Projects (react with the first word(s) to tag a report):", *lines])


class EditorCommands:
    """Mixed into the plugin: the commands above, for editors."""

    settings: Settings

    @command("twim sections", allow=_is_editor)
    async def list_sections(self, ctx: CommandContext) -> None:
        """List the sections and the reaction that files a report in each."""
        await ctx.reply(sections_text(self.settings), markdown=False)

    @command("twim projects", allow=_is_editor)
    async def list_projects(self, ctx: CommandContext) -> None:
        """List the projects and the reaction that tags a report with each."""
        await ctx.reply(projects_text(self.settings), markdown=False)

    @command("twim say", allow=_is_editor)
    async def say(self, ctx: CommandContext, text: Rest) -> None:
        """Post a message (markdown) to the TWIM room as the bot"""
        if not self.settings.rooms:
            raise CommandError("There is no TWIM room to say it in.")
        if not text.strip():
            raise CommandError("Say what? Give the text after !twim say.")
        await ctx.client.send_markdown(self.settings.rooms[0], text, notice=False)
