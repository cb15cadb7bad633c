"""Appservice mode: the homeserver pushes events in transactions instead of the bot syncing.

Spec: "Application Service API", Pushing events. ``PUT
/_matrix/app/v1/transactions/{txnId}`` is answered only once every event in
it is finished for every instance (handled, or kept as pending for a retry)
and that is written to the database, in the same bookkeeping transaction the
sync loop uses (see :mod:`botkit.pipeline`). So a crash before the answer
makes the homeserver send the transaction again, and the events that were
already handled are skipped by their handled records (see
:mod:`botkit.routing`), not by an in-memory set of transaction IDs that a
restart forgets. One transaction is worked on at a time (the homeserver sends
them one after the other), and while the pipeline is full the answer waits:
the homeserver slows down instead of the bot holding unbounded work.

The homeserver authenticates with ``hs_token`` (compared in constant time);
any other request is refused. At start the bot pings the homeserver (spec:
``POST /_matrix/client/v1/appservice/{appserviceId}/ping``), which also makes
Synapse resend at once what it holds back after failed tries.

When the bot's own join comes in a transaction, plugins with a catch-up age
get the room's history before it as in sync mode (see :mod:`botkit.history`),
handled before the transaction is answered.

The events a restarted homeserver lost are read back (see
:mod:`botkit.appservice_catchup`). Not done in this mode yet: encryption.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from mautrix.api import Method, Path
from mautrix.client import ClientAPI
from mautrix.errors import MatrixRequestError
from mautrix.types import RoomID, UserID

from .appservice_catchup import Catchup
from .errors import BotkitError
from .history import history_before, is_own_join
from .membership import RoomAccess
from .pipeline import Pipeline
from .registration import AppserviceTokens, read_tokens
from .retry import backoff
from .routing import Router
from .upgrades import replacement_of

if TYPE_CHECKING:
    from .config import BotConfig

__all__ = ["Appservice", "AppserviceSettings", "start_appservice"]

log = logging.getLogger("botkit.appservice")
_PREFIX = "/_matrix/app/v1"
# A transaction holds at most about 100 events of at most 64 KiB each.
_MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class AppserviceSettings:
    """Where to listen, and the appservice's ID at the homeserver."""

    id: str
    host: str
    port: int
    #: How often (s) to check that the homeserver answers (see botkit.appservice_catchup).
    probe_interval: float = 2.0


def _error(status: int, errcode: str, message: str) -> web.Response:
    return web.json_response({"errcode": errcode, "error": message}, status=status)


