"""Wake everyone waiting for something to change, without polling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Broadcast", "wait_until"]

T = TypeVar("T")


class Broadcast:
    """A one-to-many wake-up: :meth:`notify` releases every current :meth:`wait`.

    Waiters check their condition, then wait, with no ``await`` in between, so on one
    event loop a change can never slip past between the check and the wait.
    """

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None

    def notify(self) -> None:
        """Release everyone waiting now; later waiters wait for the next change."""
        future, self._future = self._future, None
        if future is not None and not future.done():
            future.set_result(None)

    async def wait(self) -> None:
        """Wait for the next :meth:`notify`. Cancelling one waiter leaves the others be."""
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        # asyncio.wait, unlike awaiting the future, does not cancel it when cancelled.
        await asyncio.wait({self._future})


async def wait_until(broadcast: Broadcast, check: Callable[[], T | None]) -> T:
    """Return ``check()``'s first non-None answer, re-checking on every notification.

    Bound it with :func:`asyncio.timeout`.
    """
    while (found := check()) is None:
        await broadcast.wait()
    return found
