"""The bots the load is offered to, and how each is started against the fake homeserver.

``raw`` is :mod:`bench.raw_client`, the no-framework limit. ``botkit`` is ``python -m
botkit run`` with a generated config: the ``pong`` test plugin, plus the project's
``echo`` and ``twim`` plugins when they are there to load (their absence is reported).
"""

from __future__ import annotations

import json
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mautrix.types import DeviceID, UserID

from botkit.loader import discover
from botkit.testing.botconfig import write_bot_config
from botkit.testing.synapse import MatrixAccount, free_ports

__all__ = ["BOTS", "BotLaunch", "Hello", "botkit_plugins", "launch", "plugin_states"]

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIRS = [ROOT / "tests" / "core" / "plugins", ROOT / "plugins"]
OPTIONAL_PLUGINS = ("echo", "twim")
BOTS = ("raw", "botkit")


@dataclass(frozen=True)
class Hello:
    """What the fake homeserver says when it is up: where, and who the bot is."""

    url: str
    user_id: str
    access_token: str
    room_id: str

    def account(self) -> MatrixAccount:
        """The bot's account on that server, for :func:`write_bot_config`."""
        return MatrixAccount(UserID(self.user_id), self.access_token, DeviceID(""), "", self.url)


@dataclass(frozen=True)
class BotLaunch:
    """A command line to run, and for botkit where its health page will be."""

    argv: list[str]
    health_url: str | None = None


def botkit_plugins() -> tuple[list[str], list[str]]:
    """The plugins the botkit bot runs, and notes on the optional ones left out."""
    sources, problems = discover(PLUGIN_DIRS)
    plugins, notes = ["pong"], []
    for name in OPTIONAL_PLUGINS:
        if name in sources:
            plugins.append(name)
        else:
            why = [str(p) for p in problems if name in str(p)]
            notes.append(f"{name} not loaded: {'; '.join(why) or 'no plugin.yaml yet'}")
    return plugins, notes


def launch(bot: str, hello: Hello, workdir: Path, per_sync: int) -> BotLaunch:
    """How to start ``bot`` against the server ``hello`` describes, in ``workdir``.

    Both bots ask for a timeline limit of at least ``per_sync``, so that a batch
    arrives whole rather than as a limited timeline and a ``/messages`` call.
    """
    limit = max(50, per_sync)
    if bot == "raw":
        argv = [sys.executable, "-m", "bench.raw_client", "--base-url", hello.url]
        argv += ["--user-id", hello.user_id, "--token", hello.access_token]
        return BotLaunch([*argv, "--timeline-limit", str(limit)])
    if bot != "botkit":
        raise ValueError(f"unknown bot {bot!r}; known: {', '.join(BOTS)}")
    port = free_ports()[0]
    plugins, _ = botkit_plugins()
    config = write_bot_config(
        workdir / "config.yaml",
        account=hello.account(),
        plugins=plugins,
        plugin_dirs=[str(d) for d in PLUGIN_DIRS],
        web={"port": port},
        sync={"timeout": 30, "timeline_limit": limit},
        logging={"level": "WARNING"},
    )
    argv = [sys.executable, "-m", "botkit", "run", "-c", str(config)]
    return BotLaunch(argv, f"http://127.0.0.1:{port}/_botkit/health")


def plugin_states(health_url: str) -> dict[str, str]:
    """Each plugin instance's state from a running bot's health page ({} if unreachable)."""
    try:
        with urllib.request.urlopen(health_url, timeout=5) as resp:
            health: Any = json.load(resp)
    except (OSError, ValueError):
        return {}
    plugins = health.get("plugins", {}) if isinstance(health, dict) else {}
    return {name: str(info.get("state")) for name, info in plugins.items()}