class Appservice:
    """Receives the homeserver's transactions and hands their events to the pipeline."""

    def __init__(
        self,
        api: ClientAPI,
        tokens: AppserviceTokens,
        settings: AppserviceSettings,
        router: Router,
        pipeline: Pipeline,
        on_invite: Callable[[RoomID, UserID | None], Awaitable[None]],
        on_tombstone: Callable[[RoomID, UserID, RoomID], Awaitable[None]] | None = None,
        access: RoomAccess | None = None,
    ) -> None:
        self.api = api
        self.tokens = tokens
        self.settings = settings
        self.router = router
        self.pipeline = pipeline
        self.on_invite = on_invite
        self.on_tombstone = on_tombstone
        self.access = access
        self.ready = asyncio.Event()
        #: The port listened on (``settings.port``, or the one picked for 0).
        self.port: int | None = None
        self.transactions = 0
        self.last_transaction: float | None = None
        self.pinged: bool = False
        self._one_at_a_time = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self._pinger: asyncio.Task[None] | None = None
        self.catchup = Catchup(api, router.max_catchup_age_s, settings.probe_interval)
        self._prober: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        """Listen for transactions, then ping the homeserver (in the background)."""
        app = web.Application(client_max_size=_MAX_BODY, middlewares=[self._authenticate])
        app.router.add_put(_PREFIX + "/transactions/{txn_id}", self._transaction)
        app.router.add_post(_PREFIX + "/ping", self._ping)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=10)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        addresses = runner.addresses
        self.port = int(addresses[0][1]) if addresses else self.settings.port
        self._pinger = asyncio.create_task(self._ping_homeserver(), name="botkit-as-ping")
        self._prober = asyncio.create_task(self.catchup.watch(self._take), name="botkit-as-probe")
        self.ready.set()
        log.info("receiving events as appservice %s on port %s", self.settings.id, self.port)

    async def stop(self, *, abandon: bool = False) -> None:
        """Stop listening; a transaction in flight gets a few seconds to be answered.

        With ``abandon`` (another process took over), it is cut off unanswered at once:
        the homeserver sends it again, to the process that is active now.
        """
        if abandon:
            for task in self._in_flight:
                task.cancel()
        background = [t for t in (self._pinger, self._prober) if t is not None]
        for job in background:
            job.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def health(self) -> dict[str, Any]:
        """The receiver's state for ``/_botkit/health``."""
        return {
            "mode": "appservice",
            "ready": self.ready.is_set(),
            "connected": self.pinged or self.last_transaction is not None,
            "last_transaction": self.last_transaction,
            "transactions": self.transactions,
            "catch_ups": self.catchup.catch_ups,
            "pending_events": self.pipeline.pending,
        }

    @web.middleware
    async def _authenticate(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        # The query parameter is what older homeservers send (spec before v1.4).
        token = token or request.query.get("access_token")
        if not token:
            return _error(401, "M_UNAUTHORIZED", "no hs_token")
        if not hmac.compare_digest(token.encode(), self.tokens.hs_token.encode()):
            return _error(403, "M_FORBIDDEN", "wrong hs_token")
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return _error(404, "M_UNRECOGNIZED", "unknown endpoint")
        except web.HTTPMethodNotAllowed:
            return _error(405, "M_UNRECOGNIZED", "method not allowed")

    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _transaction(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "M_NOT_JSON", "the body is not JSON")
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            return _error(400, "M_BAD_JSON", "no events list")
        raw = [e for e in events if isinstance(e, dict) and isinstance(e.get("room_id"), str)]
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self._take(raw)
        finally:
            if task is not None:
                self._in_flight.discard(task)
        self.catchup.note(raw)
        self.transactions += 1
        self.last_transaction = time.time()
        return web.json_response({})

    async def _take(self, raw: list[dict[str, Any]]) -> None:
        """Hand a transaction's events on; return once they are finished and recorded."""
        async with self._one_at_a_time:
            await self._room_changes(raw)
            history = await self._history_on_join(raw)
            # Where a transaction's events become jobs: botkit.routing decides who gets what.
            jobs = await self.router.route(raw, history, recovering=True)
            batch = await self.pipeline.submit(None, jobs)
            await self.pipeline.settle(batch)

    async def _history_on_join(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The history before each of the bot's joins in ``events``, for collectors.

        A homeserver that refuses it (the event is gone) leaves that room without
        history; a network failure fails the transaction, which the homeserver resends.
        """
        if not any(inst.catchup_age is not None for inst in self.router.instances()):
            return []
        joins = {e["room_id"]: e["event_id"] for e in events if is_own_join(e, self.api.mxid)}
        pushed = {e.get("event_id") for e in events}
        history: list[dict[str, Any]] = []
        for room_id, event_id in joins.items():
            if not isinstance(event_id, str):
                continue
            try:
                before = await history_before(
                    self.api, room_id, event_id, self.router.oldest_wanted_ms()
                )
            except MatrixRequestError as e:
                log.warning("no history of %s: %s", room_id, e)
                continue
            # What came in this transaction too (the invite) is handled once, as an event.
            history.extend(
                {**e, "room_id": room_id}
                for e in before
                if isinstance(e, dict) and e.get("event_id") not in pushed
            )
        return history

    async def _room_changes(self, events: list[dict[str, Any]]) -> None:
        """Invites to the bot, room upgrades, and the bot's own membership."""
        for raw in events:
            room_id = raw["room_id"]
            if self.access is not None:
                self.access.note(room_id, raw)
            content = raw.get("content")
            if (
                raw.get("type") == "m.room.member"
                and raw.get("state_key") == self.api.mxid
                and isinstance(content, dict)
                and content.get("membership") == "invite"
            ):
                sender = raw.get("sender")
                await self.on_invite(
                    RoomID(room_id), UserID(sender) if isinstance(sender, str) else None
                )
            if self.on_tombstone is not None:
                found = replacement_of(raw)
                if found is not None:
                    await self.on_tombstone(RoomID(room_id), *found)

    async def _ping_homeserver(self) -> None:
        """Ping until the homeserver reached the bot once (it then resends what it held back)."""
        rand = random.Random()
        failures = 0
        path = Path.v1.appservice[self.settings.id].ping
        while True:
            try:
                await self.api.api.request(
                    Method.POST, path, {"transaction_id": "botkit-" + secrets.token_hex(8)}
                )
            except Exception as e:
                failures += 1
                level = logging.WARNING if failures == 3 else logging.DEBUG
                log.log(level, "the homeserver could not ping the bot (yet): %s", e)
                await asyncio.sleep(backoff(failures, 1.0, 60.0, rand))
                continue
            self.pinged = True
            return


async def start_appservice(
    api: ClientAPI,
    config: BotConfig,
    router: Router,
    pipeline: Pipeline,
    on_invite: Callable[[RoomID, UserID | None], Awaitable[None]],
    on_tombstone: Callable[[RoomID, UserID, RoomID], Awaitable[None]],
    access: RoomAccess | None,
) -> Appservice:
    """Register the bot's user and start receiving its events as an appservice."""
    section = config.appservice
    await _ensure_registered(api)
    receiver = Appservice(
        api,
        read_tokens(config),
        AppserviceSettings(section.id, section.host, section.port, section.probe_interval),
        router,
        pipeline,
        on_invite,
        on_tombstone,
        access,
    )
    try:
        await receiver.start()
    except OSError as e:
        raise BotkitError(
            f"cannot listen on appservice {section.host}:{section.port}: {e.strerror or e}"
        ) from e
    return receiver


async def _ensure_registered(api: ClientAPI) -> None:
    """Register the sender, as a new appservice must (spec: "Server admin style permissions")."""
    localpart = api.mxid[1:].split(":", 1)[0]
    body = {"type": "m.login.application_service", "username": localpart, "inhibit_login": True}
    try:
        await api.api.request(Method.POST, Path.v3.register, body)
    except MatrixRequestError as e:
        # M_USER_IN_USE: registered on an earlier start, as is usual.
        log.debug("registering %s: %s", api.mxid, e)
