"""What the bot tells the editors about a message goes to their room, not the reporters'.

Hebbot writes everything for editors to its admin room with a link to the message;
a refusal there keeps the public TWIM room for the news. Without an editors' room
there is nowhere to say it (the caller logs it); when the message is in the editors'
room itself the notice replies to it.
"""

from __future__ import annotations

from urllib.parse import quote

from mautrix.types import EventID, MessageType, RoomID, TextMessageEventContent

from .settings import Settings

__all__ = ["editors_notice"]


def editors_notice(
    settings: Settings, room_id: RoomID, event_id: EventID, text: str
) -> tuple[RoomID, TextMessageEventContent] | None:
    """Where to send ``text`` about ``event_id`` in ``room_id``, and the notice itself;
    None without an editors' room."""
    room = settings.editor_room
    if room is None:
        return None
    if room == room_id:
        content = TextMessageEventContent(msgtype=MessageType.NOTICE, body=text)
        content.set_reply(event_id)
        return room, content
    link = f"https://matrix.to/#/{quote(room_id, safe='!:')}/{quote(event_id, safe='$:')}"
    return room, TextMessageEventContent(msgtype=MessageType.NOTICE, body=f"{text} {link}")
