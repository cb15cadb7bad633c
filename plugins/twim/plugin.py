"""The TWIM plugin: it keeps what happens in the TWIM rooms and answers the editors.

Handlers only store events and say something back; what the post contains is derived
from the store when it is needed (:mod:`.draft`). Each handler may run again for the
same event after a crash: the store ignores a second write of an event, and botkit
gives the sends of a re-run the same transaction ids, so nothing is said twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from mautrix.errors import MatrixRequestError, MNotFound
from mautrix.types import (
    EventID,
    EventType,
    MessageEvent,
    MessageType,
    PowerLevelStateEventContent,
    ReactionEvent,
    RedactionEvent,
    RelationType,
    RoomID,
    StateEvent,
    TextMessageEventContent,
    UserID,
)

from botkit import CommandContext, CommandError, Plugin, ServiceKey, command, on
from botkit.errors import Problem

from .catchup import CatchUp, send_summary
from .checks import template_problems
from .collect import TEXT_TYPES, refusal
from .draft import Draft, build_draft, status_markdown
from .editor_commands import EditorCommands
from .names import DisplayNames
from .preview import PreviewSite
from .publish import PublishError, send_preview, write_post
from .reception import Reception, reaction_notice
from .review import edit_notice, report_id
from .rows import MessageRow, ReactionRow, message_row
from .settings import Settings, fold, project_key
from .store import PublishedWeek, TwimStore, TwimTables
from .upgrades import UpgradeStore, follow
from .week import WeekStore
from .week_commands import WeekCommands, parse_day

__all__ = ["PING_STATS", "PingRanking", "TwimPlugin"]


@runtime_checkable
class PingRanking(Protocol):
    """What the Dept of Ping needs of the ``ping-stats`` service (the echo plugin's)."""

    async def ranking_markdown(self, room_id: str, *, top: int = 10) -> str:
        """The ranking table of ``room_id`` in markdown, ``""`` when it has no pongs."""
        ...


PING_STATS = ServiceKey("ping-stats", PingRanking)
"""The echo plugin's statistics, when an echo instance runs."""


def is_editor(plugin: Any, user: UserID) -> bool:
    """Whether ``user`` is one of the instance's editors (the commands' ``allow``)."""
    return isinstance(plugin, TwimPlugin) and user in plugin.settings.editors


class TwimPlugin(Reception, WeekCommands, EditorCommands, Plugin):
    """Collects "This Week in Matrix" reports by the editors' reactions and writes the post."""

    tables: TwimTables
    # Reports and reactions of the whole week count, however long the bot was down.
    catchup_age = 8 * 86400.0
    config_class = Settings
    config: Settings
    settings: Settings
    """The config with the room upgrades since it was written followed."""
    store: TwimStore
    upgrades: UpgradeStore
    catchup: CatchUp

    @classmethod
    def check_config(cls, config: Settings) -> list[Problem]:
        """The template's problems, for ``botkit check``."""
        return template_problems(config)

    async def start(self) -> None:
        """Read the settings, serve the draft, schedule the weekly preview."""
        self.store = TwimStore(self.storage)
        self.upgrades = UpgradeStore(self.storage)
        self.settings = follow(self.config, await self.upgrades.all())
        self.week = WeekStore(self.store, self.storage)
        await self.refresh_week()
        PreviewSite(
            self.web, self._draft, self._today, self.client.download, self.settings.draft_token
        ).register()
        self.scheduler.at(
            self.settings.schedule.next_run, self._scheduled_preview, name="weekly preview"
        )
        self.catchup = CatchUp()
        self.names = DisplayNames(self.client.api, self.scheduler.now, self.log)
        self.scheduler.every(
            1.0,
            lambda: send_summary(self.catchup, self.client, self.settings.editor_room, self.log),
            name="catch-up summary",
        )

    async def on_room_upgrade(self, old: RoomID, new: RoomID) -> None:
        """Follow the upgraded TWIM, editors' or ping room; the week's rows keep counting."""
        await self.upgrades.add(old, new)
        self.settings = follow(self.settings, {old: new})

    # -- what happens in the rooms --------------------------------------------------

    def watches(self, room_id: RoomID) -> bool:
        """Only the TWIM rooms' events are collected; the commands work in any room."""
        return room_id in self.settings.rooms

    def _watched(self, room_id: RoomID, sender: UserID) -> bool:
        return self.watches(room_id) and sender != self.client.mxid

    @on(EventType.ROOM_MESSAGE)
    async def on_message(self, evt: MessageEvent) -> None:
        """Keep every message and edit; suggest the projects a new message names."""
        content = evt.content
        if not self._watched(evt.room_id, evt.sender):
            return
        if not isinstance(content, TextMessageEventContent):
            return  # redacted before the bot saw it, or no message it knows
        # An edit is credited as its original, so only originals need the name.
        name = "" if content.get_edit() else await self._display_name(evt.room_id, evt.sender)
        row = message_row(evt, name)
        if row is None:
            return
        seq = await self.store.add_message(row)
        if row.replaces is not None:
            await self._review(replace(row, seq=seq))
            return
        if row.msgtype not in TEXT_TYPES or row.msgtype == "m.notice":
            return
        if seq > await self._cutoff():
            await self._receive(row, evt.timestamp)

    async def _review(self, edit: MessageRow) -> None:
        """Tell the editors, with the diff, when an approved report of the week was edited."""
        notice = await edit_notice(self.store, self.settings, edit, await self._cutoff())
        room = self.settings.editor_room
        if notice is not None and room is None:
            self.log.warning("an approved report was edited, and there is no room to say so")
        elif notice is not None and room is not None:
            await self.client.send(room, notice)

    @on(EventType.ROOM_MEMBER)
    async def on_member(self, evt: StateEvent) -> None:
        """Keep the display names of the TWIM rooms' members fresh, the bot's own too."""
        if self.watches(evt.room_id):
            self.names.saw(evt)

    @on(EventType.REACTION)
    async def on_reaction(self, evt: ReactionEvent) -> None:
        """Keep the reaction; answer an editor's reaction that means something here."""
        relates = evt.content.relates_to
        if not self._watched(evt.room_id, evt.sender) or relates is None:
            return
        target_id = relates.event_id
        if relates.rel_type != RelationType.ANNOTATION or not relates.key or not target_id:
            return
        reaction = ReactionRow(
            event_id=evt.event_id,
            room_id=evt.room_id,
            target=target_id,
            sender=evt.sender,
            key=relates.key,
            ts=evt.timestamp,
        )
        await self.store.add_reaction(reaction)
        if not self._meaningful(relates.key):
            return
        target = await self._target(evt.room_id, target_id)
        if not self.settings.counts(evt.sender, relates.key, target.sender if target else ""):
            return
        reason = refusal(
            target,
            redacted=await self.store.is_redacted(target_id),
            cutoff_seq=await self._cutoff(),
            bot=self.client.mxid,
        )
        if target is None or reason is not None:
            text = f"{evt.sender}: I cannot use that message in the post: {reason}."
        else:
            text = reaction_notice(self.settings, reaction, target.sender) or ""
        if text:
            await self._tell_editors(evt.room_id, target_id, text, evt.timestamp)
        included = reason is None and fold(relates.key) == fold(self.settings.notice_emoji)
        if included and not self.catchup.late(evt.timestamp):
            await self._acknowledge(evt.room_id, target_id)

    @on(EventType.ROOM_REDACTION)
    async def on_redaction(self, evt: RedactionEvent) -> None:
        """Forget what was redacted; take back the acknowledgement of an entry now gone.

        Only a redaction by the event's sender, a moderator of the room or an editor
        counts: a homeserver passes on others too (it cannot always check them), and a
        client must not apply them.
        """
        redacts = evt.redacts or getattr(evt.content, "redacts", None)
        if not self._watched(evt.room_id, evt.sender) or not redacts:
            return
        message = await self.store.message(redacts)
        reaction = None if message is not None else await self.store.reaction(redacts)
        redacted = message or reaction
        if redacted is None or redacted.room_id != evt.room_id:
            return  # nothing the post is made of
        if not await self._may_redact(evt.room_id, evt.sender, redacted.sender):
            self.log.info(
                "ignoring %s's redaction of %s: not its sender, a moderator or an editor",
                evt.sender,
                redacts,
            )
            return
        await self.store.add_redaction(redacts, evt.event_id, evt.timestamp)
        await self._tell_redaction(evt.sender, message, reaction, evt.timestamp)
        target = reaction.target if reaction is not None else redacts
        if await self.store.ack(target) is not None:
            await self._acknowledge(evt.room_id, target)

    async def _may_redact(self, room_id: RoomID, redactor: UserID, sender: UserID) -> bool:
        """Whether ``redactor`` may redact ``sender``'s event (spec: "Redactions")."""
        if redactor == sender or redactor in self.settings.editors:
            return True
        try:
            levels = await self.client.api.get_state_event(room_id, EventType.ROOM_POWER_LEVELS)
        except MNotFound:
            levels = PowerLevelStateEventContent()
        if not isinstance(levels, PowerLevelStateEventContent):
            return False
        return levels.get_user_level(redactor) >= levels.redact

    def _meaningful(self, key: str) -> bool:
        folded = fold(key)
        return (
            folded == fold(self.settings.notice_emoji)
            or any(folded == fold(section.emoji) for section in self.settings.sections)
            or project_key(key) in self.settings.project_reactions()
        )

    async def _target(self, room_id: RoomID, event_id: EventID) -> MessageRow | None:
        """The reacted-to message; fetched and kept if it came before the bot did."""
        row = await self.store.message(event_id)
        if row is not None:
            return row
        try:
            event = await self.client.api.get_event(room_id, event_id)
        except MatrixRequestError:
            return None
        if not isinstance(event, MessageEvent) or event.sender == self.client.mxid:
            return None
        row = message_row(event, await self._display_name(room_id, event.sender))
        if row is None:
            return None
        return replace(row, seq=await self.store.add_message(row))

    async def _acknowledge(self, room_id: RoomID, target: EventID) -> None:
        """Show that ``target`` is included, or take that back when it no longer is."""
        notice = fold(self.settings.notice_emoji)
        row = await self.store.message(target)
        author = row.sender if row else ""
        included = not await self.store.is_redacted(target) and any(
            self.settings.counts(r.sender, r.key, author) and fold(r.key) == notice
            for r in await self.store.reactions_to(target)
        )
        ack = await self.store.ack(target)
        # With ``ack: receipt`` the report was thanked when it came (:mod:`.reception`);
        # an acknowledgement from before a change of ``ack`` is still taken back.
        if included and ack is None and self.settings.ack != "receipt":
            if self.settings.ack == "reaction":
                ack = await self.client.react(room_id, target, self.settings.notice_emoji)
            else:
                body = self.settings.ack_notice(row.sender_name if row else "")
                content = TextMessageEventContent(msgtype=MessageType.NOTICE, body=body)
                content.set_reply(target)
                ack = await self.client.send(room_id, content)
            await self.store.set_ack(target, ack)
        elif not included and ack is not None:
            await self.client.redact(room_id, ack, reason="no longer included")
            await self.store.set_ack(target, None)

    async def _display_name(self, room_id: RoomID, user_id: UserID) -> str:
        """The sender's name in the room, as their credit line shows it."""
        name = await self.names.in_room(room_id, user_id)
        return name or user_id[1:].split(":")[0]

    # -- commands ---------------------------------------------------------------------

    @command("twim status", aliases=["status"], allow=is_editor)
    async def status(self, ctx: CommandContext) -> None:
        """Entries this week per section, with warnings"""
        await self.refresh_week()  # the date chosen for the week, after an unpublish too
        await ctx.reply(status_markdown(await self._draft(self._today())))

    @command("twim preview", aliases=["render"], allow=is_editor)
    async def preview(self, ctx: CommandContext) -> None:
        """Upload the post as it stands as a .md file, with the warnings"""
        await self.refresh_week()
        await send_preview(self.client, ctx.room_id, await self._draft(self._today()))

    @command("twim approve", allow=is_editor)
    async def approve(self, ctx: CommandContext, report: str) -> None:
        """Include a report as it reads now, edits and all (its event ID or matrix.to link)"""
        event_id = report_id(report)
        target = await self.store.message(event_id) if event_id else None
        if target is None or target.room_id not in self.settings.rooms:
            raise CommandError("I have not seen that message in a TWIM room.")
        reason = refusal(
            target,
            redacted=await self.store.is_redacted(target.event_id),
            cutoff_seq=await self._cutoff(),
            bot=self.client.mxid,
        )
        if reason is not None:
            raise CommandError(f"I cannot use that message in the post: {reason}.")
        # Kept as the editor's ⭕ would be, received now: it approves every edit before it.
        await self.store.add_reaction(
            ReactionRow(
                event_id=ctx.event.event_id,
                room_id=target.room_id,
                target=target.event_id,
                sender=ctx.sender,
                key=self.settings.notice_emoji,
                ts=ctx.event.timestamp,
            )
        )
        await self._acknowledge(target.room_id, target.event_id)
        await ctx.reply("Approved: the post shows that report as it reads now.")

    @command("twim publish", aliases=["publish"], allow=is_editor)
    async def publish(self, ctx: CommandContext, day: str = "") -> None:
        """Write the post (dated today or YYYY-MM-DD) and its images, and start a new week"""
        done = await self.store.week(command_id=ctx.event.event_id)
        left_out: tuple[str, ...] = ()
        if done is None:
            await self.refresh_week()
            done, left_out = await self._publish(ctx, parse_day(day) if day else self._today())
            await self.refresh_week()
        answer = f"Published the post of {done.post_date} to `{done.path}`. A new week begins now."
        if left_out:
            # Plain text: the reasons quote addresses and names from the senders.
            answer += "\n\nLeft out, because the homeserver could not give the file:\n"
            answer += "\n".join(f"- {why}" for why in left_out)
        await ctx.reply(answer, markdown=not left_out)

    async def _publish(
        self, ctx: CommandContext, day: date
    ) -> tuple[PublishedWeek, tuple[str, ...]]:
        if await self.store.week(day=day) is not None:
            raise CommandError(f"The post of {day} was already published; give another date.")
        # The week holds what the bot received before this command, whatever the
        # senders' clocks say; a report received later goes to the next week.
        seq = await self.store.receive(ctx.event.event_id)
        draft = await self._draft(day, upto=seq)
        keys = {section.key for section in draft.post.sections}
        if not any(entry.section in keys for entry in draft.post.entries):
            raise CommandError("Nothing to publish: no included report has a section yet.")
        try:
            written = await write_post(
                draft.post, Path(self.settings.output_dir), self.client.download
            )
        except PublishError as e:
            raise CommandError(f"The post was not published: {e}") from e
        week = PublishedWeek(ctx.event.event_id, day, ctx.event.timestamp, str(written.post), seq)
        await self.store.add_week(week)
        self.log.info(
            "published %s with %d images, %d left out",
            written.post,
            len(written.images),
            len(written.left_out),
        )
        return week, written.left_out

    # -- the draft --------------------------------------------------------------------

    def _today(self) -> date:
        """The date the post will have: the editors' choice, else today."""
        return self.week_choices.day or self.settings.today(datetime.now(UTC))

    async def _cutoff(self) -> int:
        return await self.week.start()

    async def _draft(self, day: date, upto: int | None = None) -> Draft:
        settings = (await self.refresh_week(upto)).applied(self.settings)
        return await build_draft(
            self.store,
            settings,
            self.client.mxid,
            day,
            self._ping,
            upto,
            datetime.now(UTC),
            start=await self.week.start(),
            names=await self._bot_names(settings.rooms),
        )

    async def _ping(self) -> str | None:
        """The Dept of Ping table of the ping room, from the echo plugin if it runs."""
        stats = self.services.get_optional(PING_STATS)
        if self.settings.ping_room is None or stats is None:
            return None
        try:
            table = await stats.ranking_markdown(self.settings.ping_room, top=10)
        except Exception:
            # Another plugin's failure (its database, say) must not cost the post; the
            # log says why the table is missing.
            self.log.exception("ping-stats failed; the Dept of Ping is left out")
            return None
        return table if table.strip() else None

    async def _scheduled_preview(self) -> None:
        # The draft is for the editors: never into the public TWIM room.
        room = self.settings.editor_room
        if room is None:
            self.log.warning("no editor_room: the weekly preview has nowhere to go")
            return
        await send_preview(self.client, room, await self._draft(self._today()))
