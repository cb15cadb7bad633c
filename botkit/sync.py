"""The sync loop: receive events, survive outages, catch up, fill gaps.

Which instance gets which event is :mod:`botkit.routing`'s to decide: this
module only fetches and reads the answers. Unlike a syncer that stores the token
as soon as a response arrives, this one
stores it only after every handler of the batch finished (see
:mod:`botkit.pipeline`), so a crash redelivers the batch instead of losing it;
redelivered events that an instance had already handled are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import ClientError, ContentTypeError
from mautrix.api import Method, Path
from mautrix.client import ClientAPI
from mautrix.errors import (
    MatrixConnectionError,
    MatrixRequestError,
    MUnknownToken,
)
from mautrix.types import FilterID, RoomID, SyncToken, UserID
from sqlalchemy.exc import SQLAlchemyError

from .history import last_own_join, split_at_join
from .membership import RoomAccess, left_timelines
from .metrics import Metrics
from .pipeline import Pipeline
from .retry import backoff
from .routing import Job, Router
from .state import StateStore
from .upgrades import replacement_of

if TYPE_CHECKING:
    from .crypto.encryption import Encryption

__all__ = ["SyncSettings", "Syncer"]

log = logging.getLogger("botkit.sync")
# Errors that a later attempt may not have: the homeserver or the network is away.
_TRANSIENT = (MatrixRequestError, MatrixConnectionError, ClientError, TimeoutError, OSError)
_GAP_PAGE = 100
_GAP_MAX_PAGES = 100


@dataclass(frozen=True)
class SyncSettings:
    """The ``sync`` section of the config, in the units the loop uses."""

    timeout_s: float
    timeline_limit: int


class Syncer:
    """Pulls events from the homeserver and hands them to the pipeline."""

    def __init__(
        self,
        api: ClientAPI,
        store: StateStore,
        pipeline: Pipeline,
        router: Router,
        settings: SyncSettings,
        metrics: Metrics,
        on_invite: Callable[[RoomID, UserID | None], Awaitable[None]],
        on_tombstone: Callable[[RoomID, UserID, RoomID], Awaitable[None]] | None = None,
        access: RoomAccess | None = None,
        encryption: Encryption | None = None,
    ) -> None:
        self.api = api
        #: Decrypts encrypted rooms' events (see botkit.crypto); None: encryption is off.
        self.encryption = encryption
        self.store = store
        self.pipeline = pipeline
        self.router = router
        self.settings = settings
        self.metrics = metrics
        self.on_invite = on_invite
        self.on_tombstone = on_tombstone
        self.access = access
        self.connected = False
        self.last_sync: float | None = None
        self.outage_since: float | None = None
        #: What was wrong with the latest /sync answer, None once a good one came.
        self.malformed: str | None = None
        self.malformed_answers = 0
        self.first_sync_done = asyncio.Event()
        self._rand = random.Random()
        self._stopping = asyncio.Event()
        self._poll: asyncio.Future[Any] | None = None

    def stop(self) -> None:
        """Ask :meth:`run` to return; only a /sync request in flight is cut short.

        Database writes are never cancelled half-way: a cancelled write would
        leave its connection, and SQLite's write lock, behind.
        """
        self._stopping.set()
        if self._poll is not None:
            self._poll.cancel()

    def health(self) -> dict[str, Any]:
        """The loop's state for ``/_botkit/health``."""
        return {
            "ready": self.first_sync_done.is_set(),
            "connected": self.connected,
            "last_sync": self.last_sync,
            "outage_since": self.outage_since,
            "malformed_answer": self.malformed,
            "malformed_answers": self.malformed_answers,
            "pending_events": self.pipeline.pending,
        }

    async def _filter_id(self) -> FilterID:
        body = {
            "room": {
                "timeline": {"limit": self.settings.timeline_limit},
                "state": {"lazy_load_members": True},
                "ephemeral": {"not_types": ["*"]},
                "account_data": {"not_types": ["*"]},
            },
            "presence": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        }
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        key = "filter:" + digest[:16]
        stored = await self.store.get(key)
        if stored:
            return FilterID(stored)
        resp = await self.api.api.request(Method.POST, Path.v3.user[self.api.mxid].filter, body)
        await self.store.put(key, resp["filter_id"])
        return FilterID(resp["filter_id"])

    async def run(self) -> None:
        """Sync until :meth:`stop`. Raises only on a fatal error (a revoked token)."""
        try:
            await self._run()
        except MUnknownToken:
            log.error("the homeserver rejected the access token; stopping")
            self.connected = False
            raise

    async def _run(self) -> None:
        filter_id: FilterID | None = None
        stored = await self.store.get("sync_token")
        token = SyncToken(stored) if stored else None
        recovering = True
        failures = 0
        while not self._stopping.is_set():
            try:
                self.pipeline.request_flush()
                if filter_id is None:
                    filter_id = await self._filter_id()
                started = time.monotonic()
                self._poll = asyncio.ensure_future(self._sync(token, filter_id))
                try:
                    data = await self._poll
                except asyncio.CancelledError:
                    if self._stopping.is_set():
                        return
                    raise
                finally:
                    self._poll = None
                self.metrics.sync_seconds.inc(amount=time.monotonic() - started)
            except MUnknownToken:
                raise  # fatal: run() says so
            except _TRANSIENT as e:
                failures += 1
                page = e.__cause__
                if isinstance(page, ContentTypeError):
                    # An answer, but a page instead of JSON (mautrix calls it a connection
                    # error): a proxy in front of the homeserver, or a broken server.
                    kind = page.headers.get("Content-Type", "?") if page.headers else "?"
                    self._malformed(f"not JSON but {kind[:100]}")
                else:
                    self._outage(e)
                await self._pause(failures)
                continue
            except SQLAlchemyError as e:
                failures += 1
                log.warning("database error (%s); retrying", e)
                await self._pause(failures)
                continue
            except Exception as e:
                # Broken JSON, JSON nested deeper than Python's parser goes, a filter
                # answer without its ID: a broken server or proxy, which a later
                # attempt may not meet again. Never the end of the bot.
                failures += 1
                self._malformed(f"{type(e).__name__}: {str(e)[:200]}")
                await self._pause(failures)
                continue
            self._connected()
            next_token = data.get("next_batch") if isinstance(data, dict) else None
            if not isinstance(next_token, str):
                failures += 1
                what = "no next_batch" if isinstance(data, dict) else type(data).__name__
                self._malformed(f"an answer that is not a sync response ({what})")
                await self._pause(failures)
                continue
            try:
                jobs = await self._jobs(data, token, recovering)
                await self._invites(data)
            except MUnknownToken:
                raise
            except (*_TRANSIENT, SQLAlchemyError) as e:
                # Nothing of this batch was queued and the token did not move:
                # the same batch is fetched again, so nothing is lost.
                failures += 1
                log.warning("could not complete a sync batch (%s); fetching it again", e)
                await self._pause(failures)
                continue
            except Exception as e:
                # A shape no check foresaw: as above, the batch is fetched again later.
                failures += 1
                self._malformed(f"{type(e).__name__}: {str(e)[:200]}", exc=e)
                await self._pause(failures)
                continue
            failures = 0
            self._well_formed()
            await self.pipeline.submit(next_token, jobs)
            if token is None:
                # Without a stored token a restart syncs afresh and handles nothing
                # of that first answer: the first token is stored at once.
                self.pipeline.flush_soon()
            token = SyncToken(next_token)
            recovering = False
            self.first_sync_done.set()

    async def _sync(self, token: SyncToken | None, filter_id: FilterID) -> Any:
        # The first sync after a start returns at once: ready means caught up,
        # not "caught up and then waited for something new".
        wait = self.settings.timeout_s if self.first_sync_done.is_set() else 0
        async with asyncio.timeout(self.settings.timeout_s + 30):
            return await self.api.sync(since=token, timeout=int(wait * 1000), filter_id=filter_id)

    async def _pause(self, failures: int) -> None:
        """Back off after a failure; returns early when asked to stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(backoff(failures, 1.0, 30.0, self._rand, jitter=0.25)):
                await self._stopping.wait()

    def _outage(self, error: BaseException) -> None:
        if self.outage_since is None:
            self.outage_since = time.time()
            log.warning(
                "homeserver unreachable (%s: %s); retrying with backoff",
                type(error).__name__,
                error,
            )
        self.connected = False

    def _malformed(self, reason: str, exc: BaseException | None = None) -> None:
        """A /sync answer botkit cannot use: logged once until a good one comes, and shown."""
        self.malformed_answers += 1
        if self.malformed is None:
            log.warning(
                "the homeserver sent a malformed /sync answer (%s); retrying with backoff",
                reason,
                exc_info=exc,
            )
        else:
            log.debug("another malformed /sync answer: %s", reason)
        self.malformed = reason

    def _well_formed(self) -> None:
        if self.malformed is not None:
            log.warning("the homeserver's /sync answers are well-formed again")
            self.malformed = None

    def _connected(self) -> None:
        if self.outage_since is not None:
            log.warning("homeserver reachable again after %.1f s", time.time() - self.outage_since)
            self.outage_since = None
        self.connected = True
        self.last_sync = time.time()
        self.metrics.syncs.inc()

    async def _invites(self, data: dict[str, Any]) -> None:
        invites = _object(_object(data.get("rooms")).get("invite"))
        for room_id, room in invites.items():
            if not isinstance(room, dict):
                continue  # no invite, whatever the key says
            inviter = None
            events = _object(room.get("invite_state")).get("events")
            for ev in events if isinstance(events, list) else []:
                if (
                    isinstance(ev, dict)
                    and ev.get("type") == "m.room.member"
                    and ev.get("state_key") == self.api.mxid
                ):
                    inviter = ev.get("sender")
            await self.on_invite(
                RoomID(room_id), UserID(inviter) if isinstance(inviter, str) else None
            )

    async def _jobs(self, data: dict[str, Any], since: str | None, recovering: bool) -> list[Job]:
        """The handler work of one sync answer; ``since`` is None on a first start."""
        raw_events: list[dict[str, Any]] = []
        raw_history: list[dict[str, Any]] = []
        if self.encryption is not None:  # room keys first: the timeline may need them
            await self.encryption.receive_keys(data)
        joined = _object(_object(data.get("rooms")).get("join"))
        for room_id, room in joined.items():
            timeline = _object(_object(room).get("timeline"))
            events = timeline.get("events", [])
            if not isinstance(events, list):
                continue
            state = room.get("state", {}) if isinstance(room, dict) else {}
            state_events = state.get("events", []) if isinstance(state, dict) else []
            if not isinstance(state_events, list):
                state_events = []
            if since is None or last_own_join([*state_events, *events], self.api.mxid) is not None:
                # A room new to the bot: see botkit.history.
                before, after = await self._new_room(room_id, timeline, events, since is None)
                raw_history.extend(_with_room(before, room_id))
                raw_events.extend(_with_room(after, room_id))
                recovering = True
            else:
                if timeline.get("limited") and isinstance(timeline.get("prev_batch"), str):
                    gap = await self._fill_gap(room_id, timeline["prev_batch"], since)
                    raw_events.extend(_with_room(gap, room_id))
                    recovering = True
                raw_events.extend(_with_room(events, room_id))
            await self._tombstones(room_id, [*state_events, *events])
            self._note_membership(room_id, [*state_events, *events])
        raw_events.extend(self._left_rooms(data))
        if self.encryption is not None:
            # Held events (no key yet) are left out; released ones may have been handled.
            raw_events, raw_history, released = await self.encryption.decrypt(
                raw_events, raw_history
            )
            recovering = recovering or released
        # Where a per-room timeline becomes jobs: botkit.routing decides who gets what.
        return await self.router.route(raw_events, raw_history, recovering=recovering)

    async def _new_room(
        self, room_id: str, timeline: dict[str, Any], events: list[Any], first: bool
    ) -> tuple[list[Any], list[Any]]:
        """A new room's events: (history before the bot's join, events from the join on)."""
        if first and not any(inst.catchup_age is not None for inst in self.router.instances()):
            # Only collectors get history, and on a first start all is history.
            return [], []
        oldest = self.router.oldest_wanted_ms()
        return await split_at_join(self.api, room_id, timeline, events, first, oldest)

    def _left_rooms(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        """The events of rooms the bot left, was kicked or banned from: plugins see them too."""
        found: list[dict[str, Any]] = []
        for room_id, events in left_timelines(data):
            self._note_membership(room_id, events)
            found.extend(_with_room(events, room_id))
        return found

    def _note_membership(self, room_id: str, events: list[Any]) -> None:
        if self.access is not None:
            for raw in events:
                self.access.note(room_id, raw)

    async def _tombstones(self, room_id: str, events: list[Any]) -> None:
        """Hand each ``m.room.tombstone`` naming a replacement to ``on_tombstone``."""
        if self.on_tombstone is not None:
            for raw in events:
                found = replacement_of(raw)
                if found is not None:
                    await self.on_tombstone(RoomID(room_id), *found)

    async def _fill_gap(self, room_id: str, prev_batch: str, since: str) -> list[Any]:
        """Events between ``since`` and the timeline's start (spec: "Syncing", limited)."""
        oldest = self.router.oldest_wanted_ms()
        collected: list[Any] = []
        start = prev_batch
        for _ in range(_GAP_MAX_PAGES):
            resp = await self.api.api.request(
                Method.GET,
                Path.v3.rooms[room_id].messages,
                query_params={"from": start, "to": since, "dir": "b", "limit": str(_GAP_PAGE)},
            )
            chunk = resp.get("chunk") or []
            collected.extend(chunk)
            end = resp.get("end")
            stamps = [
                e["origin_server_ts"]
                for e in chunk
                if isinstance(e, dict) and isinstance(e.get("origin_server_ts"), int)
            ]
            # Only a whole page of old events ends the search: one event from a server
            # with a wrong clock must not hide the rest of the gap.
            reached_old = bool(stamps) and max(stamps) < oldest
            if not chunk or not isinstance(end, str) or end == start or reached_old:
                break
            start = end
        log.info("filled a gap of %d events in %s", len(collected), room_id)
        collected.reverse()
        return collected


def _object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: a server may send any shape."""
    return value if isinstance(value, dict) else {}


def _with_room(events: list[Any], room_id: str) -> list[dict[str, Any]]:
    out = []
    for raw in events:
        if isinstance(raw, dict):
            raw["room_id"] = room_id
            out.append(raw)
    return out
