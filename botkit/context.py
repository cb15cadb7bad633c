"""What a message or command handler gets: the event and ways to answer it."""

from __future__ import annotations

from mautrix.types import EventID, MessageEvent, RoomID, UserID

from .client import PluginClient

__all__ = ["CommandContext", "MessageContext"]


class MessageContext:
    """A message being handled, with shortcuts to answer in its room."""

    __slots__ = ("body", "client", "event")

    def __init__(self, client: PluginClient, event: MessageEvent) -> None:
        self.client = client
        self.event = event
        body = getattr(event.content, "body", "")
        self.body: str = body if isinstance(body, str) else ""

    @property
    def room_id(self) -> RoomID:
        """The room the message was sent in."""
        return self.event.room_id

    @property
    def sender(self) -> UserID:
        """Who sent the message."""
        return self.event.sender

    async def reply(
        self, text: str, *, markdown: bool = True, html: str | None = None, notice: bool = True
    ) -> EventID:
        """Answer in the message's room: markdown (raw HTML escaped) unless told otherwise.

        Markdown too long to format raises :class:`~botkit.markdown.MarkdownTooLong`,
        which a command answers with its message; see :meth:`PluginClient.send_markdown`.
        """
        if html is not None or not markdown:
            return await self.client.send_text(self.room_id, text, html=html, notice=notice)
        return await self.client.send_markdown(self.room_id, text, notice=notice)

    async def react(self, key: str) -> EventID:
        """React to the message with ``key``."""
        return await self.client.react(self.room_id, self.event.event_id, key)


class CommandContext(MessageContext):
    """A command being handled: ``name`` is the command as invoked, ``args`` the raw rest."""

    __slots__ = ("args", "name")

    def __init__(self, client: PluginClient, event: MessageEvent, name: str, args: str) -> None:
        super().__init__(client, event)
        self.name = name
        self.args = args
