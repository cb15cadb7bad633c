"""What the sync loop and the send path ask of encryption.

Receiving: :meth:`Encryption.receive_keys` takes a /sync answer's key material
before its timeline is read, :meth:`Encryption.decrypt` turns the timeline's
encrypted events into clear ones. An event whose room key is missing is held
(see :mod:`botkit.crypto.held`) instead of being handed on: the room's other
events go on, the key may come later in a /sync answer, and a background task
asks the sender's devices for it after ``key_wait`` seconds and gives up after
``key_request_wait`` more (counted as ``undecryptable``, logged once).

Sending: :meth:`Encryption.encrypt` turns an event for an encrypted room into
``m.room.encrypted``, sharing the room's Megolm session first when needed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mautrix.client import ClientAPI
from mautrix.types import ContentURI, RoomID
from sqlalchemy.ext.asyncio import AsyncEngine

from ..config import EncryptionConfig
from ..metrics import Metrics
from .held import HeldEvent, HeldEvents
from .media import MediaKeys
from .olm import OlmBackend, Undecryptable

__all__ = ["Encryption"]

log = logging.getLogger("botkit.crypto")
_ENCRYPTED = "m.room.encrypted"
_TICK = 1.0
_TRUST_CHECK = 300.0


class Encryption:
    """The bot's end-to-end encryption: decrypt, hold, release, give up, encrypt."""

    def __init__(
        self,
        backend: OlmBackend,
        held: HeldEvents,
        settings: EncryptionConfig,
        metrics: Metrics,
        media: MediaKeys,
    ) -> None:
        self.backend = backend
        self.media = media
        self.held_events = held
        self.settings = settings
        self.metrics = metrics
        self._held: dict[str, HeldEvent] = {}
        self._again: set[str] = set()
        self.undecryptable = 0
        self.cross_signed: bool | None = None
        #: Told of each event given up on, with why (the bot tells the plugins).
        self.on_undecryptable: Callable[[dict[str, Any], str], Awaitable[None]] | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        api: ClientAPI,
        engine: AsyncEngine,
        database_url: str,
        settings: EncryptionConfig,
        metrics: Metrics,
    ) -> Encryption:
        """Load the device's keys and the events still held from an earlier run."""
        held = HeldEvents(engine)
        await held.setup()
        media = MediaKeys(engine)
        await media.setup()
        backend = await OlmBackend.open(api, database_url, settings.share_keys_with)
        self = cls(backend, held, settings, metrics, media)
        self._held = {h.event_id: h for h in await held.load()}
        # Released by an earlier run that may have stopped before their handling was
        # recorded: released again, and the record of handled events drops repeats.
        self._again = {h.event_id for h in self._held.values() if h.released_at is not None}
        waiting = len(self._held) - len(self._again)
        if waiting:
            log.info("%d encrypted events still wait for their keys", waiting)
        self._task = asyncio.create_task(self._run(), name="botkit-crypto")
        return self

    async def close(self) -> None:
        """Stop the background task and close the crypto store."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.backend.close()

    def health(self) -> dict[str, Any]:
        """The ``encryption`` part of ``/_botkit/health``."""
        return {
            "device_id": self.backend.api.device_id,
            "cross_signed": self.cross_signed,
            "waiting_for_keys": sum(1 for h in self._held.values() if h.released_at is None),
            "undecryptable": self.undecryptable,
        }

    # -- receiving ---------------------------------------------------------

    async def receive_keys(self, data: dict[str, Any]) -> None:
        """Room keys, device lists and room state of a /sync answer (before its timeline)."""
        await self.backend.receive(data)

    async def decrypt(
        self, events: list[dict[str, Any]], history: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
        """``events`` and ``history`` decrypted, without what is held; events whose
        key came meanwhile go first among the events. The flag says whether there
        are such released events (which a crash may have handled already)."""
        released = await self._release()
        return [*released, *await self._clear(events)], await self._clear(history), bool(released)

    async def _clear(self, raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for raw in raws:
            if raw.get("type") != _ENCRYPTED:
                out.append(raw)
                continue
            event_id = raw.get("event_id")
            if not isinstance(event_id, str) or event_id in self._held:
                continue  # a malformed event, or one held already (sent again after a crash)
            try:
                clear = await self.backend.decrypt(raw)
            except Undecryptable as e:
                await self._give_up(raw, str(e))
                continue
            if clear is not None:
                await self._note_media(clear)
            if clear is None:
                log.info("no room key yet for %s in %s: holding it", event_id, raw.get("room_id"))
                self._held[event_id] = await self.held_events.hold(raw)
            else:
                out.append(clear)
        return out

    async def _release(self) -> list[dict[str, Any]]:
        released = []
        for held in list(self._held.values()):
            if held.released_at is not None and held.event_id not in self._again:
                continue
            try:
                clear = await self.backend.decrypt(held.raw)
            except Undecryptable as e:
                await self._forget(held, str(e))
                continue
            if clear is not None:
                log.info("the room key of %s came: handling it", held.event_id)
                self._again.discard(held.event_id)
                await self._note_media(clear)
                await self.held_events.mark(held.event_id, released=True)
                held.released_at = int(time.time() * 1000)
                released.append(clear)
        return released

    async def _give_up(self, raw: dict[str, Any], why: str) -> None:
        self.undecryptable += 1
        self.metrics.events_skipped.inc("undecryptable")
        log.warning(
            "cannot decrypt %s in %s from %s: %s",
            raw.get("event_id"),
            raw.get("room_id"),
            raw.get("sender"),
            why,
        )
        if self.on_undecryptable is not None:
            await self.on_undecryptable(raw, why)

    async def _forget(self, held: HeldEvent, why: str) -> None:
        await self.held_events.forget(held.event_id)
        self._held.pop(held.event_id, None)
        await self._give_up(held.raw, why)

    async def _run(self) -> None:
        """Key requests, giving up, pruning, and the cross-signing state, in the background."""
        checked: float | None = None
        while True:
            try:
                if checked is None or time.monotonic() - checked > _TRUST_CHECK:
                    self.cross_signed = await self.backend.cross_signed()
                    checked = time.monotonic()
                await self._tick()
            except Exception as e:
                log.warning("encryption housekeeping failed: %s", e)
            await asyncio.sleep(_TICK)

    async def _tick(self) -> None:
        now = time.time()
        first, second = self.settings.key_wait, self.settings.key_request_wait
        for held in list(self._held.values()):
            if held.released_at is not None:
                if held.released_at / 1000 < now - 3600:
                    self._held.pop(held.event_id, None)
                continue
            age = now - held.held_at / 1000
            if age > first + second:
                await self._forget(held, f"no room key after {first + second:g} s")
            elif age > first and not held.requested:
                log.info("asking for the room key of %s", held.event_id)
                try:
                    await self.backend.request_key(held.raw)
                except Exception as e:  # asked once: the event still waits for its key
                    log.warning("could not ask for the room key of %s: %s", held.event_id, e)
                held.requested = True
                await self.held_events.mark(held.event_id, requested=True)
        await self.held_events.prune()

    # -- attachments -------------------------------------------------------

    async def _note_media(self, clear: dict[str, Any]) -> None:
        """Keep the key of an encrypted attachment; give the content its ``url`` too.

        Plugins read a media message's ``url`` (mautrix's ``content.url``): with it
        set to the file's URI, they need nothing new for encrypted rooms, and
        :meth:`download` decrypts what that URI holds.
        """
        content = clear.get("content")
        file = content.get("file") if isinstance(content, dict) else None
        if (
            isinstance(content, dict)
            and isinstance(file, dict)
            and isinstance(file.get("url"), str)
        ):
            await self.media.remember(file)
            content.setdefault("url", file["url"])

    async def download(self, url: str, data: bytes) -> bytes:
        """``data`` downloaded from ``url``, decrypted if ``url`` is an encrypted attachment."""
        file = await self.media.get(url)
        if file is None:
            return data
        return self.backend.decrypt_attachment(data, file)

    async def upload(
        self, api: ClientAPI, room_id: RoomID, data: bytes, mime_type: str, filename: str
    ) -> ContentURI | None:
        """Upload ``data`` encrypted if ``room_id`` is encrypted (else None: upload it plainly)."""
        if not await self.backend.is_encrypted(room_id):
            return None
        ciphertext, file = self.backend.encrypt_attachment(data)
        url = await api.upload_media(
            ciphertext, mime_type="application/octet-stream", filename=filename
        )
        await self.media.remember({**file, "url": url})
        return url

    async def _with_files(self, content: dict[str, Any]) -> dict[str, Any]:
        """``content`` for an encrypted room: an encrypted attachment's ``url`` becomes ``file``."""
        url = content.get("url")
        file = await self.media.get(url) if isinstance(url, str) else None
        if file is None:
            return content
        return {k: v for k, v in content.items() if k != "url"} | {"file": file}

    # -- sending -----------------------------------------------------------

    async def encrypt(
        self, room_id: RoomID, event_type: str, content: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """``(type, content)`` to send to ``room_id``: encrypted if the room is."""
        if not await self.backend.is_encrypted(room_id):
            return event_type, content
        found = await self.backend.encrypt(room_id, event_type, await self._with_files(content))
        return found if found is not None else (event_type, content)
