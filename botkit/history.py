"""History on join: one rule for every way the bot comes into a room.

A room is *new* to the bot when a sync shows the bot's own join in it (an invite
accepted while running or at start-up), and every joined room is new on a first
start without a stored sync position. For a new room:

* what was sent before the bot's join is history, not a request: no command in it
  is ever run, whoever sent it;
* the event and passive handlers of plugins with a catch-up age of their own
  (:attr:`~botkit.plugin.Plugin.catchup_age`, a collector such as twim) get that
  history back to that age, paged with ``/messages`` backwards from the sync's
  timeline (spec: "Syncing", "Get events and state around a point"), as far as
  the room's history visibility lets the bot see;
* what came after the join is handled as usual.

The history is queued with the sync batch that showed the join, whose token is
stored only once every handler finished; a restart halfway fetches the same
batch again and skips what was already handled. So it arrives exactly once.

In appservice mode the homeserver pushes the bot's join in a transaction
(nothing before it is pushed); :func:`history_before` pages back from it the
same way, and the transaction is answered only once that history is handled
too (see :mod:`botkit.appservice`): a resent transaction fetches it again and
skips what was handled. The rooms the bot was in before its first start in
this mode get no history.
"""

from __future__ import annotations

import logging
from typing import Any

from mautrix.api import Method, Path
from mautrix.client import ClientAPI

__all__ = ["history_before", "is_own_join", "last_own_join", "page_back", "split_at_join"]

log = logging.getLogger("botkit.history")
_PAGE = 100
_MAX_PAGES = 100


def is_own_join(raw: Any, bot: str) -> bool:
    """Whether ``raw`` is ``bot`` joining (not a join that only changed its profile)."""
    if not (
        isinstance(raw, dict) and raw.get("type") == "m.room.member" and raw.get("state_key") == bot
    ):
        return False
    content = raw.get("content")
    if not (isinstance(content, dict) and content.get("membership") == "join"):
        return False
    unsigned = raw.get("unsigned")
    previous = unsigned.get("prev_content") if isinstance(unsigned, dict) else None
    return not (isinstance(previous, dict) and previous.get("membership") == "join")


def last_own_join(events: list[Any], bot: str) -> int | None:
    """The index of ``bot``'s last join among ``events``, None without one."""
    for i in range(len(events) - 1, -1, -1):
        if is_own_join(events[i], bot):
            return i
    return None


async def page_back(
    api: ClientAPI,
    room_id: str,
    start: str | None,
    oldest_ms: float,
    bot: str,
    *,
    until_join: bool,
) -> list[Any]:
    """Events before ``start`` back to ``oldest_ms`` (or the room's start), oldest first.

    A ``start`` of None starts from the room's newest event (spec v1.3 on).

    With ``until_join`` the paging also stops at the page holding ``bot``'s join:
    nothing before it is wanted.
    """
    collected: list[Any] = []
    for _ in range(_MAX_PAGES):
        query = {"dir": "b", "limit": str(_PAGE)}
        if start is not None:
            query["from"] = start
        resp = await api.api.request(
            Method.GET, Path.v3.rooms[room_id].messages, query_params=query
        )
        chunk = resp.get("chunk") if isinstance(resp, dict) else None
        chunk = chunk if isinstance(chunk, list) else []
        collected.extend(chunk)
        end = resp.get("end") if isinstance(resp, dict) else None
        stamps = [
            e["origin_server_ts"]
            for e in chunk
            if isinstance(e, dict) and isinstance(e.get("origin_server_ts"), int)
        ]
        # As in gap filling: only a whole page of old events ends the search, so that
        # one event from a server with a wrong clock does not hide the rest.
        reached_old = bool(stamps) and max(stamps) < oldest_ms
        joined = until_join and any(is_own_join(e, bot) for e in chunk)
        if not chunk or not isinstance(end, str) or end == start or reached_old or joined:
            break
        start = end
    log.info("read %d events of history in %s", len(collected), room_id)
    collected.reverse()
    return collected


async def split_at_join(
    api: ClientAPI,
    room_id: str,
    timeline: dict[str, Any],
    events: list[Any],
    first: bool,
    oldest_ms: float,
) -> tuple[list[Any], list[Any]]:
    """A new room's events: (history before the bot's join, events from the join on).

    ``timeline`` is the room's part of a sync answer and ``events`` its events;
    a limited timeline is extended back to ``oldest_ms``. On a ``first`` start
    everything is history: nothing is known to have come after a join.
    """
    older: list[Any] = []
    prev_batch = timeline.get("prev_batch")
    if timeline.get("limited") and isinstance(prev_batch, str):
        older = await page_back(api, room_id, prev_batch, oldest_ms, api.mxid, until_join=not first)
    chronological = [*older, *events]
    if first:
        return chronological, []
    joined_at = last_own_join(chronological, api.mxid)
    if joined_at is None:
        # The join is older than all of these (it was in the state section).
        return [], chronological
    return chronological[:joined_at], chronological[joined_at:]


async def history_before(
    api: ClientAPI, room_id: str, event_id: str, oldest_ms: float
) -> list[Any]:
    """The room's events before ``event_id`` (the bot's join) back to ``oldest_ms``, oldest first.

    The paging starts at the token before the event (spec: "Get events and state
    around a point", ``/context``) and stops, as in sync mode, at an earlier join of
    the bot: what came before that was the history of an earlier stay.
    """
    around = await api.api.request(
        Method.GET, Path.v3.rooms[room_id].context[event_id], query_params={"limit": "0"}
    )
    start = around.get("start") if isinstance(around, dict) else None
    if not isinstance(start, str):
        log.warning("no token before %s in %s: no history", event_id, room_id)
        return []
    return await page_back(api, room_id, start, oldest_ms, api.mxid, until_join=True)
