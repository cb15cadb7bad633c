"""A person with encryption, for tests and benchmarks: matrix-nio with its own E2EE.

Needs matrix-nio[e2e] (botkit's test extra).

A second implementation on the other side, so that the tests show botkit
interoperating, not mautrix talking to itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomEncryptedMedia,
    RoomMessageMedia,
    RoomMessageNotice,
    RoomMessageText,
    RoomSendResponse,
    ToDeviceMessage,
    ToDeviceResponse,
    UploadResponse,
)
from nio.crypto.attachments import decrypt_attachment

from botkit.testing.synapse import MatrixAccount

__all__ = ["Message", "Person"]

ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


class Message:
    """A message the person saw: who sent it, its body, whether it came encrypted."""

    def __init__(self, room_id: str, event: Any) -> None:
        self.room_id = room_id
        self.event_id: str = event.event_id
        self.sender: str = event.sender
        self.body: str = getattr(event, "body", "")
        self.decrypted: bool = bool(getattr(event, "decrypted", False))
        self.undecryptable = isinstance(event, MegolmEvent)
        #: An attachment's URI, and its key, IV and hash when it is encrypted.
        self.url: str | None = getattr(event, "url", None)
        self.file: dict[str, Any] | None = None
        if isinstance(event, RoomEncryptedMedia):
            self.file = {"key": event.key, "hashes": event.hashes, "iv": event.iv}


class Person:
    """A nio client with encryption, syncing in the background."""

    def __init__(self, account: MatrixAccount, store: Path) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.account = account
        self.client = AsyncClient(
            account.homeserver_url,
            account.user_id,
            device_id=account.device_id,
            store_path=str(store),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
        )
        self.messages: list[Message] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        """The person's user ID."""
        return self.account.user_id

    async def __aenter__(self) -> Self:
        self.client.restore_login(
            self.account.user_id, self.account.device_id, self.account.access_token
        )
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        self.client.add_event_callback(
            self._on_message,
            (RoomMessageText, RoomMessageNotice, RoomMessageMedia, RoomEncryptedMedia, MegolmEvent),
        )
        await self.client.sync(timeout=0, full_state=True)
        self._task = asyncio.create_task(self.client.sync_forever(timeout=1000))
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()

    async def _on_message(self, room: Any, event: Any) -> None:
        self.messages.append(Message(room.room_id, event))
        async with self._changed:
            self._changed.notify_all()

    async def create_encrypted_room(self, invite: list[str]) -> str:
        """A new encrypted room with ``invite`` invited."""
        resp = await self.client.room_create(invite=invite, initial_state=[ENCRYPTION])
        assert isinstance(resp, RoomCreateResponse), resp
        await self.until(lambda: resp.room_id in self.client.rooms)
        return str(resp.room_id)

    async def create_room(self, invite: list[str]) -> str:
        """A new unencrypted room with ``invite`` invited."""
        resp = await self.client.room_create(invite=invite)
        assert isinstance(resp, RoomCreateResponse), resp
        await self.until(lambda: resp.room_id in self.client.rooms)
        return str(resp.room_id)

    async def wait_joined(self, room_id: str, user_id: str) -> None:
        """Wait until ``user_id`` has joined ``room_id`` as nio sees it (not only invited)."""

        def joined() -> bool:
            room = self.client.rooms.get(room_id)
            return room is not None and user_id in room.users and user_id not in room.invited_users

        await self.until(joined)

    async def send(self, room_id: str, body: str) -> str:
        """Send a text message (encrypted in an encrypted room); returns its event ID."""
        resp = await self.client.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": body},
            ignore_unverified_devices=True,
        )
        assert isinstance(resp, RoomSendResponse), resp
        return str(resp.event_id)

    async def send_image(self, room_id: str, data: bytes, filename: str) -> str:
        """Upload ``data`` encrypted (as Element does in an encrypted room) and send it."""
        resp, keys = await self.client.upload(
            io.BytesIO(data),
            content_type="image/png",
            filename=filename,
            encrypt=True,
            filesize=len(data),
        )
        assert isinstance(resp, UploadResponse), resp
        assert keys is not None
        content = {
            "msgtype": "m.image",
            "body": filename,
            "file": {**keys, "url": resp.content_uri},
            "info": {"mimetype": "image/png", "size": len(data)},
        }
        sent = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(sent, RoomSendResponse), sent
        return str(sent.event_id)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        """Annotate ``event_id`` with ``key`` (encrypted in an encrypted room)."""
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        sent = await self.client.room_send(
            room_id, "m.reaction", content, ignore_unverified_devices=True
        )
        assert isinstance(sent, RoomSendResponse), sent
        return str(sent.event_id)

    async def download(self, message: Message) -> bytes:
        """The bytes of ``message``'s attachment, decrypted if it is encrypted."""
        assert message.url is not None
        resp = await self.client.download(mxc=message.url)
        assert isinstance(resp, DownloadResponse), resp
        if message.file is None:
            return bytes(resp.body)
        file = message.file
        return bytes(
            decrypt_attachment(resp.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"])
        )

    def bodies_from(self, room_id: str, sender: str) -> list[str]:
        """What ``sender`` said in ``room_id``, in order, decrypted where it was encrypted."""
        return [m.body for m in self.messages if m.room_id == room_id and m.sender == sender]

    async def answer(self, room_id: str, sender: str, body: str, timeout: float = 60) -> Message:  # noqa: ASYNC109 - a deadline
        """The first message from ``sender`` in ``room_id`` whose body is ``body``."""

        def found() -> Message | None:
            for m in self.messages:
                if m.room_id == room_id and m.sender == sender and m.body == body:
                    return m
            return None

        await self.until(lambda: found() is not None, timeout)
        message = found()
        assert message is not None
        return message

    async def first(
        self,
        matches: Callable[[Message], bool],
        timeout: float = 60,  # noqa: ASYNC109 - a deadline
    ) -> Message:
        """The first message the person saw that ``matches``."""
        await self.until(lambda: any(matches(m) for m in self.messages), timeout)
        return next(m for m in self.messages if matches(m))

    async def until(self, condition: Callable[[], bool], timeout: float = 60) -> None:  # noqa: ASYNC109 - a deadline
        """Wait until ``condition()`` holds, checking after each message and each second."""
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the person waited in vain")
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(left, 1.0))

    async def devices_of(self, user_id: str) -> list[Any]:
        """``user_id``'s devices as nio knows them (after its key query)."""
        store = self.client.device_store
        await self.until(lambda: bool(list(store.active_user_devices(user_id))))
        return list(store.active_user_devices(user_id))

    async def send_withholding_key(
        self, room_id: str, body: str, user_id: str
    ) -> tuple[str, dict[str, Any]]:
        """Send ``body`` in a new Megolm session that ``user_id``'s devices get no key of.

        Returns the event ID and the session's key (from its first message on), for
        :meth:`send_key`.
        Later messages use another new session, shared as usual.
        """
        olm = self.client.olm
        devices = await self.devices_of(user_id)
        for device in devices:
            self.client.blacklist_device(device)
        olm.outbound_group_sessions.pop(room_id, None)
        olm.create_outbound_group_session(room_id)
        session = olm.outbound_group_sessions[room_id]
        key = {
            "algorithm": "m.megolm.v1.aes-sha2",
            "room_id": room_id,
            "session_id": session.id,
            "session_key": session.session_key,
        }
        event_id = await self.send(room_id, body)
        for device in devices:
            self.client.unblacklist_device(device)
        olm.outbound_group_sessions.pop(room_id, None)
        return event_id, key

    async def send_key(self, user_id: str, key: dict[str, Any]) -> None:
        """Send a room key (``m.room_key``) to each of ``user_id``'s devices, Olm-encrypted."""
        olm = self.client.olm
        for device in await self.devices_of(user_id):
            if not olm.session_store.get(device.curve25519):
                await self.client.keys_claim({user_id: [device.id]})
            session = olm.session_store.get(device.curve25519)
            payload = olm._olm_encrypt(session, device, "m.room_key", key)
            message = ToDeviceMessage("m.room.encrypted", user_id, device.id, payload)
            resp = await self.client.to_device(message)
            assert isinstance(resp, ToDeviceResponse), resp
