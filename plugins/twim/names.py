"""Display names, the bot's and its reporters', kept in memory.

A new report needs its sender's name in the room (for the credit line) and the bot's
names (to tell whether it addresses the bot). Each is asked of the homeserver the
first time it is needed and then kept fresh from the ``m.room.member`` events of the
TWIM rooms, which the plugin handles in order with the messages: a new display name,
set in one room or in the profile (the homeserver then sends a new member event to
each room; spec: "m.room.member"), is known before the messages that follow it. So
a report costs no request. A lookup that fails, on a slow or rate-limiting
homeserver, leaves the name unknown: the caller falls back on the names it knows,
and the name is asked again after :data:`RETRY`, not for each message meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientError
from mautrix.client import ClientAPI
from mautrix.errors import MatrixError, MNotFound
from mautrix.types import EventType, Membership, RoomID, StateEvent, UserID

__all__ = ["RETRY", "DisplayNames"]

RETRY = timedelta(minutes=5)
"""How long a name whose lookup failed stays unknown before it is asked again."""

_Key = tuple[RoomID | None, UserID]
"""A user's name in a room, or (room None) in their profile."""

_LOOKUP_ERRORS = (MatrixError, ClientError, TimeoutError)


class DisplayNames:
    """The display names of users in rooms and in their profiles; ``""`` for none."""

    def __init__(self, api: ClientAPI, now: Callable[[], datetime], log: logging.Logger) -> None:
        self._api = api
        self._now = now
        self._log = log
        self._names: dict[_Key, str] = {}
        self._retry: dict[_Key, datetime] = {}
        self._asking: dict[_Key, asyncio.Task[str | None]] = {}

    async def in_room(self, room_id: RoomID, user_id: UserID) -> str | None:
        """``user_id``'s display name in ``room_id``; None while it cannot be known."""
        return await self._get((room_id, user_id))

    async def profile(self, user_id: UserID) -> str | None:
        """``user_id``'s display name in their profile; None while it cannot be known."""
        return await self._get((None, user_id))

    def saw(self, event: StateEvent) -> None:
        """Take the display name that an ``m.room.member`` event gives its user.

        Only the names asked for before are kept: those of the bot and of the
        reporters, not of everyone who passes through a public room.
        """
        user = UserID(event.state_key)
        key: _Key = (event.room_id, user)
        name = _name(event.content) if _joined(event.content) else ""
        before = self._names.get(key, _name(event.prev_content))
        profile = self._names.get((None, user))
        if _joined(event.content) and profile is not None and before == profile:
            # Most likely the profile changed and this is the room's copy of it. A
            # name set for this room alone is taken for the profile too: it is the
            # user's name here either way, and the other rooms keep their own.
            self._names[(None, user)] = name
        if key in self._names or key in self._retry or key in self._asking:
            self._names[key] = name
            self._retry.pop(key, None)

    async def _get(self, key: _Key) -> str | None:
        known = self._names.get(key)
        if known is not None:
            return known
        retry = self._retry.get(key)
        if retry is not None and self._now() < retry:
            return None
        asking = self._asking.get(key)
        if asking is None:
            # One lookup at a time per name: the handlers of other rooms, or a draft,
            # that need it meanwhile wait for the same answer.
            asking = self._asking[key] = asyncio.create_task(self._ask(key))
        return await asyncio.shield(asking)

    async def _ask(self, key: _Key) -> str | None:
        try:
            name = await self._lookup(*key)
        except _LOOKUP_ERRORS as e:
            self._retry[key] = self._now() + RETRY
            room_id, user_id = key
            where = f"in {room_id}" if room_id else "in the profile"
            self._log.warning(
                "could not look up %s's display name %s (%s); asking again in %d s",
                user_id,
                where,
                e,
                RETRY.total_seconds(),
            )
            return None
        finally:
            del self._asking[key]
        self._retry.pop(key, None)
        # A member event handled while the homeserver answered is the newer name.
        return self._names.setdefault(key, name)

    async def _lookup(self, room_id: RoomID | None, user_id: UserID) -> str:
        if room_id is None:
            return _name_of(await self._api.get_displayname(user_id))
        try:
            member = await self._api.get_state_event(room_id, EventType.ROOM_MEMBER, user_id)
        except MNotFound:
            return ""  # not in the room: no name there
        return _name(member) if _joined(member) else ""


def _name(content: Any) -> str:
    return _name_of(getattr(content, "displayname", None))


def _name_of(name: object) -> str:
    return name if isinstance(name, str) and name.strip() else ""


def _joined(content: Any) -> bool:
    return getattr(content, "membership", None) == Membership.JOIN
