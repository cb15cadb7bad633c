"""Client endpoints about rooms: membership, sending, state and reading history."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from mautrix.types import EventID, UserID

from botkit.event_size import MAX_EVENT_BYTES
from botkit.testing.fakehs import rooms
from botkit.testing.fakehs.errors import HomeserverRefusal, bad_request, forbidden, not_found
from botkit.testing.fakehs.routes_account import int_param
from botkit.testing.fakehs.shared import CLIENT, FAULTS, STORE, json_object, session_of
from botkit.testing.fakehs.state import Room, Session, StoredEvent
from botkit.testing.fakehs.sync import make_token, paginate, with_room_id

__all__ = ["add_routes"]

_ROOM = CLIENT + "/rooms/{room_id}"


def add_routes(router: web.UrlDispatcher) -> None:
    """Register this module's endpoints."""
    router.add_get(CLIENT + "/joined_rooms", joined_rooms)
    router.add_post(CLIENT + "/join/{room}", join)
    router.add_post(_ROOM + "/join", join)
    router.add_post(_ROOM + "/leave", leave)
    router.add_post(_ROOM + "/invite", invite)
    router.add_put(_ROOM + "/send/{event_type}/{txn_id}", send)
    router.add_put(_ROOM + "/redact/{event_id}/{txn_id}", redact)
    router.add_get(_ROOM + "/state", get_state)
    router.add_get(_ROOM + "/state/{event_type}", get_state_event)
    router.add_get(_ROOM + "/state/{event_type}/{state_key:.*}", get_state_event)
    router.add_put(_ROOM + "/state/{event_type}", put_state_event)
    router.add_put(_ROOM + "/state/{event_type}/{state_key:.*}", put_state_event)
    router.add_get(_ROOM + "/joined_members", joined_members)
    router.add_get(_ROOM + "/messages", messages)
    router.add_get(_ROOM + "/event/{event_id}", get_event)
    router.add_get(_ROOM + "/context/{event_id}", get_context)
    # Read receipts and typing notices are accepted and forgotten.
    router.add_put(_ROOM + "/typing/{user_id}", _accepted)
    router.add_post(_ROOM + "/receipt/{receipt_type}/{event_id}", _accepted)
    router.add_post(_ROOM + "/read_markers", _accepted)


async def joined_rooms(request: web.Request) -> web.Response:
    """``GET /joined_rooms``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3joined_rooms
    """
    session = session_of(request)
    store = request.app[STORE]
    joined = [
        room_id
        for room_id in store.users[session.user_id].rooms
        if store.rooms[room_id].membership_of(session.user_id) == "join"
    ]
    return web.json_response({"joined_rooms": sorted(joined)})


async def join(request: web.Request) -> web.Response:
    """``POST /join/{roomIdOrAlias}`` and ``POST /rooms/{roomId}/join``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#post_matrixclientv3joinroomidoralias
    """
    session = session_of(request)
    store = request.app[STORE]
    room = rooms.resolve(store, request.match_info.get("room") or request.match_info["room_id"])
    stored = rooms.join(store, room, session.user_id)
    if stored is not None:
        store.record_sent(room, stored, None)
    return web.json_response({"room_id": room.room_id})


async def leave(request: web.Request) -> web.Response:
    """``POST /rooms/{roomId}/leave``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#post_matrixclientv3roomsroomidleave
    """
    session, room = _session_and_room(request)
    store = request.app[STORE]
    store.record_sent(room, rooms.leave(store, room, session.user_id), None)
    return web.json_response({})


async def invite(request: web.Request) -> web.Response:
    """``POST /rooms/{roomId}/invite``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#post_matrixclientv3roomsroomidinvite
    """
    session, room = _session_and_room(request)
    store = request.app[STORE]
    invitee = (await json_object(request)).get("user_id")
    if not isinstance(invitee, str) or not invitee.startswith("@"):
        raise bad_request("M_BAD_JSON", "user_id must be a user ID")
    stored = rooms.invite(store, room, session.user_id, store.user_id(invitee))
    store.record_sent(room, stored, None)
    return web.json_response({})


async def _once(
    request: web.Request, session: Session, room: Room, create: Callable[[Any], StoredEvent]
) -> web.Response:
    """Create an event at most once per (access token, transaction ID), as servers must.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#transaction-identifiers
    ``create`` gets the request's JSON body. Injected faults answer before the
    event is made, or (``after_commit``) after it, losing only the answer.
    """
    store = request.app[STORE]
    txn_id = request.match_info["txn_id"]
    store.send_attempts[txn_id] += 1
    fault = request.app[FAULTS].take()
    if fault is not None and not fault.after_commit:
        return fault.response()
    body = await json_object(request)
    # From here to the answer nothing awaits, so two concurrent retries of one
    # transaction cannot both create an event.
    key = (session.token, txn_id)
    event_id = store.txns.get(key)
    if event_id is None:
        stored = create(body)
        event_id = store.txns[key] = EventID(stored.json["event_id"])
        store.record_sent(room, stored, txn_id)
    if fault is not None:
        return fault.response()
    return web.json_response({"event_id": event_id})


async def send(request: web.Request) -> web.Response:
    """``PUT /rooms/{roomId}/send/{eventType}/{txnId}``, idempotent per token and txn id.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid
    """
    session, room = _session_and_room(request)
    store = request.app[STORE]
    event_type = request.match_info["event_type"]
    key = (session.token, request.match_info["txn_id"])

    def create(content: Any) -> StoredEvent:
        rooms.require_may_send(room, session.user_id, event_type, state=False)
        if len(json.dumps(content, ensure_ascii=False).encode()) > MAX_EVENT_BYTES:
            # Spec: "Size limits"; a real server counts the whole event, not only this.
            raise HomeserverRefusal(413, "M_TOO_LARGE", "event too large")
        return store.new_event(room, session.user_id, event_type, content, txn=key)

    return await _once(request, session, room, create)


