"""What the fake homeserver knows: users, sessions, rooms and one stream of events.

Every event gets the next position in a single server-wide stream; each room keeps its
events in stream order, so "what is new since position *p*" is a binary search and a
slice, never a scan. Sync tokens and pagination tokens are these positions.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mautrix.types import ContentURI, DeviceID, EventID, RoomAlias, RoomID, UserID

from botkit.testing.fakehs.errors import HomeserverRefusal, bad_request
from botkit.testing.fakehs.notify import Broadcast

__all__ = [
    "Hooks",
    "JSONObject",
    "Media",
    "Room",
    "SentEvent",
    "Session",
    "Store",
    "StoredEvent",
    "TxnKey",
    "User",
]

JSONObject = dict[str, Any]
TxnKey = tuple[str, str]
"""(access token, transaction id): the scope of a client's transaction ids."""


@dataclass(slots=True)
class StoredEvent:
    """One event of a room's timeline, at its place in the server-wide stream."""

    pos: int
    json: Any
    """Exactly what clients are served; a JSON object unless it was injected raw."""
    txn: TxnKey | None = None
    """The client request that created it, so its sender sees its transaction id."""


@dataclass(frozen=True, slots=True)
class SentEvent:
    """An event a client created through the client-server API, as the test sees it."""

    room_id: RoomID
    event_id: EventID
    type: str
    sender: UserID
    content: JSONObject
    txn_id: str | None
    """The client's transaction id, or None for calls without one (state, membership)."""
    state_key: str | None = None


class Hooks:
    """Callbacks through which a bench or a test watches and steers the server.

    The methods do nothing here; subclass and override, then install the object
    with :attr:`~botkit.testing.fakehs.FakeHomeserver.hooks`. They run on the
    server's event loop, inside the request, and must not block.
    """

    def sync_requested(self, user_id: UserID, since: int | None) -> None:
        """A ``/sync`` from ``since`` (None: initial) arrived; events injected now are in it."""

    def sync_answered(self, user_id: UserID, until: int) -> None:
        """A ``/sync`` answer covering the stream up to position ``until`` is going out."""

    def event_sent(self, sent: SentEvent) -> None:
        """A client created an event (the request has not been answered yet)."""


@dataclass(slots=True)
class Session:
    """A logged-in device: what an access token stands for."""

    token: str
    user_id: UserID
    device_id: DeviceID


@dataclass(slots=True)
class User:
    """A local account, or a remote user the test made up."""

    user_id: UserID
    password: str | None = None
    displayname: str | None = None
    avatar_url: str | None = None
    rooms: set[RoomID] = field(default_factory=set)
    """Every room in which the user has a membership, joined or not."""
    filters: list[JSONObject] = field(default_factory=list)
    """Uploaded sync filters; a filter's id is its index."""


@dataclass(slots=True)
class Media:
    """One uploaded file."""

    data: bytes
    content_type: str
    filename: str | None


@dataclass(slots=True)
class Room:
    """A room: its timeline, its state as it evolved, and who is in it."""

    room_id: RoomID
    timeline: list[StoredEvent] = field(default_factory=list)
    state_log: list[StoredEvent] = field(default_factory=list)
    """The state events of :attr:`timeline` alone, for "state between p and q"."""
    state: dict[tuple[str, str], StoredEvent] = field(default_factory=dict)
    membership: dict[UserID, tuple[str, int]] = field(default_factory=dict)
    """Each user's membership and the stream position where it last changed."""

    @property
    def last_pos(self) -> int:
        """The stream position of the room's newest event (0 if none)."""
        return self.timeline[-1].pos if self.timeline else 0

    def membership_of(self, user_id: UserID) -> str | None:
        """``join``, ``invite``, ``leave``, ``ban`` or None if never a member."""
        entry = self.membership.get(user_id)
        return entry[0] if entry else None

    def state_content(self, event_type: str, state_key: str = "") -> JSONObject | None:
        """The content of one current state event, or None."""
        stored = self.state.get((event_type, state_key))
        if stored is None:
            return None
        content = stored.json.get("content")
        return content if isinstance(content, dict) else None

    def joined(self) -> list[UserID]:
        """The users joined now."""
        return [user for user, (m, _) in self.membership.items() if m == "join"]


