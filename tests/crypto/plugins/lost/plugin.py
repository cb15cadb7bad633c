"""Says ``lost <event ID>`` in the room of each encrypted event the bot cannot read."""

from __future__ import annotations

from mautrix.types import Event

from botkit import Plugin


class Lost(Plugin):
    """The ``on_undecryptable`` hook, made visible."""

    async def on_undecryptable(self, event: Event, reason: str) -> None:
        """Say which event was lost."""
        await self.client.send_text(event.room_id, f"lost {event.event_id}")