async def redact(request: web.Request) -> web.Response:
    """``PUT /rooms/{roomId}/redact/{eventId}/{txnId}``, idempotent like ``send``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#put_matrixclientv3roomsroomidredacteventidtxnid
    """
    session, room = _session_and_room(request)
    store = request.app[STORE]
    target = EventID(request.match_info["event_id"])
    key = (session.token, request.match_info["txn_id"])

    def create(body: Any) -> StoredEvent:
        reason = body.get("reason")
        reason = reason if isinstance(reason, str) else None
        return rooms.redact(store, room, session.user_id, target, reason, txn=key)

    return await _once(request, session, room, create)


async def get_state(request: web.Request) -> web.Response:
    """``GET /rooms/{roomId}/state``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3roomsroomidstate
    """
    session, room = _session_and_room(request)
    rooms.require_joined(room, session.user_id)
    events = [with_room_id(stored.json, room) for stored in room.state.values()]
    return web.json_response(events)


async def get_state_event(request: web.Request) -> web.Response:
    """``GET /rooms/{roomId}/state/{eventType}/{stateKey}``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3roomsroomidstateeventtypestatekey
    """
    session, room = _session_and_room(request)
    rooms.require_joined(room, session.user_id)
    key = (request.match_info["event_type"], request.match_info.get("state_key", ""))
    stored = room.state.get(key)
    if stored is None:
        raise not_found("Event not found.")
    return web.json_response(stored.json["content"])


async def put_state_event(request: web.Request) -> web.Response:
    """``PUT /rooms/{roomId}/state/{eventType}/{stateKey}``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#put_matrixclientv3roomsroomidstateeventtypestatekey
    """
    session, room = _session_and_room(request)
    store = request.app[STORE]
    content = await json_object(request)
    event_type = request.match_info["event_type"]
    state_key = request.match_info.get("state_key", "")
    rooms.require_may_send(room, session.user_id, event_type, state=True)
    if event_type == "m.room.member":
        # Only a per-room profile change; membership moves through join, leave, invite.
        if state_key != session.user_id:
            raise forbidden("You may only change your own member event.")
        if content.get("membership") != room.membership_of(session.user_id):
            raise bad_request("M_BAD_JSON", "Change membership with join, leave or invite.")
    stored = store.new_event(room, session.user_id, event_type, content, state_key=state_key)
    store.record_sent(room, stored, None)
    return web.json_response({"event_id": stored.json["event_id"]})


async def joined_members(request: web.Request) -> web.Response:
    """``GET /rooms/{roomId}/joined_members``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3roomsroomidjoined_members
    """
    session, room = _session_and_room(request)
    rooms.require_joined(room, session.user_id)
    joined = {}
    for user_id in room.joined():
        content = room.state_content("m.room.member", user_id) or {}
        joined[user_id] = {
            "display_name": content.get("displayname"),
            "avatar_url": content.get("avatar_url"),
        }
    return web.json_response({"joined": joined})


async def messages(request: web.Request) -> web.Response:
    """``GET /rooms/{roomId}/messages``: one page of history either way.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3roomsroomidmessages
    """
    session, room = _session_and_room(request)
    _require_member_ever(room, session.user_id)
    query = request.query
    page = paginate(
        room,
        session.token,
        query.get("from"),
        query.get("to"),
        query.get("dir", "b"),
        int_param(query, "limit", 10),
    )
    return web.json_response(page)


async def get_event(request: web.Request) -> web.Response:
    """``GET /rooms/{roomId}/event/{eventId}``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3roomsroomideventeventid
    """
    session, room = _session_and_room(request)
    _require_member_ever(room, session.user_id)
    found = request.app[STORE].events.get(EventID(request.match_info["event_id"]))
    if found is None or found[0] is not room:
        raise not_found("Event not found.")
    return web.json_response(with_room_id(found[1].json, room))


async def get_context(request: web.Request) -> web.Response:
    """``GET /rooms/{roomId}/context/{eventId}``: the event, its neighbours, and tokens
    for paging on either side (no state: botkit does not read it).

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3roomsroomidcontexteventid
    """
    session, room = _session_and_room(request)
    _require_member_ever(room, session.user_id)
    found = request.app[STORE].events.get(EventID(request.match_info["event_id"]))
    if found is None or found[0] is not room:
        raise not_found("Event not found.")
    stored = found[1]
    limit = int_param(request.query, "limit", 10)
    start, end = make_token(stored.pos - 1), make_token(stored.pos)
    before = paginate(room, session.token, start, None, "b", limit // 2)
    after = paginate(room, session.token, end, None, "f", limit - limit // 2)
    return web.json_response(
        {
            "event": with_room_id(stored.json, room),
            "events_before": before["chunk"],
            "events_after": after["chunk"],
            "start": start,
            "end": end,
            "state": [],
        }
    )


async def _accepted(request: web.Request) -> web.Response:
    session_of(request)
    return web.json_response({})


def _session_and_room(request: web.Request) -> tuple[Session, Room]:
    session = session_of(request)
    return session, request.app[STORE].room(request.match_info["room_id"])


def _require_member_ever(room: Room, user_id: UserID) -> None:
    # Like history visibility "shared": anyone who is or was joined may read.
    if room.membership_of(user_id) not in ("join", "leave"):
        raise forbidden(f"User {user_id} not in room {room.room_id}")
