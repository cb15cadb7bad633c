"""A real Matrix client for tests: acts as a user and waits for what others send.

::

    async with TestClient(alice) as client:
        room = await client.create_room(invite=[bot.user_id])
        await client.send_text(room, "!ping")
        reply = await client.wait_for_message(room, sender=bot.user_id)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Self

import aiohttp
from mautrix.client import Client, SyncStream
from mautrix.errors import MatrixConnectionError, MatrixRequestError
from mautrix.types import (
    ContentURI,
    Event,
    EventID,
    EventType,
    Filter,
    ImageInfo,
    Membership,
    MessageEvent,
    PresenceState,
    RoomAlias,
    RoomCreatePreset,
    RoomEventFilter,
    RoomFilter,
    RoomID,
    StateEvent,
    StateFilter,
    UserID,
)

from .synapse import MatrixAccount

__all__ = ["EventPredicate", "TestClient"]

#: Decides whether an event is the one a test waits for.
EventPredicate = Callable[[Event], bool]

_SYNC_FILTER = Filter(
    room=RoomFilter(
        timeline=RoomEventFilter(limit=100),
        state=StateFilter(lazy_load_members=True),
        ephemeral=RoomEventFilter(not_types=[EventType("*", EventType.Class.EPHEMERAL)]),
    )
)
# A homeserver that is briefly down (tests restart it) is retried at this
# fixed pace rather than with a growing back-off, so waits resume promptly.
_RETRY_DELAY = 0.5
# Timeline and state events of joined, invited and left rooms: each has an event ID
# (None for an invite), unlike typing notices and receipts.
_ROOM_STREAMS = SyncStream.TIMELINE | SyncStream.STATE


class TestClient:
    """One user's device, logged in with ``account``'s access token.

    Make it inside a running event loop and close it (``async with``). Its own
    /sync loop starts on the first wait and records every room event it sees
    (timeline and state events, invites) in :attr:`events`.
    """

    # Tell pytest this is not a test class, though its name starts with "Test".
    __test__ = False

    def __init__(self, account: MatrixAccount, *, sync_timeout: float = 5.0) -> None:
        self.account = account
        #: The mautrix client underneath, for any call this class does not wrap.
        self.client = Client(
            mxid=account.user_id,
            device_id=account.device_id,
            base_url=account.homeserver_url,
            token=account.access_token,
        )
        self.sync_timeout = sync_timeout
        self._events: list[Event] = []
        self._waiters: list[tuple[EventPredicate, asyncio.Future[Event]]] = []
        self._synced = asyncio.Event()
        self._sync_task: asyncio.Task[None] | None = None
        self.client.add_event_handler(
            EventType.ALL, self._on_event, wait_sync=True, sync_stream=_ROOM_STREAMS
        )

    @property
    def user_id(self) -> UserID:
        """The user this client acts as."""
        return self.account.user_id

    @property
    def events(self) -> Sequence[Event]:
        """Every room event the sync loop has seen, oldest first."""
        return tuple(self._events)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the sync loop and close the HTTP session."""
        try:
            if self._sync_task is not None:
                self._sync_task.cancel()
                # How the loop ended was already reported to the waits it failed.
                with contextlib.suppress(BaseException):
                    await self._sync_task
        finally:
            await self.client.api.session.close()

    # -- acting -------------------------------------------------------------------

    async def create_room(
        self,
        *,
        invite: Iterable[UserID] = (),
        name: str | None = None,
        preset: RoomCreatePreset = RoomCreatePreset.PRIVATE,
    ) -> RoomID:
        """Create a room and invite users to it (``POST /createRoom``).

        ``RoomCreatePreset.TRUSTED_PRIVATE`` gives the invitees the creator's power.
        """
        return await self.client.create_room(name=name, invitees=list(invite), preset=preset)

    async def invite(self, room_id: RoomID, user_id: UserID) -> None:
        """Invite a user to a room (``POST /rooms/{roomId}/invite``)."""
        await self.client.invite_user(room_id, user_id)

    async def join(self, room: RoomID | RoomAlias, servers: Sequence[str] | None = None) -> RoomID:
        """Join a room by ID or alias (``POST /join/{roomIdOrAlias}``)."""
        return await self.client.join_room(room, servers=list(servers) if servers else None)

    async def accept_invite(
        self,
        room_id: RoomID | None = None,
        timeout: float = 15.0,  # noqa: ASYNC109 -- as in wait_for
    ) -> RoomID:
        """Wait for an invite (to ``room_id``, or to any room) and join that room."""

        def invite(event: Event) -> bool:
            return (
                isinstance(event, StateEvent)
                and event.type == EventType.ROOM_MEMBER
                and event.state_key == self.user_id
                and event.content.membership == Membership.INVITE
                and room_id in (None, event.room_id)
            )

        event = await self.wait_for(invite, timeout)
        assert isinstance(event, StateEvent)
        return await self.join(event.room_id)

    async def leave(self, room_id: RoomID) -> None:
        """Leave a room (``POST /rooms/{roomId}/leave``)."""
        await self.client.leave_room(room_id)

    async def send_text(self, room_id: RoomID, body: str, *, html: str | None = None) -> EventID:
        """Send an ``m.text`` message (``PUT /rooms/{roomId}/send/m.room.message``)."""
        return await self.client.send_text(room_id, body, html=html)

    async def send_notice(self, room_id: RoomID, body: str, *, html: str | None = None) -> EventID:
        """Send an ``m.notice`` message, the kind bots send."""
        return await self.client.send_notice(room_id, body, html=html)

    async def react(self, room_id: RoomID, event_id: EventID, key: str) -> EventID:
        """Annotate an event with a reaction ``key`` (``m.reaction``)."""
        return await self.client.react(room_id, event_id, key)

    async def redact(
        self, room_id: RoomID, event_id: EventID, reason: str | None = None
    ) -> EventID:
        """Redact an event (``PUT /rooms/{roomId}/redact/{eventId}/{txnId}``)."""
        return await self.client.redact(room_id, event_id, reason=reason)

    async def upload(
        self, data: bytes, mime_type: str = "application/octet-stream", filename: str | None = None
    ) -> ContentURI:
        """Upload a file to the media repository (``POST /_matrix/media/v3/upload``)."""
        return await self.client.upload_media(data, mime_type=mime_type, filename=filename)

    async def send_image(
        self,
        room_id: RoomID,
        image: bytes | ContentURI,
        *,
        mime_type: str = "image/png",
        filename: str = "image.png",
        width: int | None = None,
        height: int | None = None,
    ) -> EventID:
        """Send an ``m.image`` message; raw ``bytes`` are uploaded first."""
        info = ImageInfo(mimetype=mime_type)
        if width is not None and height is not None:
            info.width, info.height = width, height
        if isinstance(image, bytes):
            info.size = len(image)
            url = await self.upload(image, mime_type, filename)
        else:
            url = image
        return await self.client.send_image(room_id, url, info=info, file_name=filename)

    # -- waiting ------------------------------------------------------------------

    async def start_sync(self) -> None:
        """Start the sync loop if needed and wait for its first response.

        Events sent after this returns are certain to arrive through the loop
        rather than the initial sync's history.
        """
        self._ensure_syncing()
        await self._synced.wait()

    async def wait_for(
        self,
        predicate: EventPredicate,
        timeout: float = 15.0,  # noqa: ASYNC109 -- a default deadline; tests never hang
    ) -> Event:
        """The first room event, already seen or yet to come, for which ``predicate`` is true.

        Raises ``TimeoutError`` after ``timeout`` seconds, listing what was seen.
        Make predicates specific (an event ID, a unique body): events seen
        before this call count too, so a reply that came fast is not missed.
        """
        for event in self._events:
            if predicate(event):
                return event
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            self._ensure_syncing()
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise TimeoutError(
                f"{self.user_id} saw no matching event in {timeout} s; last seen:\n"
                + "\n".join(_describe(event) for event in self._events[-10:])
            ) from None
        finally:
            self._waiters.remove(waiter)

    async def wait_for_message(
        self,
        room_id: RoomID,
        *,
        sender: UserID | None = None,
        contains: str | None = None,
        timeout: float = 15.0,  # noqa: ASYNC109 -- as in wait_for
    ) -> MessageEvent:
        """The first ``m.room.message`` in ``room_id`` matching ``sender`` and ``contains``.

        ``contains`` is a substring of the message body.
        """

        def matches(event: Event) -> bool:
            return (
                isinstance(event, MessageEvent)
                and event.type == EventType.ROOM_MESSAGE
                and event.room_id == room_id
                and (sender is None or event.sender == sender)
                and (contains is None or contains in (event.content.body or ""))
            )

        event = await self.wait_for(matches, timeout)
        assert isinstance(event, MessageEvent)
        return event

    def _ensure_syncing(self) -> None:
        if self._sync_task is None:
            self._sync_task = asyncio.create_task(self._sync_forever())
            self._sync_task.add_done_callback(self._sync_ended)

    async def _sync_forever(self) -> None:
        """``GET /sync`` in a loop, handing each response to mautrix's dispatcher."""
        filter_id = None
        since = None
        while True:
            try:
                if filter_id is None:
                    filter_id = await self.client.create_filter(_SYNC_FILTER)
                data = await self.client.sync(
                    since=since,
                    timeout=int(self.sync_timeout * 1000),
                    filter_id=filter_id,
                    set_presence=PresenceState.OFFLINE,
                )
            except (MatrixConnectionError, aiohttp.ClientError, OSError, TimeoutError):
                await asyncio.sleep(_RETRY_DELAY)
                continue
            except MatrixRequestError as e:
                if e.http_status < 500 and e.http_status != 429:
                    raise
                await asyncio.sleep(_RETRY_DELAY)
                continue
            await asyncio.gather(*self.client.handle_sync(data))
            since = data["next_batch"]
            self._synced.set()

    def _sync_ended(self, task: asyncio.Task[None]) -> None:
        """A sync loop that died fails every wait at once instead of at its deadline."""
        error = None if task.cancelled() else task.exception()
        reason = error or asyncio.CancelledError("the client was closed")
        for _, future in self._waiters:
            if not future.done():
                future.set_exception(
                    RuntimeError(f"sync loop of {self.user_id} stopped: {reason!r}")
                )

    async def _on_event(self, event: Event) -> None:
        self._events.append(event)
        for predicate, future in self._waiters:
            if future.done():
                continue
            try:
                if predicate(event):
                    future.set_result(event)
            except Exception as e:
                # A broken predicate fails its own wait, visibly, not the sync loop.
                future.set_exception(e)


def _describe(event: Event) -> str:
    """One line about an event for timeout messages."""
    body = getattr(event.content, "body", None)
    sender = getattr(event, "sender", "?")
    return f"  {event.type} from {sender} in {getattr(event, 'room_id', '?')}: {body!r}"
