"""The fake homeserver: an aiohttp server on loopback and the API a test drives it by."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from mautrix.types import ContentURI, EventID, RoomAlias, RoomID, UserID

from botkit.testing.fakehs import rooms
from botkit.testing.fakehs.app import make_app
from botkit.testing.fakehs.errors import bad_request, not_found
from botkit.testing.fakehs.faults import Fault, Faults, Garbage
from botkit.testing.fakehs.notify import wait_until
from botkit.testing.fakehs.state import Hooks, JSONObject, Media, Room, SentEvent, Store

__all__ = ["FakeHomeserver"]


class FakeHomeserver:
    """A fake Matrix homeserver for fast tests and benchmarks.

    It serves the part of the client-server API a mautrix-python bot uses to log in,
    sync, join, send and read history, on a free loopback port::

        async with FakeHomeserver() as hs:
            token = hs.create_token("bot")
            room = hs.create_room("alice", members=["bot"])
            ...  # start a bot against hs.url with token
            hs.inject(room, "alice", {"msgtype": "m.text", "body": "!ping"})
            reply = await hs.wait_for_sent(lambda e: e.type == "m.room.message")

    The methods below act as other users and as the operator; they run on the test's
    event loop, and whatever they change reaches waiting syncs at once. Users may be
    given as full IDs or as localparts on :attr:`server_name`; users mentioned for the
    first time are registered on the spot. Refusals a real server would make (a sender
    not in the room, an unknown room) raise
    :class:`~botkit.testing.fakehs.HomeserverRefusal`.

    ``default_timeline_limit`` caps a sync's timeline per room when the client's filter
    sets no ``room.timeline.limit`` (Synapse's default is 10 too).

    For benchmarks: ``events_per_sync`` makes each incremental sync answer cover at
    most that many stream positions (the rest comes in the next answers), and
    ``echo_sends=False`` keeps the events clients send out of every timeline, so a bot
    is not served its own answers back; both leave :attr:`sent` as it is.
    """

    def __init__(
        self,
        server_name: str = "fakehs.test",
        *,
        default_timeline_limit: int = 10,
        events_per_sync: int | None = None,
        echo_sends: bool = True,
    ) -> None:
        self._store = Store(server_name, default_timeline_limit)
        self._store.events_per_sync = events_per_sync
        self._store.echo_sends = echo_sends
        self._faults = Faults()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # lifecycle

    async def start(self, port: int = 0) -> str:
        """Listen on 127.0.0.1 (on a free port unless given); return the base URL."""
        if self._runner is not None:
            raise RuntimeError("the fake homeserver is already running")
        self._store.closing = False
        runner = web.AppRunner(
            make_app(self._store, self._faults), access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        port = runner.addresses[0][1]
        self._runner, self._url = runner, f"http://127.0.0.1:{port}"
        return self._url

    async def close(self) -> None:
        """Answer pending syncs and stop listening. The state stays for inspection."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._store.closing = True
        self._store.stream.notify()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """The base URL (``http://127.0.0.1:<port>``) while running."""
        if self._url is None or self._runner is None:
            raise RuntimeError("the fake homeserver is not running; await start() first")
        return self._url

    @property
    def hooks(self) -> Hooks:
        """The callbacks the server calls on syncs and sends (by default, none)."""
        return self._store.hooks

    @hooks.setter
    def hooks(self, hooks: Hooks) -> None:
        self._store.hooks = hooks

    @property
    def position(self) -> int:
        """The stream position of the newest event (what a sync token counts)."""
        return self._store.position

    @property
    def server_name(self) -> str:
        """The domain of this server's user IDs, room IDs and media."""
        return self._store.server_name

    # accounts

    def create_user(
        self, user: str, *, password: str | None = None, displayname: str | None = None
    ) -> UserID:
        """Register a user (or update the given fields); with a password it can log in."""
        account = self._store.ensure_user(user)
        if password is not None:
            account.password = password
        if displayname is not None:
            rooms.update_profile(self._store, account.user_id, "displayname", displayname)
        return account.user_id

    def create_token(self, user: str, *, device_id: str | None = None) -> str:
        """An access token for ``user`` on a new (or the given) device."""
        return self._store.create_session(self._store.user_id(user), device_id).token

    def create_login_token(self, user: str) -> str:
        """A single-use token for an ``m.login.token`` login as ``user``."""
        user_id = self._store.ensure_user(user).user_id
        token = secrets.token_urlsafe(16)
        self._store.login_tokens[token] = user_id
        return token

    # rooms

    def create_room(
        self,
        creator: str,
        *,
        members: Iterable[str] = (),
        invited: Iterable[str] = (),
        name: str | None = None,
        alias: str | None = None,
        public: bool = False,
    ) -> RoomID:
        """A room ``creator`` made (power level 100), with ``members`` joined in order.

        ``alias`` is a full ``#local:server`` alias clients can join by; a ``public``
        room lets anyone join, otherwise only the ``invited``.
        """
        store = self._store
        room = rooms.create_room(
            store,
            store.user_id(creator),
            members=[store.user_id(member) for member in members],
            invited=[store.user_id(user) for user in invited],
            name=name,
            alias=RoomAlias(alias) if alias is not None else None,
            join_rule="public" if public else "invite",
        )
        return room.room_id

    def invite(self, room_id: str, inviter: str, user: str) -> EventID:
        """``inviter`` (joined) invites ``user``: it shows in the user's next sync."""
        store = self._store
        room = store.room(room_id)
        stored = rooms.invite(store, room, store.user_id(inviter), store.user_id(user))
        return EventID(stored.json["event_id"])

    def join(self, room_id: str, user: str) -> EventID:
        """``user`` joins (needs an invite or a public room); the member event's ID."""
        store = self._store
        room = rooms.resolve(store, room_id)
        user_id = store.user_id(user)
        stored = rooms.join(store, room, user_id) or room.state[("m.room.member", user_id)]
        return EventID(stored.json["event_id"])

    def leave(self, room_id: str, user: str) -> EventID:
        """``user`` leaves the room (or rejects an invite)."""
        store = self._store
        stored = rooms.leave(store, store.room(room_id), store.user_id(user))
        return EventID(stored.json["event_id"])

    def inject(
        self,
        room_id: str,
        sender: str,
        content: JSONObject,
        type: str = "m.room.message",
        origin_server_ts: int | None = None,
    ) -> EventID:
        """An event from ``sender`` (joined), as if another client had sent it."""
        room, sender_id = self._room_and_member(room_id, sender)
        stored = self._store.new_event(
            room, sender_id, type, content, origin_server_ts=origin_server_ts
        )
        return EventID(stored.json["event_id"])

    def inject_state(
        self, room_id: str, sender: str, type: str, content: JSONObject, state_key: str = ""
    ) -> EventID:
        """A state event from ``sender`` (joined; power levels are not checked)."""
        room, sender_id = self._room_and_member(room_id, sender)
        if type == "m.room.member":
            raise bad_request("M_BAD_JSON", "use invite(), join() or leave() for membership")
        stored = self._store.new_event(room, sender_id, type, content, state_key=state_key)
        return EventID(stored.json["event_id"])

    def inject_raw(self, room_id: str, event: Any) -> None:
        """Append any JSON value to the room's timeline, served exactly as given.

        For fuzzing: missing fields, wrong types, huge bodies, lone surrogates. It is
        not interpreted, so it never changes the room's state or membership.
        """
        self._store.append(self._store.room(room_id), event)

    def timeline(self, room_id: str) -> list[Any]:
        """Every event of the room, oldest first, as clients are served them."""
        return [stored.json for stored in self._store.room(room_id).timeline]

    def membership(self, room_id: str, user: str) -> str | None:
        """``join``, ``invite``, ``leave``, ``ban``, or None if ``user`` was never in it."""
        return self._store.room(room_id).membership_of(self._store.user_id(user))

    # what clients did

    @property
    def sent(self) -> Sequence[SentEvent]:
        """Every event a client created (messages, state, redactions, membership), in order."""
        return self._store.sent

    @property
    def syncs_served(self) -> int:
        """How many ``/sync`` requests were answered (errors and outages not counted)."""
        return self._store.syncs_served

    @property
    def send_attempts(self) -> Mapping[str, int]:
        """Send and redact requests per transaction id, retries and failures included."""
        return self._store.send_attempts

    @property
    def requests(self) -> Mapping[str, int]:
        """Requests per route, e.g. ``"GET /_matrix/client/{version}/sync"``.

        Requests no route serves (answered ``404 M_UNRECOGNIZED``) count under their
        own path, which shows what else a bot tried to use.
        """
        return self._store.requests

    async def wait_for_sent(
        self,
        predicate: Callable[[SentEvent], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (a test's bound on waiting, as in wait_for)
        since: int = 0,
    ) -> SentEvent:
        """The first of :attr:`sent` from index ``since`` on that matches ``predicate``.

        Returns as soon as a client sends one; raises :class:`TimeoutError` after
        ``timeout`` seconds. Pass ``since=len(hs.sent)`` to ignore earlier sends.
        """
        sent = self._store.sent
        checked = since

        def find() -> SentEvent | None:
            nonlocal checked
            for index in range(checked, len(sent)):
                if predicate is None or predicate(sent[index]):
                    return sent[index]
            checked = max(checked, len(sent))
            return None

        try:
            async with asyncio.timeout(timeout):
                return await wait_until(self._store.observed, find)
        except TimeoutError as e:
            raise TimeoutError(
                f"no matching event among {len(sent) - since} sent within {timeout:g} s"
            ) from e

    async def wait_for_sync(
        self,
        user: str | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (a test's bound on waiting, as in wait_for)
    ) -> None:
        """Wait until a sync answer (to ``user``'s client, or any) covered every event so far."""
        store = self._store
        target = store.position
        user_id = store.user_id(user) if user is not None else None

        def caught_up() -> bool | None:
            if user_id is not None:
                return True if store.synced_to.get(user_id, -1) >= target else None
            return True if any(pos >= target for pos in store.synced_to.values()) else None

        async with asyncio.timeout(timeout):
            await wait_until(store.observed, caught_up)

    async def wait_for_request(
        self,
        route: str,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (a test's bound on waiting, as in wait_for)
    ) -> None:
        """Wait until :attr:`requests` counts ``count`` requests to ``route``.

        The request is then in its handler: a ``/sync`` is long-polling, for instance.
        """
        requests = self._store.requests
        async with asyncio.timeout(timeout):
            await wait_until(self._store.observed, lambda: requests[route] >= count or None)

    # faults

    def rate_limit_next(self, n: int = 1, retry_after_ms: int = 1000) -> None:
        """Answer the next ``n`` sends with ``429 M_LIMIT_EXCEEDED`` and ``retry_after_ms``."""
        self._faults.queue.extend([Fault(429, retry_after_ms=retry_after_ms)] * n)

    def fail_next(self, n: int = 1, status: int = 502, *, after_commit: bool = False) -> None:
        """Answer the next ``n`` sends with ``status``.

        502, 503 and 504 come as a proxy's plain-text page, other statuses as
        ``M_UNKNOWN``. With ``after_commit`` the event is created first and only the
        answer is lost, so a retry with the same transaction id must not duplicate it.
        """
        self._faults.queue.extend([Fault(status, after_commit=after_commit)] * n)

    def garble_next_syncs(
        self, *bodies: bytes | str, content_type: str = "application/json"
    ) -> None:
        """Answer the next ``/sync`` requests with these bodies, one each, status 200.

        For clients that must survive any answer: ``b'{"rooms": []}'``, ``b"[]"``,
        JSON nested ten thousand deep, an HTML page (with ``content_type="text/html"``).
        """
        for body in bodies:
            raw = body.encode() if isinstance(body, str) else body
            self._faults.sync_garbage.append(Garbage(raw, content_type))

    def set_down(self, down: bool, *, close_connections: bool = False) -> None:
        """Take the whole server down (every request gets 502, or a dropped connection)
        or bring it back up. Syncs waiting when it goes down fail too."""
        self._faults.down = down
        self._faults.close_connections = close_connections
        self._store.stream.notify()

    # media

    def add_media(
        self,
        data: bytes,
        content_type: str = "application/octet-stream",
        filename: str | None = None,
    ) -> ContentURI:
        """Store a file as if someone had uploaded it; its ``mxc://`` URI."""
        return self._store.new_media_uri(Media(data, content_type, filename))

    def media(self, uri: str) -> bytes:
        """The bytes of an uploaded file, by ``mxc://`` URI."""
        prefix = f"mxc://{self.server_name}/"
        found = self._store.media.get(uri.removeprefix(prefix)) if uri.startswith(prefix) else None
        if found is None:
            raise not_found(f"no media {uri}")
        return found.data

    def _room_and_member(self, room_id: str, sender: str) -> tuple[Room, UserID]:
        room = self._store.room(room_id)
        sender_id = self._store.user_id(sender)
        rooms.require_joined(room, sender_id)
        return room, sender_id
