"""Testing a plugin's handlers without a homeserver: a real instance, a recording client.

::

    async with plugin_harness(Path("plugins/hello"), config={"greeting": "Hi"}) as h:
        await h.command("!hello Bob")
        assert h.replies() == ["Hi, Bob! (greeting number 1)"]

Everything but the homeserver is the bot's own: the instance's config is the plugin's
``config.yaml`` merged with ``config`` and checked as the bot checks it, its
storage is a real database (a SQLite file) with its migrations run, and each
event goes through :meth:`~botkit.instance.PluginInstance.handle`, so commands,
permissions, usage errors, passive and event handlers behave as in the bot.
The plugin's Matrix requests reach :class:`RecordingAPI`, which records them
and answers sends with made-up event IDs (repeating a transaction ID repeats
the answer, as a homeserver does). Handler failures are contained as in the
bot and listed in :attr:`PluginHarness.errors`.

The host is built as the bot builds it (:func:`botkit.hosting.build_host`), with
the built-in commands (``!help``) beside the plugin. Its web routes answer
through :attr:`PluginHarness.http` (aiohttp's test client), and its scheduled
jobs run on a :class:`~botkit.clock.FakeClock` that :meth:`PluginHarness.advance`
moves on: nothing sleeps for real.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypedDict, TypeVar, Unpack

from mautrix.client import ClientAPI
from mautrix.types import EventID, EventType, RoomID, UserID

from ..builtin import BUILTIN, builtin_instance
from ..client import Origin, origin
from ..clock import FakeClock
from ..config import load_defaults, merge_config
from ..errors import PluginLoadError
from ..events import parse_event
from ..hosting import HostSettings, build_host
from ..instance import InstanceState, PluginInstance
from ..loader import PluginSource, read_manifest
from ..plugin import Plugin
from ..routing import wants
from ..services import ServiceKey
from ..storage import create_engine
from ..web import PluginWeb
from .http import HarnessHTTP
from .recording import RecordingAPI, Request, Sent

__all__ = [
    "DEFAULT_BOT",
    "DEFAULT_ROOM",
    "DEFAULT_SENDER",
    "HandlerFailure",
    "HarnessFactory",
    "HarnessOptions",
    "PluginHarness",
    "Reaction",
    "RecordingAPI",
    "Request",
    "Sent",
    "plugin_harness",
]

T = TypeVar("T")

DEFAULT_ROOM = RoomID("!room:example.org")
"""The room of events that name none."""
DEFAULT_SENDER = UserID("@alice:example.org")
"""The sender of events that name none."""
DEFAULT_BOT = UserID("@bot:example.org")
"""The bot's own user ID in the harness."""


class Reaction(NamedTuple):
    """A reaction the plugin sent: ``key`` on ``event_id``."""

    room_id: RoomID
    event_id: EventID
    key: str


@dataclass(frozen=True, slots=True)
class HandlerFailure:
    """A handler (or ``stop()``) that failed: what the bot logged, and the exception."""

    message: str
    exception: BaseException | None


