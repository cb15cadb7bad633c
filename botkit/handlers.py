"""Decorators that mark a plugin's methods as handlers.

They only mark: each attaches a spec to the function under one attribute,
``botkit_handlers``. The host collects the marks when the plugin starts and
drops exactly those when it stops. Nothing is registered at import time.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from mautrix.types import EventType, UserID

__all__ = [
    "ANY_EVENT",
    "Access",
    "CommandSpec",
    "EventSpec",
    "HandlerSpec",
    "PassiveSpec",
    "RouteSpec",
    "command",
    "marks_of",
    "on",
    "passive",
    "route",
]

MARK = "botkit_handlers"
ANY_EVENT = "*"
"""Pass to :func:`on` to receive every room event."""

Access = Literal["everyone", "admins"] | Sequence[str] | Callable[[Any, UserID], bool]
"""Who may run a command: everyone, ``bot.admins``, a list of user IDs, or a
predicate called with the plugin and the sender (for lists kept in the plugin's config)."""

F = TypeVar("F", bound=Callable[..., Awaitable[None]])


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command: ``name`` may hold spaces for subcommands (``"twim status"``)."""

    name: str
    aliases: tuple[str, ...]
    help: str
    allow: Access


@dataclass(frozen=True, slots=True)
class PassiveSpec:
    """A handler for messages whose body matches ``pattern`` (searched, not anchored):
    with ``multiple``, given every match; with ``commands``, also for the instance's
    own commands."""

    pattern: re.Pattern[str]
    multiple: bool = False
    commands: bool = False


@dataclass(frozen=True, slots=True)
class EventSpec:
    """A handler for room events of one type (or :data:`ANY_EVENT`)."""

    event_type: str


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A web route: ``method`` and ``path`` as :meth:`botkit.web.PluginWeb.add_route` takes them."""

    method: str
    path: str


HandlerSpec = CommandSpec | PassiveSpec | EventSpec | RouteSpec


M = TypeVar("M", bound=Callable[..., Any])


def _mark(func: M, spec: HandlerSpec) -> M:
    marks: list[HandlerSpec] = list(getattr(func, MARK, ()))
    marks.append(spec)
    setattr(func, MARK, tuple(marks))
    return func


def marks_of(func: object) -> tuple[HandlerSpec, ...]:
    """The handler specs attached to ``func`` (empty when it is no handler)."""
    marks = getattr(func, MARK, ())
    return marks if isinstance(marks, tuple) else ()


def command(
    name: str,
    *,
    aliases: Sequence[str] = (),
    help: str | None = None,
    allow: Access = "everyone",
) -> Callable[[F], F]:
    """Mark ``async def f(self, ctx: CommandContext, *args)`` as the command ``name``.

    The parameters after ``ctx`` are the command's arguments, parsed from the
    message by their annotations (``str``, ``int``, ``float``, ``bool`` (yes/no),
    ``UserID``, ``RoomID``, or :data:`botkit.Rest`
    for the rest of the line); parameters with defaults are optional. ``help``
    defaults to the first line of the docstring.
    """
    words = name.split()
    if not words:
        raise ValueError("a command needs a name")

    def decorate(func: F) -> F:
        text = help if help is not None else (func.__doc__ or "").strip().split("\n")[0]
        spec = CommandSpec(" ".join(w.lower() for w in words), tuple(aliases), text, allow)
        return _mark(func, spec)

    return decorate


def passive(
    pattern: str | re.Pattern[str],
    *,
    flags: int = 0,
    multiple: bool = False,
    commands: bool = False,
) -> Callable[[F], F]:
    """Mark ``async def f(self, ctx: MessageContext, match: re.Match[str])``.

    Runs once for every message (not notices, not the bot's own) whose body
    matches. With ``multiple=True`` it gets every match, in order, as
    ``matches: list[re.Match[str]]`` (``bob++ carol++`` gives two). A message
    that runs one of this plugin's commands (``!karma bob++``) is left to the
    command, unless ``commands=True``.
    """
    compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)

    def decorate(func: F) -> F:
        return _mark(func, PassiveSpec(compiled, multiple, commands))

    return decorate


def on(event_type: EventType | str) -> Callable[[F], F]:
    """Mark ``async def f(self, evt: Event)`` to receive room events of ``event_type``.

    Messages, reactions, redactions, edits (messages with an ``m.replace``
    relation) and membership changes all arrive this way; ``ANY_EVENT`` gets all.
    """
    key = event_type.t if isinstance(event_type, EventType) else str(event_type)

    def decorate(func: F) -> F:
        return _mark(func, EventSpec(key))

    return decorate


R = TypeVar("R", bound=Callable[..., Awaitable[Any]])


class _Routes:
    """The :data:`route` decorators: ``@route.get("user/{name}")`` and friends."""

    def __call__(self, method: str, path: str) -> Callable[[R], R]:
        """Mark ``async def f(self, request: web.Request) -> web.StreamResponse`` as the
        handler of ``method path`` under the instance's prefix (``"*"``: any method)."""

        def decorate(func: R) -> R:
            return _mark(func, RouteSpec(method.upper(), path))

        return decorate

    def get(self, path: str) -> Callable[[R], R]:
        """``GET path`` (and ``HEAD``)."""
        return self("GET", path)

    def post(self, path: str) -> Callable[[R], R]:
        """``POST path``."""
        return self("POST", path)

    def put(self, path: str) -> Callable[[R], R]:
        """``PUT path``."""
        return self("PUT", path)

    def delete(self, path: str) -> Callable[[R], R]:
        """``DELETE path``."""
        return self("DELETE", path)


route = _Routes()
"""Mark a plugin method as a web route, served under ``/_botkit/plugins/<instance>/``.

::

    @route.get("user/{name}")
    async def user(self, request: web.Request) -> web.Response:
        return web.Response(text=request.match_info["name"])

The host adds the route when the instance starts and removes it when it stops;
a path that can never be reached is a load error naming the method.
"""
