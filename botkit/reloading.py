"""Reloading plugin instances (``!reload``, SIGHUP) without ever stopping a working one.

A reload whose config for an instance is broken leaves that instance running
as it was and says why in the log; so does a config that passes the checks but
makes the plugin's ``start()`` fail (a time zone that does not exist): the
instance is started again with its previous config. An instance that starts
(again) gets its pending events retried at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from .builtin import BUILTIN
from .config import BotConfig, load_config
from .errors import BotkitError, ConfigError, PluginLoadError
from .instance import Host, InstanceState, PluginInstance
from .limits import CommandLimiter
from .loader import InstancePlan, PluginSource, check_instance, discover
from .pipeline import Pipeline
from .upgrades import RoomUpgrades

__all__ = ["Bot", "reload_all", "reload_instance", "restart"]

log = logging.getLogger("botkit")


class Bot(Protocol):
    """What reloading needs of :class:`botkit.bot.Bot` (which imports this module)."""

    config: BotConfig
    sources: dict[str, PluginSource]
    instances: dict[str, PluginInstance]
    host: Host
    upgrades: RoomUpgrades
    pipeline: Pipeline

    def _plan(self, config: BotConfig) -> list[InstancePlan]: ...

    async def _start_plans(self, plans: list[InstancePlan]) -> None: ...

    async def _start_instance(self, inst: PluginInstance) -> None: ...


async def restart(
    bot: Bot, inst: PluginInstance, loader: Callable[[], type[Any]], config: dict[str, Any]
) -> None:
    """Restart ``inst`` with a new plugin class and config; back to the old on failure.

    The error is logged, and raised for ``!reload`` to show.
    """
    old, was_running = (inst.load_class, inst.config), inst.state is InstanceState.RUNNING
    await inst.stop(restarting=True)
    inst.load_class, inst.config = loader, config
    try:
        await inst.start()
    except PluginLoadError as e:
        if not was_running:
            log.error("%s", e, exc_info=e.__cause__)
            raise
        log.error("%s; %s goes on with its previous config", e, inst.name)
        await inst.stop(restarting=True)
        inst.load_class, inst.config = old
        await bot._start_instance(inst)
        raise
    bot.pipeline.retries.wake(inst.name)


async def reload_instance(bot: Bot, name: str) -> str:
    """Re-read the config file and re-import one instance's plugin; returns a summary."""
    config = load_config(bot.config.path)
    if name not in config.plugins or not config.plugins[name].enabled:
        raise BotkitError(f"no enabled plugin instance {name!r} in {config.path}")
    bot.sources, _ = discover(config.plugin_dirs)
    source = bot.sources.get(config.plugins[name].plugin)
    if source is None:
        raise BotkitError(f"plugin {config.plugins[name].plugin!r} is not found")
    try:
        # Only this instance's plugin is imported again; the others keep running as they are.
        plan = check_instance(config, name, source)
    except PluginLoadError as e:
        raise BotkitError("; ".join(str(p) for p in e.problems) or str(e)) from e
    inst = bot.instances.get(name)
    if inst is None:
        followed = bot.upgrades.follow(plan.config)  # rooms upgraded since it was written
        inst = PluginInstance(name, plan.source.id, plan.loader, followed, bot.host)
        bot.instances[name] = inst
        await inst.start()
        bot.pipeline.retries.wake(name)
    else:
        await restart(bot, inst, plan.loader, bot.upgrades.follow(plan.config))
    return f"{name} reloaded (plugin {plan.source.id} {plan.source.version})"


async def reload_all(bot: Bot) -> None:
    """Re-read the config (SIGHUP): restart changed instances, add new, stop removed."""
    try:
        config = load_config(bot.config.path)
    except ConfigError as e:
        log.error("config not reloaded:\n%s", e)
        return
    bot.config = config
    bot.host.limits = CommandLimiter(config.bot.limits, frozenset(config.bot.admins))
    plans = bot._plan(config)
    wanted = {p.name: p for p in plans}
    configured = {n for n, p in config.plugins.items() if p.enabled}
    for name in [n for n in bot.instances if n != BUILTIN and n not in wanted]:
        if name in configured:
            # Its entry is there but cannot be used (the reason was logged by
            # _plan): a typo must not stop an instance that works.
            log.error("%s keeps running with its previous config (see the errors above)", name)
            continue
        await bot.instances.pop(name).stop()
        log.info("stopped %s (removed from the config)", name)
    for plan in plans:
        inst = bot.instances.get(plan.name)
        if inst is None:
            await bot._start_plans([plan])
            continue
        with contextlib.suppress(PluginLoadError):  # logged; the old one runs on
            await restart(bot, inst, plan.loader, bot.upgrades.follow(plan.config))
    log.info("config reloaded from %s", config.path)
