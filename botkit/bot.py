"""The bot: one Matrix connection, the plugin instances on it, the web server.

Start-up order: database, web server (so that health answers while the bot
waits for its homeserver), login, plugin instances (required plugins first),
the events left pending by the last run (see :mod:`botkit.retry`), sync loop.
A start-up failure that the operator must fix (a database that refuses writes,
a port in use) is a :class:`~botkit.errors.BotkitError` with a one-line
message. A plugin that fails to start is logged and shown as ``failed`` on the
health page, and its events wait for it; the others run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from mautrix.client import ClientAPI
from mautrix.errors import MUnknownToken
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from . import reloading
from .builtin import BUILTIN, builtin_instance
from .config import BotConfig
from .errors import BotkitError, PluginLoadError
from .exposure import exposures
from .health import health_body
from .hosting import HostSettings, build_host
from .instance import InstanceState, PluginInstance
from .invites import Invites
from .loader import InstancePlan, PluginSource, discover, plan_instances
from .login import Login
from .metrics import Metrics
from .modes import open_encryption, report_undecryptable, standby_lease
from .pipeline import Pipeline
from .retry import RetrySettings
from .routing import Router
from .services import ServiceRegistry
from .state import StateStore
from .storage import create_engine
from .sync import Syncer, SyncSettings
from .upgrades import RoomUpgrades
from .web import PluginWeb, WebServer

if TYPE_CHECKING:
    from .appservice import Appservice
    from .crypto.encryption import Encryption
    from .lease import Lease

__all__ = ["Bot"]

log = logging.getLogger("botkit")
# How often a running bot looks for events `botkit replay` brought back.
REPLAY_POLL = 5.0


class Bot:
    """A running bot. ``await start()``, later ``await stop()``."""

    def __init__(self, config: BotConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.services = ServiceRegistry()
        self.engine = create_engine(config.database_url)
        self.store = StateStore(self.engine, config.homeserver.user_id)
        self.instances: dict[str, PluginInstance] = {}
        sync = config.sync
        self.pipeline = Pipeline(
            self.store,
            sync.max_pending,
            retry=RetrySettings(
                sync.retry_attempts, sync.retry_delay, sync.retry_max_delay, sync.max_catchup_age
            ),
            instances=self.instances.get,
            metrics=self.metrics,
        )
        self.sources: dict[str, PluginSource] = {}
        self.api: ClientAPI | None = None
        self.syncer: Syncer | None = None
        #: The transaction receiver, in appservice mode (instead of the syncer).
        self.appservice: Appservice | None = None
        #: The lease of active/standby mode, None without it.
        self.lease: Lease | None = None
        self.web: WebServer | None = None
        self.encryption: Encryption | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._prune_task: asyncio.Task[None] | None = None
        self._pruning: asyncio.Future[int] | None = None
        self.invites = Invites(lambda: self.api, lambda: self.config.bot.autojoin)
        self._replay_task: asyncio.Task[None] | None = None
        self.started_at = time.time()
        #: What start() is doing, for health; None once the bot runs.
        self.starting: str | None = "starting"
        self.stopped = asyncio.Event()
        self.login = Login(config, self.store, self._waiting)

    # -- start and stop -------------------------------------------------

    async def start(self) -> None:
        """Open the database, serve the web side, connect, start the plugins and the sync loop."""
        for warning in exposures(self.config):
            log.warning("%s", warning)
        self.starting = "opening the database"
        await self._open_database()
        self.web = WebServer(
            self.config.web.host,
            self.config.web.port,
            self.health,
            self.metrics.render,
            self._plugin_web,
        )
        try:
            await self.web.start()
        except OSError as e:
            web = self.config.web
            raise BotkitError(
                f"cannot serve web.host {web.host}:{web.port}: {e.strerror or e}"
            ) from e
        if self.config.standby.enabled:
            # -- active/standby: wait for the lease (see botkit.lease) --
            self.starting = "standby: waiting for the active process to stop"
            self.lease = standby_lease(self.engine, self.config)
            await self.lease.hold(self.metrics, self._lost_lease)
        self.starting = f"connecting to the homeserver {self.config.homeserver.url}"
        self.api = await self._connect()
        if self.config.encryption.enabled:
            self.starting = "loading the encryption keys"
            self.encryption = await open_encryption(
                self.api, self.engine, self.config, self.metrics
            )
        self.starting = "starting the plugins"
        self.host = build_host(
            self.api,
            self.engine,
            HostSettings.of(self.config),
            services=self.services,
            metrics=self.metrics,
            encryption=self.encryption,
        )
        self.upgrades = RoomUpgrades(self.api, self.store, lambda: list(self.instances.values()))
        await self.upgrades.load()
        builtin = builtin_instance(self, self.host)
        self.instances[BUILTIN] = builtin
        await builtin.start()
        await self._start_plans(self._plan(self.config))
        if self.encryption is not None:
            report_undecryptable(self.encryption, self.instances.values)
        pending = await self.pipeline.load_pending()
        if pending:
            log.info("retrying %d events that were pending when the bot stopped", pending)
        sync = self.config.sync
        router = Router(self.store, self._running, sync.max_catchup_age, self.metrics)
        if self.config.appservice.enabled:
            # -- appservice mode: the homeserver pushes (see botkit.appservice) --
            from .appservice import start_appservice  # only in this mode

            self.appservice = await start_appservice(
                self.api,
                self.config,
                router,
                self.pipeline,
                self.invites.on_invite,
                self.upgrades.tombstone,
                self.host.sender.access,
            )
        else:
            self.syncer = Syncer(
                self.api,
                self.store,
                self.pipeline,
                router,
                SyncSettings(sync.timeout, sync.timeline_limit),
                self.metrics,
                self.invites.on_invite,
                self.upgrades.tombstone,
                self.host.sender.access,
                self.encryption,
            )
            self._sync_task = asyncio.create_task(self._run_sync(), name="botkit-sync")
        self._prune_task = asyncio.create_task(self._prune_loop(), name="botkit-prune")
        self._replay_task = asyncio.create_task(self._replay_loop(), name="botkit-replay")
        self.starting = None
        log.info("botkit running as %s, web on %s:%s", self.api.mxid, self.web.host, self.web.port)

    async def _open_database(self) -> None:
        """Create or upgrade botkit's tables; a database that cannot be used is one clear line."""
        try:
            await self.store.setup()
        except (SQLAlchemyError, OSError) as e:
            reason = e.orig if isinstance(e, DBAPIError) else e
            url = make_url(self.config.database_url).render_as_string(hide_password=True)
            raise BotkitError(f"cannot use the database {url}: {reason}") from e

    async def _connect(self) -> ClientAPI:
        """Log in or check the token (see :class:`botkit.login.Login`)."""
        return await self.login.connect()

    @property
    def token_problem(self) -> str | None:
        """Why the bot's token no longer works (a device logged out), for the health page."""
        return self.login.token_problem

    def _waiting(self, why: str) -> None:
        self.starting = why

    def _plan(self, config: BotConfig) -> list[InstancePlan]:
        self.sources, problems = discover(config.plugin_dirs)
        plans, more = plan_instances(config, self.sources)
        for problem in [*problems, *more]:
            log.error("plugin not loaded: %s", problem)
        return plans

    async def _start_plans(self, plans: list[InstancePlan]) -> None:
        for plan in plans:
            config = self.upgrades.follow(plan.config)
            inst = PluginInstance(plan.name, plan.source.id, plan.loader, config, self.host)
            self.instances[plan.name] = inst
            await self._start_instance(inst)

    async def _start_instance(self, inst: PluginInstance) -> None:
        try:
            await inst.start()
            log.info("started %s (plugin %s)", inst.name, inst.plugin_id)
        except PluginLoadError as e:
            log.error("%s", e, exc_info=e.__cause__)
        else:
            self.pipeline.retries.wake(inst.name)

    async def _run_sync(self) -> None:
        assert self.syncer is not None
        try:
            await self.syncer.run()
        except asyncio.CancelledError:
            raise
        except MUnknownToken as e:
            self.login.revoked(f"{e.errcode}: {e.message}")  # no bug to trace back
        except Exception:
            log.exception("the sync loop stopped")
        self.stopped.set()

    async def _prune_loop(self) -> None:
        retention_ms = self.config.sync.handled_retention * 1000
        # Hourly; a short retention is kept to within about a tenth of it.
        interval = max(1.0, min(3600.0, retention_ms / 10_000))
        while True:
            try:
                # Kept, so that stop() lets a prune under way finish (it is shielded: a
                # cancelled write would leave its connection behind).
                self._pruning = asyncio.ensure_future(
                    self.store.prune(int(time.time() * 1000 - retention_ms))
                )
                pruned = await asyncio.shield(self._pruning)
                if pruned:
                    log.debug("pruned %d handled-event records", pruned)
            except Exception:
                log.exception("pruning handled events failed")
            await asyncio.sleep(interval)

    async def _replay_loop(self) -> None:
        while True:
            await asyncio.sleep(REPLAY_POLL)
            try:
                taken = await self.pipeline.pick_up_replays()
                if taken:
                    log.info("replaying %d dead letters", taken)
            except Exception as e:
                log.warning("could not look for replayed events: %s", e)

    async def stop(self, drain_timeout: float = 10.0) -> None:
        """Stop syncing, let running handlers finish, record them, stop the plugins.

        After the lease was lost, handlers are cancelled and nothing is recorded:
        another process is taking over.
        """
        deposed = self.lease is not None and self.lease.role == "stepped down"
        if deposed:
            drain_timeout = 0.0
        if self.appservice is not None:
            await self.appservice.stop(abandon=deposed)
        if self.syncer is not None and self._sync_task is not None:
            self.syncer.stop()
            try:
                async with asyncio.timeout(drain_timeout):
                    await asyncio.gather(self._sync_task, return_exceptions=True)
            except TimeoutError:
                self._sync_task.cancel()
        background = [t for t in (*self.invites.joins, self._prune_task, self._replay_task) if t]
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if self._pruning is not None:
            await asyncio.gather(self._pruning, return_exceptions=True)
        if not await self.pipeline.drain(drain_timeout):
            log.warning("handlers still running after %g s; they are cancelled", drain_timeout)
        await self.pipeline.close()
        try:
            if not deposed:
                await self.pipeline.flush()
        except Exception:
            log.exception("could not record the last handled events")
        for inst in reversed(list(self.instances.values())):
            await inst.stop()
        if self.encryption is not None:
            await self.encryption.close()
        if self.lease is not None:
            await self.lease.release()
        if self.web is not None:
            await self.web.stop()
        if self.api is not None:
            await self.api.api.session.close()
        await self.engine.dispose()
        self.stopped.set()

    # -- what plugins and the web side see --------------------------------

    def _running(self) -> list[PluginInstance]:
        """Every instance, in start order: the ones events are routed to."""
        return list(self.instances.values())

    def _plugin_web(self, name: str) -> PluginWeb | None:
        inst = self.instances.get(name)
        if inst is None or inst.state != InstanceState.RUNNING:
            return None
        return inst.web

    def health(self) -> dict[str, Any]:
        """The body of ``GET /_botkit/health`` (see :func:`botkit.health.health_body`)."""
        return health_body(self)

    def _lost_lease(self, reason: str) -> None:
        """Step down: stop acting at once; `botkit run` then exits (see :meth:`stop`)."""
        if self.syncer is not None:
            self.syncer.stop()
        self.stopped.set()

    # -- reloading (see botkit.reloading) ---------------------------------

    async def reload_instance(self, name: str) -> str:
        """Re-read the config file and re-import one instance's plugin; returns a summary."""
        return await reloading.reload_instance(self, name)

    async def reload_all(self) -> None:
        """Re-read the config (SIGHUP): restart changed instances, add new, stop removed."""
        await reloading.reload_all(self)
