"""Answers as a thread answer, a rich reply or a plain message; says where it was asked."""

from __future__ import annotations

from botkit import CommandContext, Plugin, command


class Answers(Plugin):
    """Each command answers in another way; emotes may run them."""

    emote_commands = True

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
