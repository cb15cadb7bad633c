"""The plugin contract.

A plugin is a class deriving from :class:`Plugin`. The host creates one object
per configured instance, fills in the annotated collaborators below, runs the
storage migrations, collects the handlers marked with :mod:`botkit.handlers`
and calls :meth:`Plugin.start`. On stop it calls :meth:`Plugin.stop` and then
removes exactly what the instance registered: handlers, web routes, jobs and
services. Reloading is stop, re-import, start.

.. code-block:: python

    class Hello(Plugin):
        @command("hello")
        async def hello(self, ctx: CommandContext, name: Rest = "world") -> None:
            await ctx.reply(f"Hello, {name}!")
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from mautrix.types import Event, RoomID

from .client import PluginClient
from .errors import Problem
from .metrics import InstanceMetrics
from .scheduler import Scheduler
from .services import Services
from .storage import RawStep, Storage
from .tables import Tables
from .web import PluginWeb

__all__ = ["Plugin"]


class Plugin:
    """Base class of every plugin; see the module docstring for the life cycle."""

    migrations: ClassVar[Sequence[RawStep]] = ()
    """Schema steps written as SQL text, oldest first, for a plugin without ``tables``.

    A plugin with Core tables keeps its migrations on its :class:`~botkit.tables.Tables`.
    """

    ordered: ClassVar[bool] = True
    """Whether this plugin handles a room's events one after the other, in order.

    Ordered handling keeps the plugin's answers in the order of the messages
    that caused them. A plugin whose answers stand alone (a pingbot) may set it
    to False: a room's events then run up to 16 at a time, which a busy room
    needs to be answered at the rate it talks.
    """

    emote_commands: ClassVar[bool] = False
    """Whether ``m.emote`` messages (``/me !roll``) may run this plugin's commands.

    Commands come from ``m.text`` only, as in maubot; notices never run any.
    """

    config_class: ClassVar[type[Any] | None] = None
    """The class ``self.config`` is built as: an attrs class or a dataclass whose fields
    are the keys of the plugin's ``config.yaml`` (see :mod:`botkit.config.typed`).

    Its validators and cross-field rules run at ``botkit check`` and at each start;
    declare ``config: MyConfig`` next to it for the type checker. None: ``self.config``
    is the merged ``dict[str, Any]``, checked only against the types of the defaults.
    """

    catchup_age: ClassVar[float | None] = None
    """How old (seconds) an event may be and still reach this plugin after downtime.

    None: the bot's ``sync.max_catchup_age``. A command bot should not answer
    hour-old commands; a collector (twim) wants everything since it stopped.
    """

    instance: str
    """This instance's name from the config (``plugins.<name>``)."""
    client: PluginClient
    """The bot's Matrix connection; what is sent through it is attributed to this instance."""
    config: Any
    """The instance's config: the plugin's defaults with the user's values applied, as
    an instance of :attr:`config_class` (a ``dict[str, Any]`` without one)."""
    storage: Storage
    """The database, with table names prefixed for this instance."""
    tables: Tables
    """This instance's tables. A plugin narrows the annotation to its own
    :class:`~botkit.tables.Tables` subclass (``tables: KarmaTables``); the host binds
    that class to the instance's prefix and runs its migrations before :meth:`start`."""
    log: logging.Logger
    """A logger named ``botkit.plugin.<instance>``."""
    web: PluginWeb
    """This instance's HTTP routes, served under ``/_botkit/plugins/<instance>/``."""
    scheduler: Scheduler
    """Periodic jobs, cancelled when the instance stops."""
    services: Services
    """Services this instance offers to others, and the ones it uses."""
    admins: frozenset[str]
    """``bot.admins`` from the main config."""
    metrics: InstanceMetrics
    """Counters of the plugin's own, served with the bot's at ``/_botkit/metrics``."""

    @classmethod
    def check_config(cls, config: Any) -> list[Problem]:
        """Problems ``botkit check`` reports that should not keep the instance from running.

        Called by ``botkit check`` alone, with the built config (see :attr:`config`), for
        what the plugin can also report when it is used: a template file it renders,
        say. Rules of the config itself belong in :attr:`config_class`. A problem whose
        ``file`` is empty is about the instance's own config (``key`` below
        ``plugins.<name>.config``); one with a file names another file the config points
        to. The default finds none.
        """
        return []

    def watches(self, room_id: RoomID) -> bool:
        """Whether this instance's event and passive handlers want ``room_id``'s events.

        The host asks before it queues an event, so a plugin that listens in a few
        rooms (twim) costs nothing in the others. Commands reach the plugin in every
        room either way. The default watches every room. It runs for every event:
        it must be quick, and an exception counts as True.
        """
        return True

    async def start(self) -> None:
        """Called once the collaborators are set and the migrations ran."""

    async def stop(self) -> None:
        """Called before the host removes what the instance registered."""

    async def on_room_upgrade(self, old: RoomID, new: RoomID) -> None:
        """The room ``old`` was upgraded to ``new`` and the bot joined it.

        Called once per upgrade (again only after a crash at the wrong moment, so
        make it idempotent), after the instance's config followed the room (see
        :mod:`botkit.upgrades`). Move per-room data here; the default does nothing.
        """

    async def on_undecryptable(self, event: Event, reason: str) -> None:
        """An encrypted ``event`` in a room this instance watches will never be readable.

        Its room key did not come within ``encryption.key_wait`` and
        ``encryption.key_request_wait`` (or the message is broken): ``event`` is
        still the ``m.room.encrypted`` one. Called once per such event (see
        :mod:`botkit.crypto`); the default does nothing.
        """
