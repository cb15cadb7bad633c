"""What the bot says when a report arrives or an editor reacts, and to whom.

As Hebbot does on receipt of a report: it presets the reactions that save the editors
work, tells a report that is too short so (in public, to its reporter, once: only the
original message is judged, never an edit), thanks the reporter with ``ack_text``
(``ack: receipt``), and tells the editors in their room that a report came. A reaction
that counts (include, file, tag) or is refused is told to the editors too, and so is
the redaction of a report or of such a reaction. Everything
for the editors goes to the editors' room with a link to the message, never into the
TWIM room; without an editors' room it is only logged. After downtime it all goes
into the catch-up summary instead (:mod:`.catchup`), and nothing is said in public.
"""

from __future__ import annotations

import logging

from mautrix.types import (
    EventID,
    MessageType,
    RoomID,
    TextMessageEventContent,
    UserID,
)

from botkit import PluginClient

from .catchup import CatchUp
from .collect import bot_names, new_report
from .mention import addresses
from .names import DisplayNames
from .notices import editors_notice
from .rows import MessageRow, ReactionRow
from .settings import Settings, fold, project_key
from .store import TwimStore

__all__ = ["Reception", "reaction_notice"]

_MAX_SUGGESTIONS = 3


def reaction_notice(settings: Settings, reaction: ReactionRow, reporter: str) -> str | None:
    """What an editor's (or with ``restrict_notice`` a reporter's) reaction that counts
    did, as Hebbot tells its admin room; None for a reaction that means nothing here."""
    key = fold(reaction.key)
    who = reaction.sender
    if key == fold(settings.notice_emoji):
        return f"{who} included it ({reporter}'s message)."
    for section in settings.sections:
        if key == fold(section.emoji):
            return f"{who} filed it in {section.title} ({reporter}'s message)."
    project = settings.project_reactions().get(project_key(reaction.key))
    if project is not None:
        return f"{who} tagged it with the project {project} ({reporter}'s message)."
    return None


class Reception:
    """Mixed into the plugin: the answers to a new report, and the editors' notices."""

    client: PluginClient
    settings: Settings
    store: TwimStore
    catchup: CatchUp
    names: DisplayNames
    log: logging.Logger

    async def _bot_names(self, rooms: tuple[RoomID, ...]) -> tuple[str, ...]:
        """The names a report may address the bot by: "TWIM", its user name, and its
        display name in its profile and in each of ``rooms``, as far as they are known."""
        me = self.client.mxid
        display = [await self.names.profile(me)]
        display += [await self.names.in_room(room, me) for room in rooms]
        return bot_names(me, [name for name in display if name])

    async def _tell_editors(self, room_id: RoomID, event_id: EventID, text: str, ts: int) -> None:
        """Tell the editors ``text`` about ``event_id``: in their room, with a link; into
        the catch-up summary if the event is old; in the log without an editors' room."""
        if self.catchup.late(ts):
            self.catchup.hold(room_id, event_id, text)
            return
        notice = editors_notice(self.settings, room_id, event_id, text)
        if notice is None:
            self.log.info("no editor_room for: %s (%s)", text, event_id)
            return
        await self.client.send(*notice)

    async def _receive(self, row: MessageRow, ts: int) -> None:
        """Answer a new message of the week that may be a report, as Hebbot does."""
        names = await self._bot_names((row.room_id,))
        answer = new_report(row, self.settings, self.client.mxid, names, _MAX_SUGGESTIONS)
        reporter = row.sender_name or row.sender
        if self.catchup.late(ts):
            if answer.reactions:
                self.catchup.hold(
                    row.room_id, row.event_id, "I would suggest " + " ".join(answer.reactions)
                )
            if answer.short is not None:
                self.catchup.hold(row.room_id, row.event_id, answer.short)
            if answer.report:
                self.catchup.hold(row.room_id, row.event_id, f"{row.sender} sent a report.")
            return
        for key in answer.reactions:
            await self.client.react(row.room_id, row.event_id, key)
        if answer.short is not None:
            notice = TextMessageEventContent(msgtype=MessageType.NOTICE, body=answer.short)
            notice.set_reply(row.event_id)
            await self.client.send(row.room_id, notice)
        if not answer.report:
            return
        if self.settings.ack == "receipt" and self.settings.ack_text:
            # Hebbot's thanks: a plain notice in the room, where the reporter sees it.
            thanks = self.settings.ack_text.replace("{{user}}", reporter)
            await self.client.send(
                row.room_id, TextMessageEventContent(msgtype=MessageType.NOTICE, body=thanks)
            )
        await self._tell_editors(row.room_id, row.event_id, f"{row.sender} sent a report.", ts)

    async def _tell_redaction(
        self, redactor: UserID, message: MessageRow | None, reaction: ReactionRow | None, ts: int
    ) -> None:
        """Tell the editors that a report, or a reaction that counted, was taken back,
        as Hebbot tells its admin room; other redactions go unsaid."""
        if reaction is not None:
            target = await self.store.message(reaction.target)
            if target is None or not self.settings.counts(
                reaction.sender, reaction.key, target.sender
            ):
                return
            if reaction_notice(self.settings, reaction, target.sender) is None:
                return
            text = (
                f"{redactor} removed {reaction.sender}'s {reaction.key}"
                f" from {target.sender}'s message."
            )
            await self._tell_editors(target.room_id, target.event_id, text, ts)
        elif message is not None and message.replaces is None and await self._mattered(message):
            text = f"{redactor} deleted {message.sender}'s report."
            await self._tell_editors(message.room_id, message.event_id, text, ts)

    async def _mattered(self, message: MessageRow) -> bool:
        """Whether ``message`` was a report: it addressed the bot, or a reaction that
        counts was on it."""
        names = await self._bot_names((message.room_id,))
        me = self.client.mxid
        if addresses(message.body, message.formatted_body, me, names, message.mentions):
            return True
        return any(
            self.settings.counts(r.sender, r.key, message.sender)
            and reaction_notice(self.settings, r, message.sender) is not None
            for r in await self.store.reactions_to(message.event_id)
        )
