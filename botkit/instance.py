"""A plugin instance as the host sees it: its life cycle and its event handling."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mautrix.client import ClientAPI
from mautrix.types import Event, MessageEvent, MessageType, RelationType, RoomID, UserID

from .addressing import command_line
from .client import PluginClient, Sender
from .clock import Clock, SystemClock
from .commands import name_words, parse_args, split_word
from .config.typed import build_config
from .context import CommandContext, MessageContext
from .errors import CommandError, PluginLoadError, UsageError
from .limits import CommandLimiter
from .metrics import InstanceMetrics, Metrics
from .plugin import Plugin
from .scheduler import Scheduler
from .services import ServiceRegistry, Services
from .storage import Storage, migrate
from .table import BoundCommand, HandlerTable
from .tables import declared_tables
from .web import PluginWeb

__all__ = ["Failure", "Host", "InstanceState", "PluginInstance"]


class InstanceState(enum.StrEnum):
    """Where an instance is in its life cycle (shown on ``/_botkit/health``)."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an instance did not handle an event: it is kept and retried (see :mod:`botkit.retry`)."""

    reason: str
    #: False when the instance was not running: such a try does not use up the event's tries.
    counts: bool = True


@dataclass
class Host:
    """What the bot shares with every instance."""

    api: ClientAPI
    sender: Sender
    engine: Any
    services: ServiceRegistry
    metrics: Metrics
    command_prefix: str
    admins: frozenset[str]
    handler_timeout: float
    mention_commands: bool = True
    """``bot.mention_commands``: whether starting with a mention of the bot makes a command."""
    limits: CommandLimiter = field(default_factory=CommandLimiter.unlimited)
    clock: Clock = field(default_factory=SystemClock)
    """What the instances' jobs tell time by (the harness's moves when a test says)."""
    _last_read: tuple[object, _Read | None] = field(default=(None, None), init=False, repr=False)

    def command_words(self, event: MessageEvent, *, emotes: bool = False) -> tuple[str, ...] | None:
        """How a message may address plugins: None when it may run no handler at all.

        Notices (bots answer bots with notices), the bot's own messages and edits
        of old messages run neither commands nor passive handlers: None. Any other
        message gives ``()`` unless it is a command: an ``m.text`` (or, with
        ``emotes``, an ``m.emote``) that starts with the command prefix or, see
        :mod:`botkit.addressing`, a mention of the bot. A command gives its first
        words (as many as a command name may have), lower-cased. Every instance
        asks about the same event in turn, so the last reading is remembered.
        """
        read = self._reading(event)
        if read is None:
            return None
        if read.msgtype == MessageType.TEXT or (emotes and read.msgtype == MessageType.EMOTE):
            return read.words
        return ()

    def command_line(self, event: MessageEvent) -> str:
        """The command in ``event`` as typed, without the prefix or mention ("hello Bob")."""
        read = self._reading(event)
        return read.line if read is not None else ""

    def _reading(self, event: MessageEvent) -> _Read | None:
        last, read = self._last_read
        if last is event:
            return read
        try:
            read = self._read(event)
        except Exception:  # any field may be of any type in what the server sent
            read = None
        self._last_read = (event, read)
        return read

    def _read(self, event: MessageEvent) -> _Read | None:
        content = event.content
        body = getattr(content, "body", None)
        if not isinstance(body, str):
            return None
        msgtype = content.msgtype
        # Commands come from m.text only, as maubot reads them (PROTOCOL.md §1): not
        # from notices (bots), nor emotes ("/me !ping" is no ping) unless a plugin
        # takes them (command_words' ``emotes``).
        if event.sender == self.api.mxid or msgtype == MessageType.NOTICE:
            return None
        relates = getattr(content, "relates_to", None)
        if getattr(relates, "rel_type", None) == RelationType.REPLACE:
            return None
        line = command_line(event, self.command_prefix, self.api.mxid, self.mention_commands)
        if line is None:
            return _Read(msgtype, (), "")
        return _Read(msgtype, name_words(line), line)


@dataclass(frozen=True, slots=True)
class _Read:
    """What :meth:`Host.command_words` read off a message."""

    msgtype: MessageType
    words: tuple[str, ...]
    line: str


