"""Answers ``!attach <text>`` with a file holding ``<text>``, uploaded to the room."""

from __future__ import annotations

from mautrix.types import FileInfo, MediaMessageEventContent, MessageType

from botkit import CommandContext, Plugin, Rest, command


class Attach(Plugin):
    """Uploads with the room given, so that an encrypted room gets an encrypted file."""

    @command("attach", help="Answer with a file holding the text")
    async def attach(self, ctx: CommandContext, text: Rest = "") -> None:
        """Upload ``text`` as ``note.txt`` and send it."""
        data = text.encode()
        room = ctx.event.room_id
        url = await self.client.upload(data, "text/plain", "note.txt", room_id=room)
        content = MediaMessageEventContent(
            msgtype=MessageType.FILE,
            body="note.txt",
            url=url,
            info=FileInfo(mimetype="text/plain", size=len(data)),
        )
        await self.client.send(room, content)