class _FailureLog(logging.Handler):
    """Collects what the instance logs at ERROR: handler failures, timeouts, ``stop()`` errors."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.failures: list[HandlerFailure] = []

    def emit(self, record: logging.LogRecord) -> None:
        exception = record.exc_info[1] if record.exc_info else None
        self.failures.append(HandlerFailure(record.getMessage(), exception))


class PluginHarness:
    """A running plugin instance, the events given to it and what it sent."""

    def __init__(self, instance: PluginInstance, api: RecordingAPI, clock: FakeClock) -> None:
        self.instance = instance
        """The instance as the bot holds it (its handler table, its state)."""
        self.api = api
        """The recording HTTP API: every request, and :meth:`RecordingAPI.answer`."""
        self.clock = clock
        """The clock the instance's jobs run on; :meth:`advance` moves it."""
        self.builtin = builtin_instance(self, instance.host)
        """The built-in commands (``!help``, ``!reload``), answered as in the bot."""
        self.http = HarnessHTTP(instance.name, self._plugin_web)
        """The instance's web routes: ``await h.http.get("user/bob")`` (see :mod:`.http`)."""
        self._failures = _FailureLog()
        self._events = 0

    @property
    def instances(self) -> dict[str, PluginInstance]:
        """The built-in instance and the plugin's, as the bot lists them for ``!help``."""
        return {BUILTIN: self.builtin, self.instance.name: self.instance}

    async def reload_instance(self, name: str) -> str:
        """``!reload``: restarts the plugin (same code, config and storage)."""
        if name != self.instance.name:
            raise PluginLoadError(name, f"there is no instance {name!r} in the harness")
        await self.restart()
        return f"Reloaded {name}."

    async def advance(self, delta: timedelta | float) -> None:
        """Move the jobs' clock on by ``delta`` (seconds, or a timedelta); the jobs that
        fall due run, each until it waits again, before this returns.

        Nothing runs until a test calls this: ``advance(0)`` runs the jobs due now
        (``every()`` without a ``delay`` is due as soon as it is scheduled).
        """
        await self.clock.advance(delta)

    def _plugin_web(self, name: str) -> PluginWeb | None:
        running = self.instance.state is InstanceState.RUNNING
        return self.instance.web if name == self.instance.name and running else None

    @property
    def plugin(self) -> Plugin:
        """The plugin object; replaced by :meth:`restart`."""
        if self.instance.plugin is None:
            raise RuntimeError(f"plugin instance {self.instance.name!r} is not running")
        return self.instance.plugin

    def service(self, key: ServiceKey[T]) -> T:
        """The service ``key`` as another plugin gets it: what the instance provided, checked
        against the key's type; :class:`~botkit.errors.ServiceUnavailable` when it did not."""
        return self.instance.host.services.get(key)

    @property
    def sent(self) -> list[Sent]:
        """Every event the plugin sent, oldest first."""
        return list(self.api.sent)

    @property
    def requests(self) -> list[Request]:
        """Every HTTP request the plugin made, oldest first (sends included)."""
        return list(self.api.requests)

    @property
    def errors(self) -> list[HandlerFailure]:
        """Handlers that raised or timed out, and whatever else the instance logged as an error.

        The bot logs and contains these; a test that expects none asserts ``h.errors == []``.
        """
        return list(self._failures.failures)

    @property
    def reactions(self) -> list[Reaction]:
        """Every reaction the plugin sent, oldest first."""
        found = []
        for room_id, event_type, content in self.api.sent:
            if event_type == EventType.REACTION.t:
                relates = content.get("m.relates_to", {})
                found.append(Reaction(room_id, relates.get("event_id"), relates.get("key")))
        return found

    def replies(self, room: RoomID | str | None = None) -> list[str]:
        """The bodies of the messages the plugin sent (to ``room``, if given), oldest first."""
        return [
            str(content.get("body", ""))
            for room_id, event_type, content in self.api.sent
            if event_type == EventType.ROOM_MESSAGE.t and room in (None, room_id)
        ]

    async def command(
        self,
        text: str,
        *,
        sender: UserID | str = DEFAULT_SENDER,
        room: RoomID | str = DEFAULT_ROOM,
    ) -> list[Sent]:
        """Send ``text`` (``"!hello Bob"``, as typed) as an ``m.text`` message; what it sent back.

        Raises ``ValueError`` if ``text`` lacks the command prefix: a test that
        forgot it would otherwise only see no answer.
        """
        prefix = self.instance.host.command_prefix
        if not text.startswith(prefix):
            raise ValueError(f"{text!r} is no command: it does not start with {prefix!r}")
        return await self.message(text, sender=sender, room=room)

    async def message(
        self,
        body: str,
        *,
        sender: UserID | str = DEFAULT_SENDER,
        room: RoomID | str = DEFAULT_ROOM,
        msgtype: str = "m.text",
        **content: Any,
    ) -> list[Sent]:
        """Deliver an ``m.room.message`` (more ``content`` keys as keywords); what it sent back."""
        message = {"msgtype": msgtype, "body": body, **content}
        raw = {"type": "m.room.message", "sender": sender, "room_id": room, "content": message}
        return await self.event(raw)

    async def event(self, raw: Mapping[str, Any]) -> list[Sent]:
        """Deliver any room event as it arrives from /sync; what the plugin sent meanwhile.

        ``room_id``, ``sender``, ``event_id`` and ``origin_server_ts`` are
        filled in when missing; ``type`` is required.
        """
        if "type" not in raw:
            raise ValueError("an event needs a type")
        self._events += 1
        data: dict[str, Any] = {
            "room_id": DEFAULT_ROOM,
            "sender": DEFAULT_SENDER,
            "event_id": f"$event{self._events}",
            "origin_server_ts": int(time.time() * 1000),
            "content": {},
            **raw,
        }
        event = parse_event(data)
        before = len(self.api.sent)
        # As in the bot's pipeline: the event seeds the transaction IDs of its answers.
        reset = origin.set(Origin(self.instance.name, event.event_id))
        try:
            for inst in (self.builtin, self.instance):
                if wants(inst, event):
                    await inst.handle(event)
        finally:
            origin.reset(reset)
        return self.api.sent[before:]

    async def restart(self) -> None:
        """Stop the plugin and start it again, as ``!reload`` does (same config and storage)."""
        await self.instance.stop(restarting=True)
        await self.instance.start()

    @contextmanager
    def _watching(self) -> Iterator[None]:
        self.instance.log.addHandler(self._failures)
        try:
            yield
        finally:
            self.instance.log.removeHandler(self._failures)


