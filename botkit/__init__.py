"""botkit: a Matrix bot framework. One connection, many plugins, no lost or repeated events.

A plugin author needs only these names::

    from botkit import CommandContext, Plugin, Rest, command

See :mod:`botkit.plugin` for the contract and the README for a walk-through.
"""

from __future__ import annotations

from .client import PluginClient
from .commands import Rest
from .context import CommandContext, MessageContext
from .errors import (
    BotkitError,
    CommandError,
    ConfigError,
    PluginLoadError,
    SendError,
    ServiceUnavailable,
    UsageError,
)
from .handlers import ANY_EVENT, command, on, passive, route
from .plugin import Plugin
from .scheduler import Scheduler
from .services import ServiceKey, Services
from .storage import SchemaTooNew, Storage
from .tables import Migration, Tables
from .web import PluginWeb

__all__ = [
    "ANY_EVENT",
    "BotkitError",
    "CommandContext",
    "CommandError",
    "ConfigError",
    "MessageContext",
    "Migration",
    "Plugin",
    "PluginClient",
    "PluginLoadError",
    "PluginWeb",
    "Rest",
    "Scheduler",
    "SchemaTooNew",
    "SendError",
    "ServiceKey",
    "ServiceUnavailable",
    "Services",
    "Storage",
    "Tables",
    "UsageError",
    "command",
    "on",
    "passive",
    "route",
]
