"""Commands every bot has: ``!help`` and, for admins, ``!reload``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Protocol

from .commands import Rest
from .context import CommandContext
from .errors import BotkitError, CommandError
from .handlers import command
from .instance import Host, PluginInstance
from .plugin import Plugin
from .table import BoundCommand

__all__ = ["BUILTIN", "Builtin", "Owner", "builtin_instance"]

BUILTIN = "botkit"
"""The instance name of the built-in commands."""


class Owner(Protocol):
    """What the built-in commands need of the bot (or of the test harness)."""

    @property
    def instances(self) -> Mapping[str, PluginInstance]:
        """Every instance by name, the built-in one included."""
        ...

    async def reload_instance(self, name: str) -> str:
        """Reload instance ``name``; a summary for the admin who asked."""
        ...


def builtin_instance(owner: Owner, host: Host) -> PluginInstance:
    """The instance of the built-in commands for ``owner``'s instances (not started)."""
    # A class per owner: two bots (or a bot and a harness) in one process stay apart.
    cls = type("Builtin", (Builtin,), {"owner": owner})
    return PluginInstance(BUILTIN, BUILTIN, lambda: cls, {}, host)


class Builtin(Plugin):
    """Help for every loaded plugin's commands, and reloading plugins."""

    owner: ClassVar[Owner]

    def _commands(self) -> list[tuple[str, BoundCommand]]:
        found: dict[str, tuple[str, BoundCommand]] = {}
        for name, inst in self.owner.instances.items():
            for cmd in inst.table.unique_commands():
                found.setdefault(cmd.spec.name, (name, cmd))
        return [found[k] for k in sorted(found)]

    @command("help", help="List the commands, or show how to use one")
    async def help(self, ctx: CommandContext, topic: Rest = "") -> None:
        """List the commands, or show how to use one."""
        prefix = self.owner.instances[BUILTIN].host.command_prefix
        topic = topic.strip().removeprefix(prefix).lower()
        commands = self._commands()
        if topic:
            matches = [
                (inst, c)
                for inst, c in commands
                if c.spec.name == topic
                or c.spec.name.startswith(topic + " ")
                or topic in c.spec.aliases
            ]
            if not matches:
                raise CommandError(f"There is no command {prefix}{topic}. Try {prefix}help.")
            lines = []
            for _, c in matches:
                aliases = ", ".join(prefix + a for a in c.spec.aliases)
                lines.append(f"**{c.usage(prefix)}**: {c.spec.help}")
                if aliases:
                    lines.append(f"Also: {aliases}")
            await ctx.reply("\n\n".join(lines))
            return
        lines = [f"* `{c.usage(prefix)}`: {c.spec.help}" for _, c in commands]
        await ctx.reply("Commands:\n\n" + "\n".join(lines))

    @command("reload", help="Reload a plugin instance's code and config", allow="admins")
    async def reload(self, ctx: CommandContext, instance: str) -> None:
        """Reload a plugin instance's code and config."""
        if instance == BUILTIN:
            raise CommandError("The built-in commands cannot be reloaded.")
        try:
            summary = await self.owner.reload_instance(instance)
        except BotkitError as e:
            raise CommandError(f"Reload failed: {e}") from e
        await ctx.reply(summary, markdown=False)
