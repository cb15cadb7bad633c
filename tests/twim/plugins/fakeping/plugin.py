"""A stand-in for the echo plugin's "ping-stats" service: a fixed Dept of Ping table."""

from __future__ import annotations

from botkit import Plugin, ServiceKey


class FakePing(Plugin):
    """Provides ``ping-stats`` whose ranking is the configured table."""

    async def start(self) -> None:
        """Offer the service."""
        # The provider's own key: the name joins it to twim's, which checks its Protocol.
        self.services.provide(ServiceKey("ping-stats", FakePing), self)

    async def ranking_markdown(self, room_id: str, *, top: int = 10) -> str:
        """The configured table for the configured room, else nothing (no data)."""
        return str(self.config["table"]) if room_id == self.config["room"] else ""
