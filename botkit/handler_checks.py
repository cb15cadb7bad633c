"""What a handler's signature must be, checked when its plugin loads.

A mistake here would otherwise show only when a message arrives (a plain ``def``
fails on every one; a command without its context parameter answers "Too many
arguments"), so :meth:`botkit.table.HandlerTable.collect` rejects the plugin
instead, naming the method and what to write.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from .context import MessageContext
from .handlers import CommandSpec, EventSpec, HandlerSpec, PassiveSpec, RouteSpec

__all__ = ["check_handler"]

_SHAPES: dict[type, str] = {
    CommandSpec: "async def {name}(self, ctx: CommandContext, <arguments>)",
    PassiveSpec: "async def {name}(self, ctx: MessageContext, match: re.Match[str])",
    EventSpec: "async def {name}(self, evt: Event)",
    RouteSpec: "async def {name}(self, request: web.Request) -> web.StreamResponse",
}


def check_handler(attr: str, func: Callable[..., Any], spec: HandlerSpec) -> None:
    """Raise ``TypeError`` naming ``attr`` when ``func`` cannot handle what ``spec`` sends."""
    shape = _SHAPES[type(spec)].format(name=attr)
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"{attr}: a handler must be 'async def': {shape}")
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as e:  # a name the annotations use is not defined (or not imported)
        raise TypeError(f"{attr}: cannot read its annotations: {e}") from None
    params = list(inspect.signature(func).parameters.values())[1:]  # after self
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes = 2 if isinstance(spec, PassiveSpec) else 1
    spread = any(p.kind is p.VAR_POSITIONAL for p in params)
    if len(positional) < takes and not spread:
        raise TypeError(f"{attr}: missing the parameter{'s' * (takes > 1)} botkit passes: {shape}")
    required = [p for p in positional[takes:] if p.default is p.empty]
    if required and not isinstance(spec, CommandSpec):
        raise TypeError(f"{attr}: {required[0].name!r} is never passed: {shape}")
    if isinstance(spec, CommandSpec | PassiveSpec) and positional:
        ctx = hints.get(positional[0].name)
        if ctx is not None and not (isinstance(ctx, type) and issubclass(ctx, MessageContext)):
            raise TypeError(
                f"{attr}: the first parameter after self gets the context, not an "
                f"argument ({positional[0].name}: {getattr(ctx, '__name__', ctx)}): {shape}"
            )
