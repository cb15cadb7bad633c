"""The handlers one plugin instance registered, collected from its marks."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .commands import MAX_DEPTH, Param, format_usage, read_params
from .handler_checks import check_handler
from .handlers import CommandSpec, EventSpec, PassiveSpec, RouteSpec, marks_of
from .web import PluginWeb

__all__ = ["BoundCommand", "BoundPassive", "BoundRoute", "HandlerTable"]


@dataclass(frozen=True, slots=True)
class BoundCommand:
    """A command of a running instance, ready to call."""

    spec: CommandSpec
    func: Callable[..., Awaitable[None]]
    params: list[Param]

    def usage(self, prefix: str) -> str:
        """``!name <arg> [opt]``."""
        return format_usage(prefix + self.spec.name, self.params)


@dataclass(frozen=True, slots=True)
class BoundPassive:
    """A passive handler of a running instance, ready to call."""

    spec: PassiveSpec
    func: Callable[..., Awaitable[None]]

    def argument(self, body: str, *, command: bool) -> re.Match[str] | list[re.Match[str]] | None:
        """What the handler gets for a message (a match, or all of them); None: not run.

        ``command``: the message runs one of the instance's commands.
        """
        if command and not self.spec.commands:
            return None
        if self.spec.multiple:
            return list(self.spec.pattern.finditer(body)) or None
        return self.spec.pattern.search(body)


@dataclass(frozen=True, slots=True)
class BoundRoute:
    """A web route of a running instance (see :data:`botkit.handlers.route`)."""

    spec: RouteSpec
    func: Callable[..., Awaitable[Any]]

    def add_to(self, web: PluginWeb) -> None:
        """Serve this route from ``web``; ``ValueError`` when it can never be reached."""
        if self.spec.method == "GET":
            web.add_get(self.spec.path, self.func)
        else:
            web.add_route(self.spec.method, self.spec.path, self.func)


@dataclass
class HandlerTable:
    """Commands by name and alias, passive patterns, and event handlers by type."""

    commands: dict[str, BoundCommand] = field(default_factory=dict)
    passives: list[BoundPassive] = field(default_factory=list)
    events: dict[str, list[Callable[..., Awaitable[None]]]] = field(default_factory=dict)
    routes: list[BoundRoute] = field(default_factory=list)
    _groups: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def collect(cls, plugin: Any) -> HandlerTable:
        """Bind every marked method of ``plugin``.

        Raises ``TypeError`` naming the method when a mark cannot work (a plain
        ``def``, a signature botkit cannot call or parse, a name used twice, a route
        that can never be reached), so that the loader rejects the plugin when it
        loads rather than when it is used.
        """
        table = cls()
        # The routes are tried on a router of their own: the instance's gets them
        # in add_routes(), once the whole table is known to be good.
        trial = PluginWeb("trial")
        for attr in dir(type(plugin)):
            func = getattr(type(plugin), attr, None)
            for spec in marks_of(func):
                bound = getattr(plugin, attr)
                check_handler(attr, func, spec)  # type: ignore[arg-type]
                if isinstance(spec, CommandSpec):
                    try:
                        params = read_params(func)  # type: ignore[arg-type]
                    except TypeError as e:
                        raise TypeError(f"command {spec.name!r} ({attr}): {e}") from None
                    if len(spec.name.split()) > MAX_DEPTH:
                        raise TypeError(
                            f"command {spec.name!r} ({attr}): a name has at most {MAX_DEPTH} words"
                        )
                    command = BoundCommand(spec, bound, params)
                    for name in (spec.name, *spec.aliases):
                        if name in table.commands:
                            raise TypeError(f"command name {name!r} is used twice ({attr})")
                        table.commands[name] = command
                elif isinstance(spec, PassiveSpec):
                    table.passives.append(BoundPassive(spec, bound))
                elif isinstance(spec, EventSpec):
                    table.events.setdefault(spec.event_type, []).append(bound)
                elif isinstance(spec, RouteSpec):
                    route = BoundRoute(spec, bound)
                    try:
                        route.add_to(trial)
                    except ValueError as e:
                        raise TypeError(f"{attr}: {e}") from None
                    table.routes.append(route)
        return table

    def add_routes(self, web: PluginWeb) -> None:
        """Serve the table's routes from the instance's ``web`` (emptied when it stops)."""
        for route in self.routes:
            route.add_to(web)

    @property
    def wants_messages(self) -> bool:
        """Whether messages must reach this instance for commands or passive handlers."""
        return bool(self.commands or self.passives)

    def unique_commands(self) -> list[BoundCommand]:
        """Each command once (aliases folded), sorted by name."""
        seen: dict[str, BoundCommand] = {c.spec.name: c for c in self.commands.values()}
        return [seen[name] for name in sorted(seen)]

    def find(self, words: Sequence[str]) -> tuple[BoundCommand | None, int]:
        """The command named by the most of the first ``words`` and how many it used.

        ``("karma", "top", "week", "5")`` finds ``karma top week`` before ``karma top``
        and ``karma``: subcommands nest to any depth.
        """
        for used in range(len(words), 0, -1):
            found = self.commands.get(" ".join(words[:used]))
            if found is not None:
                return found, used
        return None, 0

    def _group_names(self) -> frozenset[str]:
        if self._groups is None:  # asked for every message that names no command
            self._groups = frozenset(
                " ".join(words[:n])
                for words in (name.split(" ") for name in self.commands)
                for n in range(1, len(words))
            )
        return self._groups

    def has_group(self, word: str) -> bool:
        """Whether ``word`` starts subcommands (``!twim`` for ``!twim status``)."""
        return word in self._group_names()

    def subcommands(self, words: Sequence[str]) -> list[BoundCommand]:
        """The commands below the deepest group ``words`` name (``!karma top`` lists
        ``karma top week`` and ``karma top month``), sorted by name."""
        groups = self._group_names()
        group = next(
            (g for n in range(len(words), 0, -1) if (g := " ".join(words[:n])) in groups), ""
        )
        return [c for c in self.unique_commands() if c.spec.name.startswith(group + " ")]
