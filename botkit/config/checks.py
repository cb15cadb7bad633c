"""Checks of the main config that go beyond types: IDs, URLs, ranges, plugin instances."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from botkit.config.env import ENV_FILE
from botkit.config.model import InstanceConfig
from botkit.config.schema import describe_value, merge_config
from botkit.errors import Problem

__all__ = ["check_main", "is_server_name", "is_user_id", "read_instances"]

# https://spec.matrix.org/v1.11/appendices/#server-name
_SERVER_NAME = r"(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(?::[0-9]{1,5})?"
# https://spec.matrix.org/v1.11/appendices/#user-identifiers, historical localparts included
_USER_ID = re.compile(rf"@[\x21-\x39\x3b-\x7e]+:{_SERVER_NAME}")
_SERVER_NAME_RE = re.compile(_SERVER_NAME)
_INSTANCE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_INSTANCE_DEFAULTS: Mapping[str, Any] = {"plugin": "", "enabled": True, "config": {}}

Report = Callable[[str, str], None]
"""Records a problem with a dotted key and a reason."""


def is_user_id(value: str) -> bool:
    """Whether ``value`` looks like a Matrix user ID, ``@localpart:server.name``."""
    return _USER_ID.fullmatch(value) is not None


def is_server_name(value: str) -> bool:
    """Whether ``value`` looks like a Matrix server name (host, optionally ``:port``)."""
    return _SERVER_NAME_RE.fullmatch(value) is not None


def check_main(
    config: Mapping[str, Any], *, file: str, origins: Mapping[str, str]
) -> list[Problem]:
    """Problems with the values of a merged main config whose types are already right.

    ``origins`` maps a dotted key to the environment variable that set it, so
    that a problem names the place the value came from.
    """
    problems: list[Problem] = []

    def report(key: str, reason: str) -> None:
        variable = origins.get(key.split("[")[0])
        problems.append(
            Problem(ENV_FILE, variable, reason) if variable else Problem(file, key, reason)
        )

    _check_homeserver(config["homeserver"], report)
    _check_database(config["database"]["url"], report)
    _check_bot(config, report)
    if not 0 <= config["web"]["port"] <= 65535:
        report("web.port", f"expected a port from 0 to 65535, got {config['web']['port']}")
    for key, value in config["sync"].items():
        if value <= 0:
            report(f"sync.{key}", f"must be more than 0, got {value:g}")
    if config["sending"]["max_retries"] < 0:
        report("sending.max_retries", "must be 0 (no retries) or more")
    if config["sending"]["max_backoff"] <= 0:
        report("sending.max_backoff", "must be more than 0")
    _check_encryption(config["encryption"], report)
    _check_logging(config["logging"], report)
    _check_appservice(config, report)
    _check_standby(config, report)
    for i, directory in enumerate(config["plugin_dirs"]):
        if not directory.strip():
            report(f"plugin_dirs[{i}]", "expected a directory, got an empty string")
    return problems


def _check_encryption(section: Mapping[str, Any], report: Report) -> None:
    if section["share_keys_with"] not in ("all", "cross-signed"):
        report("encryption.share_keys_with", "expected all or cross-signed")
    for key in ("key_wait", "key_request_wait"):
        if section[key] < 0:
            report(f"encryption.{key}", "must be 0 or more")
    if section["enabled"]:
        from botkit.crypto import missing_dependency

        missing = missing_dependency()
        if missing is not None:
            report("encryption.enabled", missing)


def _check_standby(config: Mapping[str, Any], report: Report) -> None:
    section = config["standby"]
    for key in ("poll_interval", "check_interval", "takeover_delay"):
        if section[key] <= 0:
            report(f"standby.{key}", f"must be more than 0, got {section[key]:g}")
    if section["takeover_delay"] <= 2 * section["check_interval"]:
        report(
            "standby.takeover_delay",
            "must be more than twice standby.check_interval, so that a deposed "
            "active process stops before the standby acts",
        )
    if not section["enabled"]:
        return
    url = config["database"]["url"]
    try:
        backend = make_url(url).get_backend_name() if url else "sqlite"
    except ArgumentError:
        return  # reported as a database.url problem
    if backend != "postgresql":
        report(
            "standby.enabled",
            "active/standby needs PostgreSQL (database.url): SQLite has no lock that "
            "processes on several machines share",
        )


def _check_appservice(config: Mapping[str, Any], report: Report) -> None:
    section = config["appservice"]
    if not 0 <= section["port"] <= 65535:
        report("appservice.port", f"expected a port from 0 to 65535, got {section['port']}")
    if section["url"] is not None and not _is_http_url(section["url"]):
        report("appservice.url", f"expected an http(s) URL, got {describe_value(section['url'])}")
    if not section["id"].strip():
        report("appservice.id", "expected an ID, got an empty string")
    if section["enabled"] and config["encryption"]["enabled"]:
        report(
            "appservice.enabled",
            "encryption is not supported in appservice mode yet: "
            "turn off encryption.enabled or appservice.enabled",
        )


def _check_homeserver(hs: Mapping[str, Any], report: Report) -> None:
    if not _is_http_url(hs["url"]):
        report("homeserver.url", f"expected an http(s) URL, got {describe_value(hs['url'])}")
    if not is_user_id(hs["user_id"]):
        got = describe_value(hs["user_id"])
        report(
            "homeserver.user_id", f"expected a Matrix user ID like '@bot:example.org', got {got}"
        )
    # Neither access_token nor password is no problem here: ``botkit login`` may have
    # stored the device's tokens in the database; the bot says so at start if not.


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _check_database(url: str | None, report: Report) -> None:
    if url is None:
        return
    try:
        make_url(url)
    except ArgumentError:
        report("database.url", f"expected an SQLAlchemy database URL, got {url!r}")


def _check_bot(config: Mapping[str, Any], report: Report) -> None:
    bot = config["bot"]
    if not bot["command_prefix"]:
        report("bot.command_prefix", "must not be empty")
    for i, admin in enumerate(bot["admins"]):
        if not is_user_id(admin):
            report(f"bot.admins[{i}]", f"expected a Matrix user ID, got {admin!r}")
    for key, value in bot["limits"].items():
        if value < 0:
            report(f"bot.limits.{key}", f"must be 0 (no limit) or more, got {value}")
    for i, entry in enumerate(bot["autojoin"]["allow"]):
        if not (is_user_id(entry) or is_server_name(entry)):
            reason = f"expected a Matrix user ID or server name, got {entry!r}"
            report(f"bot.autojoin.allow[{i}]", reason)


def _check_logging(section: Mapping[str, Any], report: Report) -> None:
    if section["level"].upper() not in logging.getLevelNamesMapping():
        names = "DEBUG, INFO, WARNING, ERROR, CRITICAL"
        report("logging.level", f"expected a level name ({names}), got {section['level']!r}")
    try:
        logging.Formatter(section["format"], validate=True)
    except ValueError as e:
        report("logging.format", f"not a logging format string: {e}")


def read_instances(
    plugins: Mapping[Any, Any], *, file: str
) -> tuple[dict[str, InstanceConfig], list[Problem]]:
    """The plugin instances of the ``plugins`` section, and the problems with their entries."""
    instances: dict[str, InstanceConfig] = {}
    problems: list[Problem] = []
    for name, entry in plugins.items():
        key = f"plugins.{name}"
        if not isinstance(name, str) or not _INSTANCE_NAME.fullmatch(name):
            reason = "instance names may only hold letters, digits and '_', '.', '-'"
            problems.append(Problem(file, key, reason))
            continue
        merged, found = merge_config(_INSTANCE_DEFAULTS, entry, file=file, key_prefix=key)
        problems += found
        if found:
            continue
        if not isinstance(entry, Mapping) or "plugin" not in entry:
            problems.append(Problem(file, f"{key}.plugin", "missing: which plugin to run"))
        elif not merged["plugin"]:
            problems.append(Problem(file, f"{key}.plugin", "must name a plugin"))
        else:
            instances[name] = InstanceConfig(
                name, merged["plugin"], merged["enabled"], merged["config"]
            )
    return instances, problems
