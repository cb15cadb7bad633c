"""Room upgrades: following an ``m.room.tombstone`` to the room that replaces it.

When a room is upgraded (spec: client-server API, "Room Upgrades") its last event
is a tombstone naming the replacement. botkit then, once per old room:

1. joins the replacement through the tombstone sender's server (a room ID of
   room version 12 has no server part to join through);
2. lets each plugin instance's config follow: a room ID list naming the old room
   gets the new one after it (so late events of the old room still count), a
   single value naming it is replaced; an instance whose config changed restarts;
3. tells each instance (:meth:`~botkit.plugin.Plugin.on_room_upgrade`), so that
   per-room data can follow;
4. records the upgrade (``botkit_room_upgrades``), so that after a restart a config
   naming the old room still works, and ``botkit check`` says it is outdated.

A crash between 3 and 4 tells the instances again after the restart: the hook
must be idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mautrix.client import ClientAPI
from mautrix.errors import MatrixRequestError
from mautrix.types import RoomID, UserID
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from .config import BotConfig
from .instance import PluginInstance
from .state import StateStore

# A room ID, typed (RoomID) or not (str, as in a config).
R = TypeVar("R", bound=str)

__all__ = [
    "RoomUpgrades",
    "follow_config",
    "latest_room",
    "outdated_rooms",
    "recorded_upgrades",
    "replacement_of",
]

log = logging.getLogger("botkit.upgrades")


def replacement_of(raw: Any) -> tuple[UserID, RoomID] | None:
    """(sender, replacement room) of ``raw`` if it is an ``m.room.tombstone`` naming one."""
    if not (isinstance(raw, dict) and raw.get("type") == "m.room.tombstone"):
        return None
    content, sender = raw.get("content"), raw.get("sender")
    new = content.get("replacement_room") if isinstance(content, dict) else None
    if raw.get("state_key") != "" or not isinstance(sender, str) or not isinstance(new, str):
        return None
    if not new.startswith("!") or len(new) > 255:
        return None
    return UserID(sender), RoomID(new)


def latest_room(room: R, upgrades: Mapping[R, R]) -> R:
    """The room that replaced ``room`` last (upgrades may chain), or ``room`` itself.

    A cycle, which no server makes, stops where it would repeat.
    """
    seen = {room}
    while room in upgrades and upgrades[room] not in seen:
        room = upgrades[room]
        seen.add(room)
    return room


def follow_config(value: Any, upgrades: Mapping[str, str]) -> Any:
    """``value`` (a plugin config) with its room IDs following ``upgrades``; a copy."""
    if isinstance(value, dict):
        return {k: follow_config(v, upgrades) for k, v in value.items()}
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            items.append(follow_config(item, upgrades) if not isinstance(item, str) else item)
            if isinstance(item, str) and item in upgrades:
                latest = latest_room(item, upgrades)
                if latest not in value and latest not in items:
                    items.append(latest)
        return items
    if isinstance(value, str) and value in upgrades:
        return latest_room(value, upgrades)
    return value


def outdated_rooms(value: Any, upgrades: Mapping[str, str], key: str) -> list[str]:
    """One line per place in ``value`` (found under ``key``) that names an upgraded room."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += outdated_rooms(v, upgrades, f"{key}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += outdated_rooms(v, upgrades, f"{key}[{i}]")
    elif isinstance(value, str) and value in upgrades:
        found.append(
            f"{key}: room {value} was upgraded to {latest_room(value, upgrades)}; botkit "
            "follows it, but the config is outdated: put the new room ID in it"
        )
    return found


def recorded_upgrades(config: BotConfig) -> dict[str, str]:
    """The upgrades the bot's database holds, read without creating or changing anything.

    Empty when there is no database yet (a SQLite file not created) or it cannot be
    read. For ``botkit check``, outside any event loop.
    """
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return {}
    return asyncio.run(_read_upgrades(config))


async def _read_upgrades(config: BotConfig) -> dict[str, str]:
    # SQLAlchemy's own engine, not botkit's: that one makes the file private, and
    # ``botkit check`` only reads (it warns about such a file instead).
    engine = create_async_engine(config.database_url)
    try:
        return await StateStore(engine, config.homeserver.user_id).upgrades()
    except (SQLAlchemyError, OSError) as e:
        log.debug("no recorded room upgrades: %s", e)
        return {}
    finally:
        await engine.dispose()


def _servers(*ids: str) -> list[str]:
    """The server parts of these IDs, in order, without repeats."""
    servers: list[str] = []
    for id_ in ids:
        server = id_.split(":", 1)[1] if ":" in id_ else ""
        if server and server not in servers:
            servers.append(server)
    return servers


class RoomUpgrades:
    """The bot's record of upgraded rooms, and what it does on a tombstone."""

    def __init__(
        self,
        api: ClientAPI,
        store: StateStore,
        instances: Callable[[], Sequence[PluginInstance]],
    ) -> None:
        self.api = api
        self.store = store
        self.instances = instances
        #: Old room ID -> the room that replaced it.
        self.known: dict[str, str] = {}

    async def load(self) -> None:
        """Read the recorded upgrades (once the bot's tables exist)."""
        self.known = await self.store.upgrades()

    def follow(self, config: dict[str, Any]) -> dict[str, Any]:
        """A plugin instance's config with its room IDs following the recorded upgrades."""
        followed: dict[str, Any] = follow_config(config, self.known) if self.known else config
        return followed

    async def tombstone(self, old: RoomID, sender: UserID, new: RoomID) -> None:
        """Follow ``old``'s tombstone (sent by ``sender``) to ``new``, unless done before.

        Errors a later attempt may not have (the network, a 5xx) are raised, so
        that the sync batch holding the tombstone is fetched again.
        """
        if old in self.known or old == new:
            return
        via = _servers(sender, new, old)
        try:
            # No retries inside mautrix: they would hold up the sync loop; a failure
            # that may pass is raised, and the batch with the tombstone comes again.
            await self.api.join_room(new, servers=via, max_retries=0)
            log.info("%s was upgraded to %s; joined it via %s", old, new, ", ".join(via))
        except MatrixRequestError as e:
            if e.http_status >= 500 or e.http_status == 429:
                raise
            # An invite-only room: whoever upgraded it must invite the bot (Element
            # offers to invite the members); the invite is then accepted as any other.
            log.warning(
                "%s was upgraded to %s, which the bot cannot join (%s); invite it there",
                old,
                new,
                e,
            )
        self.known[old] = new
        for inst in self.instances():
            await self._tell(inst, old, new)
        await self.store.record_upgrade(old, new)

    async def _tell(self, inst: PluginInstance, old: RoomID, new: RoomID) -> None:
        followed = follow_config(inst.config, {old: new})
        if followed != inst.config:
            inst.log.info("the config follows %s to %s; restarting", old, new)
            await inst.stop(restarting=True)
            inst.config = followed
            try:
                await inst.start()
            except Exception:
                inst.log.exception("could not restart with the followed config")
                return
        plugin = inst.plugin
        if plugin is None:
            return
        try:
            await plugin.on_room_upgrade(old, new)
        except Exception:
            inst.host.metrics.handler_errors.inc(inst.name)
            inst.log.exception("on_room_upgrade(%s, %s) failed", old, new)
