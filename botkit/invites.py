"""Invites: join the rooms ``bot.autojoin`` allows, beside the sync loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from mautrix.client import ClientAPI
from mautrix.errors import MatrixRequestError
from mautrix.types import RoomID, UserID

from .config import AutojoinConfig

__all__ = ["Invites"]

log = logging.getLogger("botkit")
_JOIN_RETRY_WAITS = (5.0, 15.0, 30.0)


class Invites:
    """Answers invites by joining, each join a task of its own."""

    def __init__(self, api: Callable[[], ClientAPI | None], autojoin: Callable[[], AutojoinConfig]):
        # Read at each invite: the client exists only once the bot is connected, and a
        # reload may change the autojoin rules.
        self._api = api
        self._autojoin = autojoin
        self.joins: set[asyncio.Task[None]] = set()

    async def on_invite(self, room_id: RoomID, inviter: UserID | None) -> None:
        """Join ``room_id`` if the inviter is allowed; else log and ignore the invite."""
        autojoin = self._autojoin()
        allow = autojoin.allow
        server = inviter.split(":", 1)[1] if inviter and ":" in inviter else None
        if not autojoin.enabled or (allow and inviter not in allow and server not in allow):
            log.info("ignoring invite to %s from %s", room_id, inviter)
            return
        # Joining is done beside the sync loop: a room that cannot be joined (gone, or
        # an invite that was never real) must not hold up every other room.
        task = asyncio.create_task(self._join(room_id, inviter), name=f"botkit-join-{room_id}")
        self.joins.add(task)
        task.add_done_callback(self.joins.discard)

    async def _join(self, room_id: RoomID, inviter: UserID | None) -> None:
        api = self._api()
        assert api is not None
        # A join right after a federated invite may be refused at first (mautrix retries
        # for this too, but with the sync loop waiting and a traceback per try).
        for wait in (*_JOIN_RETRY_WAITS, None):
            try:
                await api.join_room(room_id, max_retries=0)
                log.info("joined %s (invited by %s)", room_id, inviter)
                return
            except MatrixRequestError as e:
                if wait is None:
                    log.warning("could not join %s (invited by %s): %s", room_id, inviter, e)
                    return
            except Exception as e:
                log.warning("could not join %s (invited by %s): %s", room_id, inviter, e)
                return
            await asyncio.sleep(wait)
