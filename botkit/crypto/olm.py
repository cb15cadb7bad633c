"""The one module that uses ``mautrix.crypto`` and python-olm (libolm).

:class:`OlmBackend` holds the bot's Olm account, its Olm sessions with other
devices and its Megolm room sessions, in the bot's own database (mautrix's
crypto store, on SQLite or PostgreSQL). Swapping libolm for vodozemac means
writing another class with the same methods.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import Any, cast

from mautrix.client import Client, ClientAPI
from mautrix.crypto import OlmMachine
from mautrix.crypto.attachments import decrypt_attachment, encrypt_attachment
from mautrix.crypto.cross_signing_key import CrossSigningSeeds
from mautrix.crypto.store.asyncpg import PgCryptoStateStore, PgCryptoStore
from mautrix.errors import (
    DecryptionError,
    EncryptionError,
    MatrixRequestError,
    MNotFound,
    SessionNotFound,
)
from mautrix.types import (
    JSON,
    DeviceID,
    DeviceLists,
    DeviceOTKCount,
    EncryptedEvent,
    EventType,
    Membership,
    MemberStateEventContent,
    RoomEncryptionStateEventContent,
    RoomID,
    StateEvent,
    ToDeviceEvent,
    TrustState,
    UserID,
)
from mautrix.util.async_db import Database
from sqlalchemy.engine import make_url

from ..errors import BotkitError
from . import MARKER

__all__ = ["OlmBackend", "Undecryptable"]

log = logging.getLogger("botkit.crypto")
# Olm objects are pickled with this key; the database itself is what must be kept safe.
_PICKLE_KEY = "botkit"
_TRUST = {
    TrustState.VERIFIED: "verified",
    TrustState.CROSS_SIGNED_TRUSTED: "cross-signed",
    TrustState.CROSS_SIGNED_TOFU: "cross-signed",
    TrustState.CROSS_SIGNED_UNTRUSTED: "unverified",
    TrustState.UNVERIFIED: "unverified",
    TrustState.UNKNOWN_DEVICE: "unknown-device",
    TrustState.FORWARDED: "forwarded",
    TrustState.BLACKLISTED: "blacklisted",
}


class Undecryptable(Exception):
    """An encrypted event that no key will ever open (a broken or replayed message)."""


def mautrix_url(database_url: str) -> str:
    """botkit's SQLAlchemy URL as mautrix's ``Database`` reads it."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{url.database}"
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class OlmBackend:
    """The bot's device keys and sessions; decrypts and encrypts room events."""

    def __init__(self, api: ClientAPI, db: Database, share_keys_with: str) -> None:
        self.api = api
        self.db = db
        self.state = PgCryptoStateStore(db)
        self.store = PgCryptoStore(api.mxid, _PICKLE_KEY, db)
        # mautrix's client, never syncing: the machine sends through it (key
        # uploads, to-device messages) over botkit's own HTTP session.
        self.client = Client(
            mxid=api.mxid,
            device_id=api.device_id,
            api=api.api,
            state_store=self.state,
            sync_store=self.store,
        )
        self.machine = OlmMachine(self.client, self.store, self.state)
        self.machine.send_keys_min_trust = (
            TrustState.CROSS_SIGNED_TOFU
            if share_keys_with == "cross-signed"
            else TrustState.UNVERIFIED
        )
        self._unencrypted: set[RoomID] = set()
        self._room_locks: dict[RoomID, asyncio.Lock] = {}

    @classmethod
    async def open(cls, api: ClientAPI, database_url: str, share_keys_with: str) -> OlmBackend:
        """Open the crypto store and load (or, for a new device, create) the Olm account.

        Raises :class:`BotkitError` when the store does not belong to the logged-in
        device, or when it is lost while the device already has keys on the server:
        a new identity would make every earlier room key unreadable, so it is the
        operator's choice, never a silent one.
        """
        db = Database.create(mautrix_url(database_url), upgrade_table=PgCryptoStore.upgrade_table)
        await db.start()
        try:
            await PgCryptoStateStore.upgrade_table.upgrade(db)
            backend = cls(api, db, share_keys_with)
            await backend._load()
        except BaseException:
            await db.stop()
            raise
        return backend

    async def _load(self) -> None:
        device = self.api.device_id
        await self.store.open()
        stored_device = await self.store.get_device_id()
        account = await self.store.get_account()
        if account is not None and stored_device and stored_device != device:
            raise BotkitError(
                f"the crypto store in the database belongs to device {stored_device}, but the "
                f"bot is logged in as device {device}: log in as {stored_device} again (its "
                "access token), or delete the crypto_* tables to give the bot a new identity"
            )
        if account is None:
            keys = await self.client.query_keys({self.api.mxid: [device]})
            if device in keys.device_keys.get(self.api.mxid, {}):
                raise BotkitError(
                    f"device {device} has encryption keys on the homeserver but the database "
                    "has no crypto store (a lost or new database): restore the database, or "
                    "run `botkit login` for a new device"
                )
        await self.machine.load()
        await self.store.put_device_id(device)
        await self.machine.share_keys()

    async def close(self) -> None:
        """Close the crypto store's connections."""
        await self.db.stop()

    @property
    def identity_key(self) -> str:
        """The device's Curve25519 key, as others see it."""
        assert self.machine.account is not None
        return str(self.machine.account.identity_key)

    # -- receiving ---------------------------------------------------------

    async def receive(self, data: dict[str, Any]) -> None:
        """Take the key material and room state of one /sync answer (before its timeline)."""
        for raw in _list(_dict(data.get("to_device")).get("events")):
            await self._to_device(raw)
        lists = data.get("device_lists")
        if isinstance(lists, dict):
            try:
                await self.machine.handle_device_lists(DeviceLists.deserialize(cast(JSON, lists)))
            except Exception as e:
                log.warning("could not update device lists: %s", e)
        counts = _dict(data.get("device_one_time_keys_count"))
        signed = counts.get("signed_curve25519", 0)
        await self.machine.handle_otk_count(
            DeviceOTKCount(signed_curve25519=signed if isinstance(signed, int) else 0, curve25519=0)
        )
        joined = _dict(_dict(data.get("rooms")).get("join"))
        for room_id, room in joined.items():
            room = _dict(room)
            state = _list(_dict(room.get("state")).get("events"))
            timeline = _list(_dict(room.get("timeline")).get("events"))
            for raw in [*state, *timeline]:
                await self._state(RoomID(room_id), raw)

    async def _to_device(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            return
        try:
            event = ToDeviceEvent.deserialize(cast(JSON, raw))
            if event.type == EventType.TO_DEVICE_ENCRYPTED:
                await self.machine.handle_to_device_event(event)
            elif event.type == EventType.ROOM_KEY_REQUEST:
                await self.machine.handle_room_key_request(event)
        except Exception as e:
            log.warning("could not use a %s to-device event: %s", raw.get("type"), e)

    async def _state(self, room_id: RoomID, raw: Any) -> None:
        if not isinstance(raw, dict) or not isinstance(raw.get("state_key"), str):
            return
        if raw.get("type") not in ("m.room.encryption", "m.room.member"):
            return
        try:
            event = StateEvent.deserialize(cast(JSON, {**raw, "room_id": room_id}))
            if event.type == EventType.ROOM_MEMBER:
                # A member who leaves must not read what follows: a new session.
                await self.machine.handle_member_event(event)
            else:
                self._unencrypted.discard(room_id)
            await self.state.update_state(event)
        except Exception as e:
            log.warning("could not use %s in %s: %s", raw.get("type"), room_id, e)

    async def decrypt(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        """The clear event of the encrypted ``raw``; None while its room key is missing."""
        try:
            event = EncryptedEvent.deserialize(cast(JSON, raw))
            with warnings.catch_warnings():
                # mautrix reads the deprecated sender_key/device_id that clients still send.
                warnings.simplefilter("ignore", DeprecationWarning)
                clear = await self.machine.decrypt_megolm_event(event)
        except SessionNotFound:
            return None
        except (DecryptionError, ValueError, KeyError, TypeError) as e:
            raise Undecryptable(f"{type(e).__name__}: {e}") from e
        trust = clear.get("mautrix", {}).get("trust_state", TrustState.UNKNOWN_DEVICE)
        device = _dict(raw.get("content")).get("device_id")
        out = {k: v for k, v in raw.items() if k not in ("type", "content")}
        out["type"] = clear.type.t
        out["content"] = clear.content.serialize()
        out[MARKER] = {
            "trust": _TRUST.get(trust, "unverified"),
            "sender_device": device if isinstance(device, str) else None,
        }
        return out

    async def request_key(self, raw: dict[str, Any]) -> None:
        """Ask the sender's devices and the bot's other devices for the key of ``raw``."""
        content = _dict(raw.get("content"))
        sender = UserID(str(raw.get("sender")))
        await self.machine.request_room_key(
            RoomID(str(raw.get("room_id"))),
            content.get("sender_key", ""),
            content.get("session_id", ""),
            {sender: [DeviceID("*")], self.api.mxid: [DeviceID("*")]},
            timeout=0,
        )

    # -- sending -----------------------------------------------------------

    async def encrypt(
        self, room_id: RoomID, event_type: str, content: dict[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        """``(type, content)`` encrypted for ``room_id``, or None if the room is not encrypted."""
        if not await self._encrypted(room_id):
            return None
        lock = self._room_locks.setdefault(room_id, asyncio.Lock())
        kind = EventType.find(event_type, EventType.Class.MESSAGE)
        async with lock:  # one session share per room at a time
            try:
                encrypted = await self.machine.encrypt_megolm_event(room_id, kind, content)
            except EncryptionError:
                await self.machine.share_group_session(room_id, await self._members(room_id))
                encrypted = await self.machine.encrypt_megolm_event(room_id, kind, content)
        return EventType.ROOM_ENCRYPTED.t, encrypted.serialize()

    async def is_encrypted(self, room_id: RoomID) -> bool:
        """Whether ``room_id`` is encrypted (asked of the homeserver once if not known)."""
        return await self._encrypted(room_id)

    async def _encrypted(self, room_id: RoomID) -> bool:
        if room_id in self._unencrypted:
            return False
        known = await self.state.is_encrypted(room_id)
        if known is not None and await self.state.has_encryption_info_cached(room_id):
            return known
        try:
            found = await self.api.get_state_event(room_id, EventType.ROOM_ENCRYPTION)
        except MNotFound:
            self._unencrypted.add(room_id)
            return False
        assert isinstance(found, RoomEncryptionStateEventContent)
        await self.state.set_encryption_info(room_id, found)
        return True

    async def _members(self, room_id: RoomID) -> list[UserID]:
        """Who gets the room key: joined and invited members (the server's list)."""
        members = await self.api.get_members(room_id, not_membership=Membership.LEAVE)
        wanted = (Membership.JOIN, Membership.INVITE)
        return [
            UserID(m.state_key)
            for m in members
            if isinstance(m.content, MemberStateEventContent) and m.content.membership in wanted
        ]

    # -- attachments -------------------------------------------------------

    @staticmethod
    def decrypt_attachment(data: bytes, file: dict[str, Any]) -> bytes:
        """The clear bytes of an encrypted attachment; ``Undecryptable`` if it was altered."""
        try:
            return decrypt_attachment(data, file["key"]["k"], file["hashes"]["sha256"], file["iv"])
        except (EncryptionError, KeyError, TypeError, ValueError) as e:
            raise Undecryptable(f"the attachment cannot be decrypted: {e}") from e

    @staticmethod
    def encrypt_attachment(data: bytes) -> tuple[bytes, dict[str, Any]]:
        """Ciphertext and its EncryptedFile (without ``url``: set it after the upload)."""
        ciphertext, file = encrypt_attachment(data)
        info = file.serialize()
        info.pop("url", None)
        return ciphertext, info

    # -- cross-signing -----------------------------------------------------

    async def bootstrap_cross_signing(self, password: str | None) -> str:
        """New cross-signing keys for the account, kept in secret storage; returns the recovery key.

        The master, self-signing and user-signing keys are uploaded (with password
        auth when the homeserver asks for it), their private halves stored
        encrypted in the account's secret storage under a new default key, and
        this device signed with the self-signing key.
        """
        machine = self.machine
        seeds = CrossSigningSeeds.generate()
        key = await machine.ssss.generate_and_upload_key()
        await machine._upload_cross_signing_keys_to_ssss(key, seeds)
        keys = seeds.to_keys()
        try:
            await machine._publish_cross_signing_keys(keys)
        except MatrixRequestError as e:
            if e.http_status != 401:
                raise
            if not password:
                raise BotkitError(
                    "the homeserver wants the bot's password to upload cross-signing keys: "
                    "set homeserver.password or type it when asked"
                ) from e
            auth = {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": self.api.mxid},
                "password": password,
            }
            await machine._publish_cross_signing_keys(keys, auth=cast(dict[str, JSON], auth))
        await machine.ssss.set_default_key_id(key.id)
        machine._import_cross_signing_keys(seeds)
        await machine.sign_own_device(machine.own_identity)
        return str(key.recovery_key)

    async def sign_with_recovery_key(self, recovery_key: str) -> None:
        """Sign this device with the self-signing key kept in secret storage."""
        try:
            await self.machine.verify_with_recovery_key(recovery_key)
        except (ValueError, KeyError) as e:
            raise BotkitError(f"the recovery key does not open the secret storage: {e}") from e

    async def cross_signed(self) -> bool:
        """Whether the homeserver shows this device signed by the account's self-signing key."""
        me = self.api.mxid
        keys = await self.client.query_keys({me: [self.api.device_id]})
        self_signing = keys.self_signing_keys.get(me)
        device = keys.device_keys.get(me, {}).get(self.api.device_id)
        if self_signing is None or device is None:
            return False
        signed_by = device.signatures.get(me, {})
        return any(key_id in signed_by for key_id in self_signing.keys)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