class HarnessOptions(TypedDict, total=False):
    """The keyword arguments of :func:`plugin_harness`."""

    config: Mapping[str, Any] | None
    instance: str | None
    tmp_path: Path | None
    database_url: str | None
    admins: Iterable[str]
    command_prefix: str
    mention_commands: bool
    bot_user_id: str
    handler_timeout: float
    start_time: datetime | None


class HarnessFactory(Protocol):
    """The ``plugin_harness`` fixture: starts a harness, stopped when the test ends."""

    async def __call__(
        self, plugin: Path | str | PluginSource, **options: Unpack[HarnessOptions]
    ) -> PluginHarness: ...


@asynccontextmanager
async def plugin_harness(
    plugin: Path | str | PluginSource,
    *,
    config: Mapping[str, Any] | None = None,
    instance: str | None = None,
    tmp_path: Path | None = None,
    database_url: str | None = None,
    admins: Iterable[str] = (),
    command_prefix: str = "!",
    mention_commands: bool = True,
    bot_user_id: str = DEFAULT_BOT,
    handler_timeout: float = 10.0,
    start_time: datetime | None = None,
) -> AsyncIterator[PluginHarness]:
    """A started instance of ``plugin`` (a plugin directory, or a found :class:`PluginSource`).

    ``config`` is the instance's config as a user would write it under
    ``plugins.<instance>.config``; a value the plugin's defaults do not allow
    raises :class:`~botkit.errors.PluginLoadError`, as ``botkit check`` would
    report it. The database is ``plugin.db`` in ``tmp_path`` (a temporary
    directory if not given), so two harnesses on the same ``tmp_path`` share
    the data; ``database_url`` names another (e.g. PostgreSQL). ``admins``
    plays ``bot.admins``. ``start_time`` is where the jobs' clock starts (now if
    not given). The instance is stopped on exit.
    """
    source = plugin if isinstance(plugin, PluginSource) else _read_source(Path(plugin))
    name = instance or source.id
    merged = _instance_config(source, name, config)
    async with AsyncExitStack() as stack:
        if database_url is None:
            if tmp_path is None:
                tmp_path = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            database_url = f"sqlite+aiosqlite:///{tmp_path / 'plugin.db'}"
        engine = create_engine(database_url)
        stack.push_async_callback(engine.dispose)
        http = RecordingAPI()
        stack.push_async_callback(http.session.close)
        api = ClientAPI(UserID(bot_user_id), api=http)
        settings = HostSettings(
            command_prefix=command_prefix,
            mention_commands=mention_commands,
            admins=frozenset(admins),
            handler_timeout=handler_timeout,
        )
        clock = FakeClock(start_time)
        host = build_host(api, engine, settings, clock=clock)
        inst = PluginInstance(name, source.id, source.load_class, merged, host)
        harness = PluginHarness(inst, http, clock)
        stack.push_async_callback(harness.http.close)
        stack.enter_context(harness._watching())
        stack.push_async_callback(harness.builtin.stop)
        await harness.builtin.start()
        stack.push_async_callback(inst.stop)
        await inst.start()
        yield harness


def _read_source(directory: Path) -> PluginSource:
    """The plugin in ``directory``, read as the bot reads a directory in ``plugin_dirs``."""
    manifest = directory / "plugin.yaml"
    if not manifest.is_file():
        raise PluginLoadError(str(directory), f"{manifest}: not found")

    def read(name: str) -> str | None:
        path = directory / name
        return path.read_text(encoding="utf-8") if path.is_file() else None

    return read_manifest(manifest.read_text(encoding="utf-8"), str(manifest), read)


def _instance_config(
    source: PluginSource, name: str, config: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The plugin's defaults merged with ``config``, checked as ``botkit check`` does."""
    defaults = load_defaults(source.config_text, source.config_file or source.manifest_file)
    typed = source.load_class().config_class is not None
    merged, problems = merge_config(
        defaults,
        dict(config or {}),
        file="plugin_harness(config=...)",
        key_prefix="config",
        typed=typed,
    )
    if problems:
        reasons = "; ".join(f"{p.key}: {p.reason}" for p in problems)
        raise PluginLoadError(source.id, f"instance {name!r} has a bad config: {reasons}", problems)
    return merged
