"""The body of ``GET /_botkit/health``: what the bot is doing, and each plugin's state."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .builtin import BUILTIN
from .instance import InstanceState, PluginInstance
from .pipeline import Pipeline

if TYPE_CHECKING:
    from mautrix.client import ClientAPI

    from .appservice import Appservice
    from .crypto.encryption import Encryption
    from .lease import Lease
    from .sync import Syncer

__all__ = ["Reporting", "health_body"]


class Reporting(Protocol):
    """What the health page reads of :class:`botkit.bot.Bot` (which imports this module)."""

    syncer: Syncer | None
    appservice: Appservice | None
    pipeline: Pipeline
    instances: dict[str, PluginInstance]
    lease: Lease | None
    starting: str | None
    api: ClientAPI | None

    @property
    def token_problem(self) -> str | None: ...

    encryption: Encryption | None
    started_at: float


def health_body(bot: Reporting) -> dict[str, Any]:
    """The body of ``GET /_botkit/health``.

    An instance's ``state`` is ``degraded`` while it runs but has events
    waiting for a retry or dead letters; ``degraded`` lists every instance
    that is not simply running.
    """
    sync = bot.syncer.health() if bot.syncer else {"ready": False, "connected": False}
    if bot.appservice is not None:
        sync = bot.appservice.health()
    plugins = _plugins(bot.instances, bot.pipeline)
    return {
        **sync,
        "role": bot.lease.role if bot.lease is not None else "single",
        "starting": bot.starting,
        "user_id": bot.api.mxid if bot.api else None,
        "token_problem": bot.token_problem,
        "encryption": bot.encryption.health() if bot.encryption else None,
        "uptime": time.time() - bot.started_at,
        "degraded": sorted(n for n, p in plugins.items() if p["state"] != "running"),
        "plugins": plugins,
    }


def _plugins(instances: Mapping[str, PluginInstance], pipeline: Pipeline) -> dict[str, Any]:
    retries = pipeline.retries
    plugins = {}
    for name, inst in instances.items():
        if name == BUILTIN:
            continue
        retrying, dead = retries.count(name), retries.dead_letters.get(name, 0)
        state = inst.state.value
        if inst.state is InstanceState.RUNNING and (retrying or dead):
            state = "degraded"
        plugins[name] = {
            "plugin": inst.plugin_id,
            "state": state,
            "error": inst.error,
            "retrying": retrying,
            "dead_letters": dead,
            "last_failure": retries.last_failure.get(name) if retrying or dead else None,
        }
    return plugins
