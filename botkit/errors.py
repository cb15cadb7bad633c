"""Every error botkit raises on purpose.

::

    BotkitError
     ├── ConfigError          a config file that cannot be used (lists every problem)
     ├── PluginLoadError      a plugin that cannot be loaded: bad manifest, code or config
     ├── ServiceUnavailable   (also LookupError) a service no running plugin provides
     ├── SchemaTooNew         (botkit.storage; also RuntimeError) a database newer than the code
     ├── CommandError         a command invoked wrongly; its message is shown to the user
     │    ├── UsageError      arguments that do not fit the command's signature
     │    └── MarkdownTooLong (botkit.markdown; also ValueError) text too long to format
     └── SendError            a message that could not be sent after every retry
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BotkitError",
    "CommandError",
    "ConfigError",
    "PluginLoadError",
    "Problem",
    "SendError",
    "ServiceUnavailable",
    "UsageError",
]


class BotkitError(Exception):
    """Root of botkit's own exceptions."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file: where it is and why it is wrong."""

    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.reason}"


class ConfigError(BotkitError):
    """A config file that cannot be used; ``problems`` lists each thing wrong."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PluginLoadError(BotkitError):
    """A plugin that cannot be loaded; the message names the plugin and the cause."""

    def __init__(self, plugin: str, reason: str, problems: Sequence[Problem] = ()) -> None:
        self.plugin = plugin
        self.reason = reason
        self.problems = list(problems)
        super().__init__(f"plugin {plugin!r}: {reason}")


class ServiceUnavailable(BotkitError, LookupError):
    """No running plugin instance provides the service asked for."""


class CommandError(BotkitError):
    """A command that cannot be carried out; the message is shown to the user."""


class UsageError(CommandError):
    """Arguments that do not fit the command; the message includes its usage."""


class SendError(BotkitError):
    """A message that could not be sent after every retry."""
