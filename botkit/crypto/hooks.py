"""Telling plugins about encrypted events they will never read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..events import parse_event
from ..instance import PluginInstance

__all__ = ["tell_undecryptable"]


async def tell_undecryptable(
    instances: Iterable[PluginInstance], raw: dict[str, Any], reason: str
) -> None:
    """Call :meth:`~botkit.plugin.Plugin.on_undecryptable` of each instance watching the room."""
    try:
        event = parse_event(raw)
    except Exception:
        return  # nothing a plugin could use
    for inst in list(instances):
        plugin = inst.plugin
        if plugin is None:
            continue
        try:
            if plugin.watches(event.room_id):
                await plugin.on_undecryptable(event, reason)
        except Exception:
            inst.host.metrics.handler_errors.inc(inst.name)
            inst.log.exception("on_undecryptable(%s) failed", event.event_id)
