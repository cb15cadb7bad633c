"""A plugin that misbehaves, to show that the others are not affected."""

from __future__ import annotations

import asyncio

from mautrix.types import Event

from botkit import ANY_EVENT, CommandContext, Plugin, command, on


class Crashy(Plugin):
    """Raises, hangs, and fails on every event."""

    @on(ANY_EVENT)
    async def explode(self, evt: Event) -> None:
        """Fail on every event the bot sees."""
        raise RuntimeError(f"crashy cannot handle {evt.event_id}")

    @command("crash", help="Raise an exception")
    async def crash(self, ctx: CommandContext) -> None:
        """Raise."""
        raise ValueError("crashed on purpose")

    @command("hang", help="Never finish")
    async def hang(self, ctx: CommandContext) -> None:
        """Sleep far beyond any handler timeout."""
        await asyncio.sleep(3600)
