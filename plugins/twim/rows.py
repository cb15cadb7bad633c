"""What the plugin keeps of the TWIM room: messages, edits, reactions, as rows.

Rows are the events as they came, never changed afterwards; what the post shows is
derived from them each time (:mod:`.collect`), so that an edit or a redaction is undone
simply by leaving its row out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mautrix.types import (
    ContentURI,
    EventID,
    MediaMessageEventContent,
    MessageEvent,
    MessageType,
    RoomID,
    TextMessageEventContent,
    UserID,
)

__all__ = ["MEDIA_TYPES", "MessageRow", "ReactionRow", "message_row", "valid_mxc"]

MEDIA_TYPES = frozenset({MessageType.IMAGE.value, MessageType.VIDEO.value})
"""Message types whose file can be shown in the post."""

# Spec, appendices "Server Name" and "Matrix Content (mxc://) URIs".
_MXC = re.compile(
    r"mxc://(?:[A-Za-z0-9.-]{1,255}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?/[A-Za-z0-9_-]+"
)


def valid_mxc(url: str) -> bool:
    """Whether ``url`` is ``mxc://<server name>/<media id>`` as the spec allows."""
    return _MXC.fullmatch(url) is not None


@dataclass(frozen=True, kw_only=True)
class MessageRow:
    """A message, or an edit of one (``replaces`` is then the original's id).

    ``body``, ``formatted_body`` and ``format`` are the text without a reply fallback;
    an edit holds its new content. Media messages have ``media_url`` and ``filename``.
    ``seq`` is the place in the order the bot received events in (see
    :meth:`plugins.twim.store.TwimStore.receive`), 0 until the row is stored; it is the
    bot's bookkeeping, not part of the event, so two rows of one event compare equal.
    """

    event_id: EventID
    room_id: RoomID
    sender: UserID
    sender_name: str
    ts: int
    msgtype: str
    body: str
    formatted_body: str | None = None
    format: str | None = None
    media_url: ContentURI | None = None
    filename: str | None = None
    mimetype: str | None = None
    reply_to: EventID | None = None
    replaces: EventID | None = None
    mentions: tuple[UserID, ...] = ()
    """The users the message says it mentions (``m.mentions``; an edit's new content's)."""
    seq: int = field(default=0, compare=False)

    @property
    def is_media(self) -> bool:
        """An image or a video."""
        return self.msgtype in MEDIA_TYPES and self.media_url is not None


@dataclass(frozen=True, kw_only=True)
class ReactionRow:
    """A reaction (``m.annotation``) with its key as sent; ``seq`` as for a message."""

    event_id: EventID
    room_id: RoomID
    target: EventID
    sender: UserID
    key: str
    ts: int
    seq: int = field(default=0, compare=False)


def message_row(event: MessageEvent, sender_name: str) -> MessageRow | None:
    """The row of a message event; None for what has no text or file (a redacted one).

    mautrix already put an edit's ``m.new_content`` in ``event.content``.
    """
    content = event.content
    if not isinstance(content, TextMessageEventContent) or not content.msgtype:
        return None
    replaces = content.get_edit()
    reply_to = None if replaces else content.get_reply_to()
    if reply_to:
        content.trim_reply_fallback()
    media_url = filename = mimetype = None
    if isinstance(content, MediaMessageEventContent):
        media_url = content.url
        filename = content.filename or content.body
        info = content.info
        mimetype = getattr(info, "mimetype", None) if info is not None else None
    fmt = str(getattr(content.format, "value", content.format)) if content.format else None
    return MessageRow(
        event_id=event.event_id,
        room_id=event.room_id,
        sender=event.sender,
        sender_name=sender_name,
        ts=event.timestamp,
        msgtype=content.msgtype.value,
        body=content.body or "",
        formatted_body=content.formatted_body if fmt else None,
        format=fmt,
        media_url=media_url,
        filename=filename,
        mimetype=mimetype if isinstance(mimetype, str) else None,
        reply_to=reply_to,
        replaces=replaces,
        mentions=_mentioned(content.get("m.mentions")),
    )


def _mentioned(mentions: object) -> tuple[UserID, ...]:
    """The user IDs of an ``m.mentions`` value, whatever a client put there."""
    users = mentions.get("user_ids") if isinstance(mentions, dict) else None
    if not isinstance(users, list):
        return ()
    return tuple(UserID(user) for user in users if isinstance(user, str))
