"""Answers to ``/sync`` and ``/messages``, cut from the rooms' timelines by position.

A token ``s<p>`` is the point in the stream just after position *p*: a sync from it
returns the events after *p*, a backward page from it starts with the event at *p*.

Spec: `/sync <https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3sync>`_,
`/messages <https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3roomsroomidmessages>`_.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from operator import attrgetter
from typing import Any

from mautrix.types import UserID

from botkit.testing.fakehs.errors import bad_request
from botkit.testing.fakehs.state import JSONObject, Room, Store, StoredEvent, User

__all__ = [
    "build_sync",
    "make_token",
    "paginate",
    "parse_token",
    "served_until",
    "timeline_limit",
    "with_room_id",
]

_pos = attrgetter("pos")
_STRIPPED_TYPES = (
    "m.room.create",
    "m.room.join_rules",
    "m.room.name",
    "m.room.canonical_alias",
    "m.room.avatar",
    "m.room.topic",
    "m.room.encryption",
)
_MAX_PAGE = 1000


def make_token(pos: int) -> str:
    """The token for the point just after stream position ``pos``."""
    return f"s{pos}"


def parse_token(token: str, what: str) -> int:
    """The stream position of a token; 400 ``M_INVALID_PARAM`` if it is not one of ours."""
    digits = token[1:]
    if token[:1] != "s" or not digits.isascii() or not digits.isdigit():
        raise bad_request("M_INVALID_PARAM", f"Invalid {what} token: {token!r}")
    return int(digits)


def timeline_limit(store: Store, user: User, filter_param: str | None) -> int:
    """``room.timeline.limit`` of the sync's filter (an uploaded id or inline JSON)."""
    if filter_param is None:
        return store.default_timeline_limit
    if filter_param.startswith("{"):
        try:
            sync_filter: Any = json.loads(filter_param)
        except ValueError as e:
            raise bad_request("M_NOT_JSON", "The filter is not valid JSON.") from e
    elif filter_param.isascii() and filter_param.isdigit():
        index = int(filter_param)
        if index >= len(user.filters):
            raise bad_request("M_INVALID_PARAM", f"No filter with id {filter_param}")
        sync_filter = user.filters[index]
    else:
        raise bad_request("M_INVALID_PARAM", f"No filter with id {filter_param}")
    # Filters are whatever the client uploaded: look, don't trust.
    room_filter = sync_filter.get("room") if isinstance(sync_filter, dict) else None
    timeline = room_filter.get("timeline") if isinstance(room_filter, dict) else None
    limit = timeline.get("limit") if isinstance(timeline, dict) else None
    return limit if isinstance(limit, int) and limit >= 0 else store.default_timeline_limit


def build_sync(
    store: Store, token: str, user: User, since: int | None, limit: int, full_state: bool
) -> tuple[JSONObject, bool]:
    """The sync answer for ``user`` since ``since`` (None: initial), and whether it has news.

    ``token`` is the access token asking, so the events its own requests created carry
    their ``transaction_id`` as real servers do for the sending device. The answer
    covers the stream up to :func:`served_until`.
    """
    after = since or 0
    until = served_until(store, since)
    joined: JSONObject = {}
    invited: JSONObject = {}
    left: JSONObject = {}
    for room_id in user.rooms:
        room = store.rooms[room_id]
        if since is not None and room.last_pos <= since and not full_state:
            continue
        membership, member_pos = room.membership[user.user_id]
        if member_pos > until:
            continue  # the membership is news of a later answer
        if membership == "join":
            fresh = since is None or member_pos > since
            entry = _joined(room, token, 0 if fresh else after, until, limit, full_state)
            if entry is not None:
                joined[room_id] = entry
        elif membership == "invite" and member_pos > after:
            invited[room_id] = {"invite_state": {"events": _invite_state(room, user.user_id)}}
        elif membership in ("leave", "ban") and since is not None and member_pos > since:
            left[room_id] = _left(room, token, since, member_pos, limit)
    body = {
        "next_batch": make_token(until),
        "rooms": {"join": joined, "invite": invited, "leave": left},
        "account_data": {"events": []},
        "presence": {"events": []},
    }
    return body, bool(joined or invited or left)


def served_until(store: Store, since: int | None) -> int:
    """The stream position an answer from ``since`` reaches: all of it, or
    :attr:`~botkit.testing.fakehs.state.Store.events_per_sync` positions for a bench."""
    cap = store.events_per_sync
    if since is None or cap is None:
        return store.position
    return min(store.position, since + cap)


