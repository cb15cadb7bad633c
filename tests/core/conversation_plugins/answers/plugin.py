"""Answers as a thread answer, a rich reply or a plain message; says where it was asked."""

from __future__ import annotations

from mautrix.types import EventType, RoomID, StateEvent

from botkit import CommandContext, Plugin, command, on
from botkit.membership import Change, membership_change


class Answers(Plugin):
    """Each command answers in another way; emotes may run them."""

    emote_commands = True

    async def start(self) -> None:
        """Begin with no membership changes seen."""
        #: (room, member, change) of every membership event seen, oldest first.
        self.changes: list[tuple[RoomID, str, Change | None]] = []

    @on(EventType.ROOM_MEMBER)
    async def on_member(self, evt: StateEvent) -> None:
        """Note what the membership event did."""
        self.changes.append((evt.room_id, evt.state_key, membership_change(evt)))

    @command("where", help="Say which thread the command was sent in")
    async def where(self, ctx: CommandContext) -> None:
        """Answer (in the thread, if any) with the thread root."""
        await ctx.reply(f"thread {ctx.thread_root}", markdown=False)

    @command("rich", help="Answer with a rich reply")
    async def rich(self, ctx: CommandContext) -> None:
        """Answer with a rich reply."""
        await ctx.reply("a reply", mode="reply")

    @command("plain", help="Answer in the main timeline")
    async def plain(self, ctx: CommandContext) -> None:
        """Answer with a plain message."""
        await ctx.reply("a plain message", mode="plain")

    @command("greet", help="Greet the sender, mentioning them")
    async def greet(self, ctx: CommandContext) -> None:
        """Name the sender and mention them."""
        await ctx.reply(f"Hi {ctx.sender}", mention=[ctx.sender])
