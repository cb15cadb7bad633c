"""botkit: a Matrix bot framework. One connection, many plugins, no lost or repeated events."""

from __future__ import annotations

from .errors import (
    BotkitError,
    CommandError,
    ConfigError,
    PluginLoadError,
    SendError,
    ServiceUnavailable,
    UsageError,
)

__all__ = [
    "BotkitError",
    "CommandError",
    "ConfigError",
    "PluginLoadError",
    "SendError",
    "ServiceUnavailable",
    "UsageError",
]