class Store:
    """Everything the fake homeserver holds, shared by the HTTP side and the test API."""

    def __init__(self, server_name: str, default_timeline_limit: int) -> None:
        self.server_name = server_name
        self.default_timeline_limit = default_timeline_limit
        # A per-server tag keeps ids from two servers in one test run distinct.
        self.tag = secrets.token_hex(3)
        self.position = 0
        self.users: dict[UserID, User] = {}
        self.sessions: dict[str, Session] = {}
        self.login_tokens: dict[str, UserID] = {}
        self.rooms: dict[RoomID, Room] = {}
        self.aliases: dict[RoomAlias, RoomID] = {}
        self.events: dict[EventID, tuple[Room, StoredEvent]] = {}
        self.txns: dict[TxnKey, EventID] = {}
        self.media: dict[str, Media] = {}
        self.sent: list[SentEvent] = []
        self.send_attempts: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.syncs_served = 0
        self.synced_to: dict[UserID, int] = {}
        """Per user, the stream position of the newest sync answer it was given."""
        self.closing = False
        self.events_per_sync: int | None = None
        """At most this many stream positions per incremental sync answer (None: all)."""
        self.echo_sends = True
        """False: events clients send are recorded but kept out of every timeline."""
        self.hooks = Hooks()
        self.stream = Broadcast()
        """Notified when events arrive (and on outages), for long-polling syncs."""
        self.observed = Broadcast()
        """Notified when a client sends or a sync is answered, for the test's waits."""
        self._counter = 0

    # ids

    def user_id(self, name: str) -> UserID:
        """A full user ID from ``@local:server`` or a bare localpart on this server."""
        if name.startswith("@"):
            if ":" not in name[1:] or name.endswith(":"):
                raise bad_request("M_INVALID_USERNAME", f"not a user ID: {name!r}")
            return UserID(name)
        if not name or ":" in name:
            raise bad_request("M_INVALID_USERNAME", f"not a localpart: {name!r}")
        return UserID(f"@{name}:{self.server_name}")

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def new_room_id(self) -> RoomID:
        """A fresh room ID on this server."""
        return RoomID(f"!{secrets.token_urlsafe(12)}:{self.server_name}")

    def new_device_id(self) -> DeviceID:
        """A fresh device ID."""
        return DeviceID(f"FAKE{self._next()}{self.tag.upper()}")

    def new_media_uri(self, media: Media) -> ContentURI:
        """Store ``media`` under a fresh ``mxc://`` URI."""
        media_id = f"{secrets.token_urlsafe(9)}{self._next()}"
        self.media[media_id] = media
        return ContentURI(f"mxc://{self.server_name}/{media_id}")

    # users and sessions

    def ensure_user(self, user_id: str) -> User:
        """The user with this ID, registered on first mention."""
        full_id = self.user_id(user_id)
        user = self.users.get(full_id)
        if user is None:
            user = self.users[full_id] = User(full_id)
        return user

    def create_session(self, user_id: UserID, device_id: str | None = None) -> Session:
        """Log ``user_id`` in on a device (a fresh one unless given)."""
        user = self.ensure_user(user_id)
        token = f"fakehs_{self.tag}_{secrets.token_urlsafe(12)}"
        device = DeviceID(device_id) if device_id else self.new_device_id()
        session = self.sessions[token] = Session(token, user.user_id, device)
        return session

    def session(self, token: str | None) -> Session:
        """The session an access token stands for; 401 if missing or unknown."""
        if not token:
            raise HomeserverRefusal(401, "M_MISSING_TOKEN", "Missing access token.")
        session = self.sessions.get(token)
        if session is None:
            raise HomeserverRefusal(
                401, "M_UNKNOWN_TOKEN", "Unrecognised access token.", soft_logout=False
            )
        return session

    # rooms and events

    def room(self, room_id: str) -> Room:
        """The room with this ID; 404 if there is none."""
        room = self.rooms.get(RoomID(room_id))
        if room is None:
            raise HomeserverRefusal(404, "M_NOT_FOUND", f"Unknown room {room_id}")
        return room

    def new_event(
        self,
        room: Room,
        sender: UserID,
        event_type: str,
        content: JSONObject,
        *,
        state_key: str | None = None,
        origin_server_ts: int | None = None,
        txn: TxnKey | None = None,
        redacts: EventID | None = None,
    ) -> StoredEvent:
        """Build a well-formed event, append it and apply it to the room's state.

        A client's send (one with ``txn``) is not appended when :attr:`echo_sends` is
        off; its position is then 0 and it gets an ID of its own kind.
        """
        echo = txn is None or self.echo_sends
        event: JSONObject = {
            "type": event_type,
            "sender": sender,
            "content": content,
            "event_id": f"$ev{self.position + 1}_{self.tag}" if echo else self._sent_id(),
            "origin_server_ts": (
                int(time.time() * 1000) if origin_server_ts is None else origin_server_ts
            ),
        }
        if state_key is not None:
            event["state_key"] = state_key
        if redacts is not None:
            event["redacts"] = redacts
        if not echo:
            return StoredEvent(0, event, txn)
        return self.append(room, event, txn=txn, interpret=True)

    def _sent_id(self) -> str:
        return f"$sent{self._next()}_{self.tag}"

    def append(
        self, room: Room, event: Any, *, txn: TxnKey | None = None, interpret: bool = False
    ) -> StoredEvent:
        """Put ``event`` at the end of the stream, in ``room``, and wake the syncs.

        With ``interpret``, a state event also updates the room's state and membership;
        raw events stay out of both, whatever they claim to be.
        """
        self.position += 1
        stored = StoredEvent(self.position, event, txn)
        room.timeline.append(stored)
        if isinstance(event, dict):
            event_id = event.get("event_id")
            if isinstance(event_id, str):
                self.events.setdefault(EventID(event_id), (room, stored))
            if interpret and isinstance(event.get("state_key"), str):
                self._apply_state(room, stored, event)
        self.stream.notify()
        return stored

    def _apply_state(self, room: Room, stored: StoredEvent, event: JSONObject) -> None:
        key = (event["type"], event["state_key"])
        room.state[key] = stored
        room.state_log.append(stored)
        if key[0] == "m.room.member":
            user_id = UserID(key[1])
            membership = event["content"]["membership"]
            previous = room.membership.get(user_id)
            # A profile change re-sends "join"; the user did not join again, so the room
            # must not look new to their next sync.
            if previous is None or previous[0] != membership:
                room.membership[user_id] = (membership, stored.pos)
            self.ensure_user(user_id).rooms.add(room.room_id)

    def record_sent(self, room: Room, stored: StoredEvent, txn_id: str | None) -> SentEvent:
        """Remember an event a client created, and wake whoever waits for one."""
        event = stored.json
        sent = SentEvent(
            room_id=room.room_id,
            event_id=EventID(event["event_id"]),
            type=event["type"],
            sender=UserID(event["sender"]),
            content=event["content"],
            txn_id=txn_id,
            state_key=event.get("state_key"),
        )
        self.sent.append(sent)
        self.hooks.event_sent(sent)
        self.observed.notify()
        return sent