def paginate(
    room: Room, token: str, start: str | None, end: str | None, direction: str, limit: int
) -> JSONObject:
    """One page of ``room``'s timeline from ``start`` towards ``end``, as ``/messages``."""
    if direction not in ("b", "f"):
        raise bad_request("M_INVALID_PARAM", f"Invalid dir: {direction!r}")
    limit = min(max(limit, 0), _MAX_PAGE)
    timeline = room.timeline
    if direction == "b":
        start_pos = room.last_pos if start is None else parse_token(start, "from")
        stop = len(timeline) if start is None else bisect_right(timeline, start_pos, key=_pos)
        floor = 0 if end is None else bisect_right(timeline, parse_token(end, "to"), key=_pos)
        first = max(floor, stop - limit)
        chunk = timeline[first:stop][::-1]
        more = first > floor
        next_token = make_token(chunk[-1].pos - 1) if chunk and more else None
    else:
        start_pos = 0 if start is None else parse_token(start, "from")
        first = bisect_right(timeline, start_pos, key=_pos)
        ceiling = (
            len(timeline)
            if end is None
            else bisect_right(timeline, parse_token(end, "to"), key=_pos)
        )
        chunk = timeline[first : min(ceiling, first + limit)]
        next_token = make_token(chunk[-1].pos) if chunk else None
    page: JSONObject = {
        "start": start if start is not None else make_token(start_pos),
        "chunk": [with_room_id(_view(stored, token), room) for stored in chunk],
    }
    if next_token is not None:
        page["end"] = next_token
    return page


def with_room_id(event: Any, room: Room) -> Any:
    """The event as served outside ``/sync``, which names its room."""
    if isinstance(event, dict) and "room_id" not in event:
        return {**event, "room_id": room.room_id}
    return event


def _joined(
    room: Room, token: str, after: int, until: int, limit: int, full_state: bool
) -> JSONObject | None:
    timeline = room.timeline
    new = bisect_right(timeline, after, key=_pos)
    end = bisect_right(timeline, until, key=_pos)
    if new == end and not full_state:
        return None
    first = max(new, end - limit)
    events = timeline[first:end]
    timeline_start = events[0].pos if events else until + 1
    state_after = 0 if full_state else after
    return {
        "timeline": {
            "events": [_view(stored, token) for stored in events],
            "limited": first > new,
            "prev_batch": make_token(timeline_start - 1),
        },
        "state": {"events": _state_between(room, state_after, timeline_start)},
        "ephemeral": {"events": []},
        "account_data": {"events": []},
    }


def _left(room: Room, token: str, since: int, leave_pos: int, limit: int) -> JSONObject:
    timeline = room.timeline
    new = bisect_right(timeline, since, key=_pos)
    stop = bisect_right(timeline, leave_pos, key=_pos)
    first = max(new, stop - limit)
    events = timeline[first:stop]
    timeline_start = events[0].pos
    return {
        "timeline": {
            "events": [_view(stored, token) for stored in events],
            "limited": first > new,
            "prev_batch": make_token(timeline_start - 1),
        },
        "state": {"events": _state_between(room, since, timeline_start)},
        "account_data": {"events": []},
    }


def _state_between(room: Room, after: int, before: int) -> list[Any]:
    """The last state event per (type, state_key) with ``after < pos < before``."""
    log = room.state_log
    lo = bisect_right(log, after, key=_pos)
    hi = bisect_right(log, before - 1, key=_pos)
    latest: dict[tuple[str, str], Any] = {}
    for stored in log[lo:hi]:
        latest[(stored.json["type"], stored.json["state_key"])] = stored.json
    return list(latest.values())


def _invite_state(room: Room, user_id: UserID) -> list[Any]:
    stripped = [
        {key: event[key] for key in ("type", "state_key", "content", "sender")}
        for event_type in _STRIPPED_TYPES
        if (stored := room.state.get((event_type, ""))) is not None
        for event in (stored.json,)
    ]
    # The invite itself goes whole: clients read its sender and event id.
    stripped.append(room.state[("m.room.member", user_id)].json)
    return stripped


def _view(stored: StoredEvent, token: str) -> Any:
    """The event as ``token``'s session sees it: its own sends carry their transaction id."""
    txn = stored.txn
    if txn is None or txn[0] != token:
        return stored.json
    event = stored.json
    unsigned = event.get("unsigned")
    unsigned = dict(unsigned) if isinstance(unsigned, dict) else {}
    unsigned["transaction_id"] = txn[1]
    return {**event, "unsigned": unsigned}
