"""Answers ``!how`` with how the command reached the bot: encrypted (trusted how much) or not."""

from __future__ import annotations

from botkit import CommandContext, Plugin, command
from botkit.crypto import encryption_of


class How(Plugin):
    """What :func:`botkit.crypto.encryption_of` tells a plugin."""

    @command("how", help="Say whether this command came encrypted, and from a verified device")
    async def how(self, ctx: CommandContext) -> None:
        """Answer ``clear``, or ``encrypted <trust> verified|unverified``."""
        info = encryption_of(ctx.event)
        if info is None:
            await ctx.reply("clear", markdown=False)
            return
        verified = "verified" if info.verified else "not verified"
        await ctx.reply(f"encrypted {info.trust} ({verified})", markdown=False)
