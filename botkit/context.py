"""What a message or command handler gets: the event and ways to answer it."""

from __future__ import annotations

from collections.abc import Iterable

from mautrix.types import EventID, MessageEvent, RoomID, UserID

from .client import PluginClient
from .relations import AnswerMode, answer_relation, thread_root

__all__ = ["CommandContext", "MessageContext"]


class MessageContext:
    """A message being handled, with shortcuts to answer in its room (and thread)."""

    __slots__ = ("body", "client", "event", "thread_root")

    def __init__(self, client: PluginClient, event: MessageEvent) -> None:
        self.client = client
        self.event = event
        body = getattr(event.content, "body", "")
        self.body: str = body if isinstance(body, str) else ""
        #: The root event of the thread the message was sent in; None outside threads.
        self.thread_root: EventID | None = thread_root(event)

    @property
    def room_id(self) -> RoomID:
        """The room the message was sent in."""
        return self.event.room_id

    @property
    def sender(self) -> UserID:
        """Who sent the message."""
        return self.event.sender

    async def reply(
        self,
        text: str,
        *,
        markdown: bool = True,
        html: str | None = None,
        notice: bool = True,
        mode: AnswerMode = "thread",
        mention: Iterable[str] = (),
    ) -> EventID:
        """Answer the message: markdown (raw HTML escaped) unless told otherwise.

        Where the answer goes is ``mode``:

        * ``"thread"`` (default): in the message's thread if it was sent in one
          (with the reply fallback for clients without threads), else in the room.
        * ``"reply"``: a rich reply to the message (inside its thread, if any);
          it mentions the sender, as the spec asks of replies.
        * ``"plain"``: a message in the room's main timeline, related to nothing.

        ``mention`` lists the users the answer mentions (``m.mentions``); name them
        in the text too. By default it mentions the sender if the text names them
        (their user ID), and nobody else.

        Markdown too long to format raises :class:`~botkit.markdown.MarkdownTooLong`,
        which a command answers with its message; see :meth:`PluginClient.send_markdown`.
        """
        relates_to = answer_relation(self.event, mode)
        users = list(mention)
        if mode == "reply" or self.sender in text:
            users.append(self.sender)
        if html is not None or not markdown:
            return await self.client.send_text(
                self.room_id, text, html=html, notice=notice, relates_to=relates_to, mention=users
            )
        return await self.client.send_markdown(
            self.room_id, text, notice=notice, relates_to=relates_to, mention=users
        )

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
