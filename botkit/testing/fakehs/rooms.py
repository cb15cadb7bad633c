"""Room rules: creating rooms, membership changes, power levels and redaction.

Shared by the client endpoints and the test API, so a test that invites or joins
through the Python API moves the room through the same states a client would.
The rules are the common subset of the `room version`_ rules a bot runs into.

.. _room version: https://spec.matrix.org/v1.11/rooms/v10/
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mautrix.types import EventID, RoomAlias, RoomID, UserID

from botkit.testing.fakehs.errors import HomeserverRefusal, forbidden, not_found
from botkit.testing.fakehs.state import JSONObject, Room, Store, StoredEvent, TxnKey

__all__ = [
    "create_room",
    "invite",
    "join",
    "leave",
    "redact",
    "require_joined",
    "require_may_send",
    "resolve",
    "update_profile",
]

# The keys each event type keeps in its content when redacted (room versions 10 and 11).
_KEPT_CONTENT: dict[str, tuple[str, ...]] = {
    "m.room.member": ("membership", "join_authorised_via_users_server"),
    "m.room.join_rules": ("join_rule", "allow"),
    "m.room.history_visibility": ("history_visibility",),
    "m.room.redaction": ("redacts",),
    "m.room.power_levels": (
        "ban", "events", "events_default", "invite", "kick", "redact",
        "state_default", "users", "users_default",
    ),
}  # fmt: skip
_KEPT_TOP_LEVEL = ("event_id", "type", "room_id", "sender", "state_key", "origin_server_ts")


def create_room(
    store: Store,
    creator: UserID,
    *,
    members: Iterable[UserID] = (),
    invited: Iterable[UserID] = (),
    name: str | None = None,
    alias: RoomAlias | None = None,
    join_rule: str = "invite",
    room_id: RoomID | None = None,
) -> Room:
    """A room made by ``creator`` with ``members`` joined and ``invited`` invited."""
    room_id = room_id or store.new_room_id()
    if room_id in store.rooms:
        raise HomeserverRefusal(400, "M_ROOM_IN_USE", f"{room_id} already exists")
    if alias is not None and alias in store.aliases:
        raise HomeserverRefusal(400, "M_ROOM_IN_USE", f"{alias} already exists")
    room = store.rooms[room_id] = Room(room_id)
    creator = store.ensure_user(creator).user_id
    store.new_event(
        room, creator, "m.room.create", {"creator": creator, "room_version": "10"}, state_key=""
    )
    _set_membership(store, room, creator, creator, "join")
    power_levels = {"users": {creator: 100}, "users_default": 0, "events_default": 0}
    power_levels |= {"state_default": 50, "invite": 0, "redact": 50, "kick": 50, "ban": 50}
    store.new_event(room, creator, "m.room.power_levels", power_levels, state_key="")
    store.new_event(room, creator, "m.room.join_rules", {"join_rule": join_rule}, state_key="")
    visibility = {"history_visibility": "shared"}
    store.new_event(room, creator, "m.room.history_visibility", visibility, state_key="")
    if name is not None:
        store.new_event(room, creator, "m.room.name", {"name": name}, state_key="")
    if alias is not None:
        store.aliases[alias] = room_id
        store.new_event(room, creator, "m.room.canonical_alias", {"alias": alias}, state_key="")
    for user in invited:
        invite(store, room, creator, user)
    for user in members:
        user = store.ensure_user(user).user_id
        if room.membership_of(user) != "join":
            _set_membership(store, room, user, user, "join")
    return room


def resolve(store: Store, room_id_or_alias: str) -> Room:
    """The room named by an ID or an alias; 404 if neither is known."""
    if room_id_or_alias.startswith("#"):
        room_id = store.aliases.get(RoomAlias(room_id_or_alias))
        if room_id is None:
            raise not_found(f"Room alias {room_id_or_alias} not found.")
        return store.rooms[room_id]
    return store.room(room_id_or_alias)


def require_joined(room: Room, user_id: UserID) -> None:
    """403 unless ``user_id`` is joined to ``room``."""
    if room.membership_of(user_id) != "join":
        raise forbidden(f"User {user_id} not in room {room.room_id}")


def require_may_send(room: Room, user_id: UserID, event_type: str, *, state: bool) -> None:
    """403 unless ``user_id`` is joined and powerful enough to send this event type."""
    require_joined(room, user_id)
    levels = room.state_content("m.room.power_levels") or {}
    events = levels.get("events")
    default = "state_default" if state else "events_default"
    needed = _level(events, event_type, _level(levels, default, 50 if state else 0))
    if _user_level(levels, user_id) < needed:
        raise forbidden(f"You don't have permission to post that to the room. ({needed})")


def join(store: Store, room: Room, user_id: UserID) -> StoredEvent | None:
    """Join ``user_id`` when invited or the room is public; None if already joined."""
    current = room.membership_of(user_id)
    if current == "join":
        return None
    if current == "ban":
        raise forbidden(f"User {user_id} is banned from {room.room_id}")
    rule = (room.state_content("m.room.join_rules") or {}).get("join_rule")
    if current != "invite" and rule != "public":
        raise forbidden(f"You are not invited to this room ({room.room_id}).")
    return _set_membership(store, room, user_id, user_id, "join")


def invite(store: Store, room: Room, inviter: UserID, invitee: UserID) -> StoredEvent:
    """``inviter`` invites ``invitee``; the invite appears in the invitee's next sync."""
    invitee = store.ensure_user(invitee).user_id
    require_joined(room, inviter)
    levels = room.state_content("m.room.power_levels") or {}
    if _user_level(levels, inviter) < _level(levels, "invite", 0):
        raise forbidden("You don't have permission to invite users to this room.")
    current = room.membership_of(invitee)
    if current in ("join", "ban"):
        raise forbidden(f"{invitee} is already in the room or banned from it.")
    return _set_membership(store, room, inviter, invitee, "invite")


