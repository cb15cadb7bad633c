"""Room upgrades: the TWIM, editors' and ping rooms follow their replacements.

botkit lets an instance's config follow an upgraded room, but rooms named in Hebbot's
``config.toml`` are outside that config, and a list of rooms keeps the old room first.
So the plugin keeps the upgrades it was told of (``room_upgrades``) and applies them to
its settings whenever it reads them: the old room stays watched (its late reactions and
edits still count, and the week's rows keep their room id), the new one is watched
too, and whatever the bot sends goes to the newest room.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from mautrix.types import RoomID
from sqlalchemy import select

from botkit import Storage
from botkit.upgrades import latest_room

from .schema import TwimTables
from .settings import Settings

__all__ = ["UpgradeStore", "follow"]


def follow(settings: Settings, upgrades: Mapping[RoomID, RoomID]) -> Settings:
    """``settings`` with each upgraded room followed to its replacement.

    Following again changes nothing, so the settings of a config botkit already
    followed stay as they are.
    """
    rooms: list[RoomID] = []
    for room in settings.rooms:
        successor: RoomID | None = room
        while successor is not None and successor not in rooms:
            rooms.append(successor)
            successor = upgrades.get(successor)
    retired = frozenset(room for room in rooms if room in upgrades) | settings.retired
    return attrs.evolve(
        settings,
        rooms=tuple(rooms),
        retired=retired,
        editor_room=latest_room(settings.editor_room, upgrades) if settings.editor_room else None,
        ping_room=latest_room(settings.ping_room, upgrades) if settings.ping_room else None,
    )


class UpgradeStore:
    """The upgrades the instance was told of, kept across restarts."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.table = storage.bind(TwimTables).room_upgrades

    async def add(self, old: RoomID, new: RoomID) -> None:
        """Keep ``old`` → ``new``; a second call (the hook run again) changes nothing."""
        insert = self.storage.insert(self.table).values(old_room=old, new_room=new)
        async with self.storage.begin() as conn:
            await conn.execute(insert.on_conflict_do_nothing())

    async def all(self) -> dict[RoomID, RoomID]:
        """Every upgrade kept, by the old room."""
        async with self.storage.begin() as conn:
            rows = await conn.execute(select(self.table.c.old_room, self.table.c.new_room))
            return {RoomID(old): RoomID(new) for old, new in rows}
