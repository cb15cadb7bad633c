"""Commands only some users may run, and handlers that are not commands."""

from __future__ import annotations

import re

from mautrix.types import EventType, ReactionEvent, RoomID, UserID

from botkit import CommandContext, MessageContext, Plugin, command, on, passive


def is_vip(plugin: Guarded, user: UserID) -> bool:
    """Whether ``user`` is listed in the instance's ``vips``."""
    return user in plugin.config["vips"]


class Guarded(Plugin):
    """Tells secrets to admins and VIPs, thanks back, and counts reactions."""

    reactions: int

    async def start(self) -> None:
        """Reactions are counted in memory: a restart forgets them."""
        self.reactions = 0

    def watches(self, room_id: RoomID) -> bool:
        """The configured ``rooms``, or every room."""
        rooms = self.config["rooms"]
        return not rooms or room_id in rooms

    @command("secret", help="Tell the secret (admins only)", allow="admins")
    async def secret(self, ctx: CommandContext) -> None:
        """Tell the configured secret."""
        await ctx.reply(f"The secret is {self.config['secret']}.", markdown=False)

    @command("vip", help="Greet a VIP", allow=is_vip)
    async def vip(self, ctx: CommandContext) -> None:
        """Greet one of the configured VIPs."""
        await ctx.reply(f"Welcome, {ctx.sender}.", markdown=False)

    @passive(r"\bthanks?\b", flags=re.IGNORECASE)
    async def thanked(self, ctx: MessageContext, match: re.Match[str]) -> None:
        """React to thanks."""
        await ctx.react("👍")

    @on(EventType.REACTION)
    async def reacted(self, evt: ReactionEvent) -> None:
        """Count reactions and say how many there were."""
        self.reactions += 1
        await self.client.send_text(evt.room_id, f"{self.reactions} reactions so far")
