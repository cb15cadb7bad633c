"""Writing a botkit config file for a test account (used by fixtures and ``make demo``)."""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mautrix.types import DeviceID, UserID
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from .synapse import MatrixAccount

if TYPE_CHECKING:
    from .fakehs import FakeHomeserver

__all__ = ["PluginEntries", "fakehs_account", "write_bot_config"]

#: Plugin instances: either plugin ids (one instance each, named after the id) or
#: instance name -> ``{"plugin": id, "enabled": bool, "config": {...}}``, where
#: ``plugin`` defaults to the instance name, ``enabled`` to true and ``config`` to {}.
PluginEntries = Sequence[str] | Mapping[str, Mapping[str, Any]]


def write_bot_config(
    path: Path | str,
    *,
    account: MatrixAccount,
    homeserver_url: str | None = None,
    database_url: str | None = None,
    plugins: PluginEntries | None = None,
    **overrides: Any,
) -> Path:
    """Write a config for a bot that logs in as ``account``; return its path.

    The file is ``config.sample.yaml`` (comments and all) with the account filled
    in, ``web.port`` 0 (a free port), a 5 s sync timeout so that the bot stops
    quickly, and no flood limits (tests and benchmarks send bursts of commands
    from one user; a test of the limits sets ``bot={"limits": {...}}``).
    ``homeserver_url`` defaults to the account's. Each keyword in
    ``overrides`` names a top-level section; a mapping is merged into that
    section key by key (``sync={"timeout": 1}``), anything else replaces it
    (``plugin_dirs=["/src/plugins"]``).
    """
    yaml = YAML()
    sample = importlib.resources.files("botkit").joinpath("config.sample.yaml").read_text()
    config = yaml.load(sample)
    _merge(
        config,
        {
            "homeserver": {
                "url": homeserver_url or account.homeserver_url,
                "user_id": account.user_id,
                "access_token": account.access_token,
            },
            "database": {"url": database_url},
            "web": {"port": 0},
            "sync": {"timeout": 5},
            "bot": {"limits": {"user_burst": 0, "room_burst": 0}},
            "plugins": _plugin_entries(plugins or ()),
        },
    )
    _merge(config, overrides)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        yaml.dump(config, f)
    path.chmod(0o600)  # it holds the token: as ``botkit init`` writes it
    return path


def fakehs_account(fakehs: FakeHomeserver, user: str = "bot") -> MatrixAccount:
    """An account ``@<user>`` on the fake homeserver, for :func:`write_bot_config`."""
    user_id = UserID(f"@{user}:{fakehs.server_name}")
    return MatrixAccount(user_id, fakehs.create_token(user), DeviceID(""), "", fakehs.url)


def _plugin_entries(plugins: PluginEntries) -> dict[str, dict[str, Any]]:
    if isinstance(plugins, Mapping):
        return {
            name: {
                "plugin": entry.get("plugin", name),
                "enabled": entry.get("enabled", True),
                "config": dict(entry.get("config", {})),
            }
            for name, entry in plugins.items()
        }
    return {plugin: {"plugin": plugin, "enabled": True, "config": {}} for plugin in plugins}


def _merge(target: CommentedMap, changes: Mapping[str, Any]) -> None:
    """Merge ``changes`` into ``target``, keeping the comments of keys left alone."""
    for key, value in changes.items():
        current = target.get(key)
        if isinstance(value, Mapping) and isinstance(current, CommentedMap) and current:
            _merge(current, value)
        else:
            target[key] = value
