"""Answers ``!pong <tag>`` with ``pong <tag>``: one answer per command, easy to count."""

from __future__ import annotations

from botkit import CommandContext, Plugin, Rest, command


class Pong(Plugin):
    """The smallest plugin with an answer to count."""

    @command("pong", help="Answer with the same tag")
    async def pong(self, ctx: CommandContext, tag: Rest = "") -> None:
        """Answer ``pong <tag>``."""
        await ctx.reply(f"pong {tag}", markdown=False)
