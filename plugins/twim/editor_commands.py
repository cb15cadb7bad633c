"""Editor commands in the spirit of Hebbot's ``!list-sections``, ``!list-projects``,
``!say`` and ``!details``, and a way to redo a published week.

``!twim sections`` and ``!twim projects`` say which reaction files or tags a report
(plain text, one line each); ``!twim say <text>`` posts ``text`` (markdown) to the
TWIM room as the bot; ``!twim details <event ID or link>`` says who sent a message
and what its reactions that count do (given a project's or section's name or
reaction instead, it says what that is, as Hebbot's ``!details`` does);
``!twim unpublish <date>`` takes the last post back, so that its week, with what
came in since, is published again. ``!twim config`` shows the settings in effect as
Hebbot's ``config.toml`` keys, and ``!twim about`` what runs.

Hebbot's own names work too (``!list-sections``, ``!list-projects``, ``!say``,
``!details``, ``!list-config``, ``!about``; with the plugin's ``!status``,
``!render``, ``!clear`` and ``!publish``), so that an editor moving from Hebbot keeps their habits.
"""

from __future__ import annotations

import importlib.metadata
import json
from datetime import date
from typing import Any

from mautrix.types import UserID

from botkit import CommandContext, CommandError, Rest, command

from .review import report_id
from .rows import MessageRow, ReactionRow
from .settings import Settings, fold, project_key
from .store import TwimStore

__all__ = [
    "EditorCommands",
    "about_text",
    "config_text",
    "details_text",
    "projects_text",
    "sections_text",
    "term_details",
]


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


def config_text(settings: Settings) -> str:
    """The settings in effect, as ``key = value`` lines with Hebbot's keys (values in
    TOML's notation), and the plugin's own keys that Hebbot has no name for. Sections and
    projects are counted: ``!twim sections`` and ``!twim projects`` list them."""
    hebbot = settings.template_config()
    lines = ["Settings in effect (Hebbot's config.toml keys, then the plugin's own):"]
    for key, value in hebbot.items():
        if key in ("sections", "projects"):
            continue
        lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    lines.append(f"# sections: {len(settings.sections)} (!twim sections)")
    lines.append(f"# projects: {len(settings.projects)} (!twim projects)")
    own = {
        "hebbot_config": settings.hebbot_config or "",
        "reports": settings.reports,
        "ack": settings.ack,
        "template": settings.template,
        "editor_name": settings.editor_name,
        "output_dir": settings.output_dir,
    }
    lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in own.items()]
    return "\n".join(lines)


def about_text(settings: Settings) -> str:
    """What runs: botkit's version, and where the config and the template come from."""
    try:
        version = importlib.metadata.version("botkit")
    except importlib.metadata.PackageNotFoundError:
        version = "(not installed)"
    source = settings.hebbot_config or "the bot's YAML config only"
    return (
        f"botkit {version}, twim plugin: a drop-in for Hebbot"
        f" (https://github.com/haecker-felix/hebbot). Config: {source};"
        f" template: {settings.template}. !help lists the commands."
    )


def details_text(settings: Settings, message: MessageRow, reactions: list[ReactionRow]) -> str:
    """A message's sender, length and start, and each reaction that counts, explained."""
    sections = {fold(s.emoji): s.title for s in settings.sections}
    projects = settings.project_reactions()
    start = " ".join(message.body.split())
    start = start if len(start) <= 80 else start[:79] + "…"
    lines = [
        f"Message {message.event_id} by {message.sender_name or message.sender}"
        f" ({message.sender}), {len(message.body.strip())} characters: {start}"
    ]
    for reaction in sorted(reactions, key=lambda r: (r.seq, r.ts, r.event_id)):
        if not settings.counts(reaction.sender, reaction.key, message.sender):
            continue
        key = fold(reaction.key)
        if key == fold(settings.notice_emoji):
            meaning = "includes it"
        elif key in sections:
            meaning = f"files it in {sections[key]}"
        elif project_key(reaction.key) in projects:
            meaning = f"tags it with the project {projects[project_key(reaction.key)]}"
        else:
            continue
        lines.append(f"{reaction.key} by {reaction.sender}: {meaning}")
    if len(lines) == 1:
        lines.append("No reaction that counts yet.")
    return "\n".join(lines)


