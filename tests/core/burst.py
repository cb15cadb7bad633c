"""A burst of ``!pong <n>`` commands while the bot is killed (SIGKILL) and started again,
and the count of its answers that shows none lost and none repeated.

Shared by the delivery tests (a plain room, mautrix as the person) and the encrypted
ones (matrix-nio as the person): each says how its person sends and counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

from botkit.testing.bot import BotProcess

__all__ = ["burst_through_kills", "lost", "repeated"]


async def burst_through_kills(
    proc: BotProcess,
    send: Callable[[str], Awaitable[object]],
    answered: Callable[[int], Awaitable[None]],
    count: int,
    kills: Sequence[int],
) -> None:
    """Send ``!pong 0`` … ``!pong <count - 1>`` with ``send``; meanwhile, each time
    ``answered(n)`` returns for the next ``n`` of ``kills``, kill the bot and start it
    again, so that it dies mid-burst."""

    async def killer() -> None:
        for threshold in kills:
            await answered(threshold)
            proc.kill()
            await proc.start()

    killing = asyncio.create_task(killer())
    for i in range(count):
        await send(f"!pong {i}")
    await killing


def lost(tally: Mapping[str, int], count: int) -> set[str]:
    """The tags ``0`` … ``count - 1`` that ``tally`` (answers by tag) never counted."""
    return {tag for tag in map(str, range(count)) if tally.get(tag, 0) == 0}


def repeated(tally: Mapping[str, int]) -> dict[str, int]:
    """The tags answered more than once, with how often."""
    return {tag: n for tag, n in tally.items() if n > 1}