class PluginInstance:
    """One configured instance; survives reloads, while its plugin object is replaced."""

    def __init__(
        self,
        name: str,
        plugin_id: str,
        load_class: Callable[[], type[Plugin]],
        config: dict[str, Any],
        host: Host,
    ) -> None:
        self.name = name
        self.plugin_id = plugin_id
        self.load_class = load_class
        self.config = config
        self.host = host
        self.log = logging.getLogger(f"botkit.plugin.{name}")
        self.web = PluginWeb(name)
        self.scheduler = Scheduler(self.log, host.clock)
        self.plugin: Plugin | None = None
        self.table = HandlerTable()
        self.state = InstanceState.STOPPED
        self.error: str | None = None
        #: The plugin's own catch-up age (see :attr:`Plugin.catchup_age`), None for the default.
        self.catchup_age: float | None = None
        #: Whether a room's events are handled one at a time (see :attr:`Plugin.ordered`).
        self.ordered = True
        #: Whether emotes may run commands (see :attr:`Plugin.emote_commands`).
        self.emote_commands = False
        # Event handling waits on this while the instance restarts, so that no
        # event is dropped by a reload; it is open whenever no restart is under way.
        self.gate = asyncio.Event()
        self.gate.set()
        # The handler each event being handled is in, by event ID.
        self._running: dict[str, str] = {}
        # Events queued as a room's history (see botkit.history): they run no commands.
        self._history: set[str] = set()
        # The first handler failure of each event being handled, by event ID.
        self._failed: dict[str, str] = {}
        # Events being retried: their failures were traced back on the first try.
        self._retrying: set[str] = set()

    async def start(self) -> None:
        """Create the plugin object, migrate its storage, collect handlers, start it."""
        self.state = InstanceState.STARTING
        self.error = None
        try:
            cls = self.load_class()
            plugin = cls()
            self.catchup_age = cls.catchup_age
            self.ordered = cls.ordered
            self.emote_commands = cls.emote_commands
            plugin.instance = self.name
            plugin.client = PluginClient(self.host.api, self.host.sender, self.name)
            # Built afresh at each start: room upgrades may have changed the dict since.
            plugin.config = build_config(
                cls.config_class, self.config, file=f"plugins.{self.name}", key_prefix="config"
            )
            plugin.storage = Storage(self.host.engine, self.name)
            plugin.log = self.log
            plugin.web = self.web
            plugin.scheduler = self.scheduler
            plugin.services = Services(self.host.services, self.name)
            plugin.admins = self.host.admins
            plugin.metrics = InstanceMetrics(self.host.metrics, self.name)
            try:
                table = HandlerTable.collect(plugin)
                schema = declared_tables(cls)
            except TypeError as e:
                raise PluginLoadError(self.plugin_id, str(e)) from e
            table.add_routes(self.web)
            plugin.tables = plugin.storage.bind(schema)
            await migrate(plugin.storage, schema if schema.migrations else cls.migrations)
            self.plugin = plugin
            await plugin.start()
        except Exception as e:
            await self._release()
            self.state = InstanceState.FAILED
            self.error = f"{type(e).__name__}: {e}"
            self.gate.set()
            if isinstance(e, PluginLoadError):
                raise
            raise PluginLoadError(
                self.plugin_id, f"instance {self.name!r} failed to start: {e}"
            ) from e
        self.table = table
        self.state = InstanceState.RUNNING
        self.gate.set()

    async def stop(self, *, restarting: bool = False) -> None:
        """Stop the plugin and remove everything it registered.

        With ``restarting``, events for this instance wait until it runs again.
        """
        if restarting:
            self.gate.clear()
        if self.plugin is None:
            self.state = InstanceState.STOPPED
            return
        self.state = InstanceState.STOPPING
        try:
            await self.plugin.stop()
        except Exception:
            self.log.exception("stop() failed")
        await self._release()
        if not restarting:
            self.table = HandlerTable()
        self.state = InstanceState.STOPPED

    async def _release(self) -> None:
        await self.scheduler.cancel_all()
        self.web.clear()
        self.host.services.withdraw(self.name)
        self.plugin = None

    def mark_history(self, event_id: str) -> None:
        """Have ``event_id``, queued for this instance, handled as history: no commands."""
        self._history.add(event_id)

    def watching(self, room_id: RoomID) -> bool:
        """Whether event and passive handlers see ``room_id`` (:meth:`Plugin.watches`)."""
        plugin = self.plugin
        if plugin is None:
            return True  # restarting: the new plugin object will decide
        try:
            return bool(plugin.watches(room_id))
        except Exception:
            return True

    async def handle(self, event: Event, *, retry: bool = False) -> Failure | None:
        """Run this instance's handlers for ``event``, one after the other, each guarded.

        Together they get ``sync.handler_timeout``: when it passes, the handler
        running is cancelled and the ones after it are not run. Returns None
        when every handler finished, else why not: a handler raised (a database
        error, a send that gave up, a bug), timed out, or the instance is not
        running. A :class:`~botkit.errors.CommandError` is an answer, not a failure.
        With ``retry``, a failure is logged in one line: the first try logged its
        traceback.
        """
        await self.gate.wait()
        if self.plugin is None:
            return Failure(f"instance {self.name} is {self.state.value}", counts=False)
        failure: str | None = None
        if retry:
            self._retrying.add(event.event_id)
        try:
            async with asyncio.timeout(self.host.handler_timeout):
                await self._dispatch(event)
        except TimeoutError:
            self.host.metrics.handler_errors.inc(self.name)
            running = self._running.get(event.event_id, "?")
            failure = f"handler {running} timed out after {self.host.handler_timeout:g} s"
            self.log.error("%s on event %s", failure, event.event_id)
        except Exception as e:  # an answer outside the handlers' guard (usage, refusal)
            self.host.metrics.handler_errors.inc(self.name)
            failure = f"{type(e).__name__}: {e}"
            self.log.error("handling event %s failed", event.event_id, exc_info=not retry)
        finally:
            self._running.pop(event.event_id, None)
            self._history.discard(event.event_id)
            self._retrying.discard(event.event_id)
            failure = self._failed.pop(event.event_id, None) or failure
        if failure is not None:
            return Failure(failure)
        self.host.metrics.events_handled.inc(self.name)
        return None

    async def _dispatch(self, event: Event) -> None:
        table = self.table
        watched = self.watching(event.room_id)
        if watched:
            for func in (*table.events.get(event.type.t, ()), *table.events.get("*", ())):
                await self._guard(event, func, event)
        if table.wants_messages and isinstance(event, MessageEvent):
            words = self.host.command_words(event, emotes=self.emote_commands)
            if words is not None:
                history = event.event_id in self._history
                await self._route_message(event, table, words, watched, history=history)

    async def _route_message(
        self,
        event: MessageEvent,
        table: HandlerTable,
        words: tuple[str, ...],
        watched: bool,
        *,
        history: bool,
    ) -> None:
        assert self.plugin is not None  # handle() returns early without one
        client = self.plugin.client
        body: str = event.content.body
        prefix = self.host.command_prefix
        # One of this instance's commands (run or not, as history): passives leave it be.
        is_command = bool(words) and (table.find(words)[0] is not None or table.has_group(words[0]))
        if words and not history:
            command, used = table.find(words)
            named = command is not None or table.has_group(words[0])
            if named and not await self.host.limits.admit(MessageContext(client, event)):
                pass  # a flood: the limiter told the sender, once
            elif command is not None:
                args = self.host.command_line(event)
                for _ in range(used):
                    args = split_word(args)[1]
                ctx = CommandContext(client, event, command.spec.name, args)
                await self._run_command(ctx, command)
            elif table.has_group(words[0]):
                # "!twim" or "!twim nonsense": show what the group offers.
                subs = table.subcommands(words)
                usage = "\n".join(f"* `{c.usage(prefix)}`: {c.spec.help}" for c in subs)
                await MessageContext(client, event).reply(f"Subcommands:\n\n{usage}")
        if not watched:
            return
        for passive in table.passives:
            found = passive.argument(body, command=is_command)
            if found:
                await self._guard(event, passive.func, MessageContext(client, event), found)

    def allowed(self, command: BoundCommand, user: UserID) -> bool:
        """Whether ``user`` may run ``command``."""
        allow = command.spec.allow
        if allow == "everyone":
            return True
        if allow == "admins":
            return user in self.host.admins
        if callable(allow):
            return bool(allow(self.plugin, user))
        return user in allow

    async def _run_command(self, ctx: CommandContext, command: BoundCommand) -> None:
        prefix = self.host.command_prefix
        if not self.allowed(command, ctx.sender):
            await ctx.reply(f"Sorry, you are not allowed to use {prefix}{command.spec.name}.")
            return
        try:
            values = parse_args(command.params, ctx.args, command.usage(prefix))
        except UsageError as e:
            await ctx.reply(str(e), markdown=False)
            return
        await self._guard(ctx.event, command.func, ctx, reply_errors=True, **values)

    async def _guard(
        self,
        event: Event | MessageEvent,
        func: Callable[..., Awaitable[None]],
        *args: Any,
        reply_errors: bool = False,
        **kwargs: Any,
    ) -> None:
        name = getattr(func, "__name__", repr(func))
        self._running[event.event_id] = name  # for handle()'s timeout message
        try:
            await func(*args, **kwargs)
        except CommandError as e:
            if reply_errors and isinstance(args[0], MessageContext):
                await args[0].reply(str(e), markdown=False)
            else:
                self.log.warning("%s on %s: %s", name, event.event_id, e)
        except Exception as e:
            # The next handlers still run; the event is retried as a whole, and
            # sends the first try made are deduplicated by their transaction IDs.
            self.host.metrics.handler_errors.inc(self.name)
            retry = event.event_id in self._retrying
            self.log.error(
                "handler %s failed on event %s%s",
                name,
                event.event_id,
                f" again: {type(e).__name__}: {e}" if retry else "",
                exc_info=not retry,
            )
            self._failed.setdefault(event.event_id, f"handler {name}: {type(e).__name__}: {e}")