def term_details(settings: Settings, term: str) -> str | None:
    """What ``term`` is: a project or a section (by name or reaction), or the notice
    emoji; None when it is none of these."""
    wanted = project_key(term)
    if not wanted:
        return None
    if fold(term.strip()) == fold(settings.notice_emoji):
        return f"{settings.notice_emoji} is the notice emoji: it includes a report."
    for section in settings.sections:
        if wanted in (section.key.casefold(), fold(section.emoji)):
            reporters = ", ".join(section.usual_reporters) or "none"
            return (
                f"Section {section.key}: {section.title} (react {section.emoji};"
                f" order {section.order}). Usual reporters: {reporters}."
            )
    name = settings.project_reactions().get(wanted)
    for project in settings.projects:
        if project.name == name:
            lines = [f"Project {project.name}: {project.title} (react {project.reaction})."]
            lines += [project.description] if project.description else []
            lines += [f"Website: {project.website}"] if project.website else []
            lines += [f"Usual section: {project.section}"] if project.section else []
            if project.usual_reporters:
                lines.append("Usual reporters: " + ", ".join(project.usual_reporters))
            return "\n".join(lines)
    return None


class EditorCommands:
    """Mixed into the plugin: the commands above, for editors."""

    settings: Settings
    store: TwimStore

    @command("twim unpublish", allow=_is_editor)
    async def unpublish(self, ctx: CommandContext, day: str) -> None:
        """Take back the last post (YYYY-MM-DD) to publish that week again"""
        try:
            wanted = date.fromisoformat(day)
        except ValueError:
            raise CommandError(f"{day} is not a date; write it as YYYY-MM-DD.") from None
        last = await self.store.last_week()
        if last is None or last.post_date != wanted:
            latest = f" (the last one is of {last.post_date})" if last else ""
            raise CommandError(f"Only the last post can be taken back{latest}.")
        await self.store.remove_week(last)
        await ctx.reply(
            f"The post of {wanted} is taken back: its reports are in the draft again."
            f" {last.path} is left as it is; !twim publish {wanted} writes it anew.",
            markdown=False,
        )

    @command("twim details", aliases=["details"], allow=_is_editor)
    async def details(self, ctx: CommandContext, report: Rest) -> None:
        """A report's sender and reactions (its event ID or link), or what a project,
        section or reaction is (its name or emoji, as Hebbot's !details)"""
        event_id = report_id(report)
        if event_id is None:
            found = term_details(self.settings, report)
            if found is None:
                raise CommandError(f"No message, project, section or reaction is {report!r}.")
            await ctx.reply(found, markdown=False)
            return
        message = await self.store.message(event_id)
        if message is None or message.room_id not in self.settings.rooms:
            raise CommandError("I have not seen that message in a TWIM room.")
        reactions = await self.store.reactions_to(message.event_id)
        await ctx.reply(details_text(self.settings, message, reactions), markdown=False)

    @command("twim sections", aliases=["list-sections"], allow=_is_editor)
    async def list_sections(self, ctx: CommandContext) -> None:
        """List the sections and the reaction that files a report in each."""
        await ctx.reply(sections_text(self.settings), markdown=False)

    @command("twim projects", aliases=["list-projects"], allow=_is_editor)
    async def list_projects(self, ctx: CommandContext) -> None:
        """List the projects and the reaction that tags a report with each."""
        await ctx.reply(projects_text(self.settings), markdown=False)

    @command("twim config", aliases=["list-config"], allow=_is_editor)
    async def list_config(self, ctx: CommandContext) -> None:
        """Show the settings in effect, with Hebbot's config.toml keys"""
        await ctx.reply(config_text(self.settings), markdown=False)

    @command("twim about", aliases=["about"], allow=_is_editor)
    async def about(self, ctx: CommandContext) -> None:
        """Say what runs: botkit's version, the config file and the template"""
        await ctx.reply(about_text(self.settings), markdown=False)

    @command("twim say", aliases=["say"], allow=_is_editor)
    async def say(self, ctx: CommandContext, text: Rest) -> None:
        """Post a message (markdown) to the TWIM room as the bot"""
        room = self.settings.reporting_room
        if room is None:
            raise CommandError("There is no TWIM room to say it in.")
        if not text.strip():
            raise CommandError("Say what? Give the text after !twim say.")
        await ctx.client.send_markdown(room, text, notice=False)