def leave(store: Store, room: Room, user_id: UserID) -> StoredEvent:
    """``user_id`` leaves ``room`` (or rejects its invite)."""
    if room.membership_of(user_id) not in ("join", "invite"):
        raise forbidden(f"User {user_id} not in room {room.room_id}")
    return _set_membership(store, room, user_id, user_id, "leave")


def redact(
    store: Store,
    room: Room,
    sender: UserID,
    target: EventID,
    reason: str | None,
    *,
    txn: TxnKey | None = None,
) -> StoredEvent:
    """``sender`` redacts ``target``: later reads of it show the redacted form."""
    require_joined(room, sender)
    found = store.events.get(target)
    target_stored = found[1] if found and found[0] is room else None
    target_sender = target_stored.json.get("sender") if target_stored else None
    if target_sender != sender:
        levels = room.state_content("m.room.power_levels") or {}
        if _user_level(levels, sender) < _level(levels, "redact", 50):
            raise forbidden("You don't have permission to redact events")
    content: JSONObject = {"redacts": target}
    if reason is not None:
        content["reason"] = reason
    redaction = store.new_event(room, sender, "m.room.redaction", content, txn=txn, redacts=target)
    if target_stored is not None:
        target_stored.json = _redacted(target_stored.json, redaction.json)
    return redaction


def update_profile(store: Store, user_id: UserID, field: str, value: str | None) -> None:
    """Set ``displayname`` or ``avatar_url``, and re-send the user's member events."""
    user = store.ensure_user(user_id)
    if field == "displayname":
        user.displayname = value
    else:
        user.avatar_url = value
    for room_id in sorted(user.rooms):
        room = store.rooms[room_id]
        if room.membership_of(user.user_id) == "join":
            _set_membership(store, room, user.user_id, user.user_id, "join")


def _set_membership(
    store: Store,
    room: Room,
    sender: UserID,
    target: UserID,
    membership: str,
) -> StoredEvent:
    user = store.ensure_user(target)
    content: JSONObject = {"membership": membership}
    if membership in ("join", "invite") and user.displayname is not None:
        content["displayname"] = user.displayname
    if membership in ("join", "invite") and user.avatar_url is not None:
        content["avatar_url"] = user.avatar_url
    return store.new_event(room, sender, "m.room.member", content, state_key=user.user_id)


def _redacted(event: JSONObject, redaction: JSONObject) -> JSONObject:
    kept = {key: event[key] for key in _KEPT_TOP_LEVEL if key in event}
    content = event.get("content")
    keep = _KEPT_CONTENT.get(str(event.get("type")), ())
    if event.get("type") == "m.room.create" and isinstance(content, dict):
        kept["content"] = dict(content)
    elif isinstance(content, dict):
        kept["content"] = {key: content[key] for key in keep if key in content}
    else:
        kept["content"] = {}
    kept["unsigned"] = {"redacted_because": redaction}
    return kept


def _level(levels: Any, key: str, default: int) -> int:
    # Power levels come from state a test may have filled with anything.
    value = levels.get(key, default) if isinstance(levels, dict) else default
    return value if isinstance(value, int) else default


def _user_level(levels: JSONObject, user_id: UserID) -> int:
    return _level(levels.get("users"), user_id, _level(levels, "users_default", 0))
