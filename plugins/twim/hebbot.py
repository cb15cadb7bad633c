"""Hebbot's ``config.toml``, read as it is and mapped onto the plugin's own config keys.

TWIM's editors keep their sections, projects, rooms and texts in the ``config.toml`` of
``matrix-org/twim-config``. With ``hebbot_config: <path>`` the plugin reads that file
and takes each of its values for the matching key of ``config.yaml``, unless the bot's
own config sets that key to something other than its shipped default: the YAML wins.

Every key of Hebbot's schema (``src/config.rs`` plus the keys twim-config adds) is
either mapped or named in :data:`IGNORED` with the reason; any other key is a problem
that ``botkit check`` reports, so a typo is never silently dropped.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botkit.config import load_defaults
from botkit.config.schema import unknown_key_reason
from botkit.errors import Problem

__all__ = [
    "IGNORED",
    "HebbotConfig",
    "HebbotConfigError",
    "apply_hebbot",
    "read_hebbot_config",
    "with_hebbot",
]

_DEFAULTS_FILE = Path(__file__).with_name("config.yaml")

IGNORED = {
    "bot_user_id": "the bot's user ID comes from botkit's own config",
    "update_config_command": "botkit re-reads its config and the plugins' files itself",
}
"""Hebbot keys that mean nothing to botkit, with why."""

_Check = Callable[[Any], bool]


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_strs(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


_TYPE_NAMES: dict[_Check, str] = {
    _is_str: "a string",
    _is_bool: "true or false",
    _is_int: "a whole number of 0 or more",
    _is_strs: "a list of strings",
}

# Hebbot key -> (type check, botkit key, how the value becomes the botkit value).
_TOP: dict[str, tuple[_Check, str, Callable[[Any], Any]]] = {
    "reporting_room_id": (_is_str, "rooms", lambda room: [room]),
    "admin_room_id": (_is_str, "editor_room", lambda room: room),
    "ping_room_id": (_is_str, "ping_room", lambda room: room),
    "notice_emoji": (_is_str, "notice_emoji", lambda emoji: emoji),
    "restrict_notice": (_is_bool, "restrict_notice", lambda flag: flag),
    "image_markdown": (_is_str, "image_markdown", lambda text: text),
    "video_markdown": (_is_str, "video_markdown", lambda text: text),
    "verbs": (_is_strs, "verbs", list),
    "min_length": (_is_int, "min_length", lambda length: length),
    "ack_text": (_is_str, "ack_text", lambda text: text),
    "editors": (_is_strs, "editors", list),
}

# Fields of a [[sections]] / [[projects]] table -> (type check, botkit field).
_SECTION: dict[str, tuple[_Check, str]] = {
    "name": (_is_str, "key"),
    "emoji": (_is_str, "emoji"),
    "title": (_is_str, "title"),
    "order": (_is_int, "order"),
    "usual_reporters": (_is_strs, "usual_reporters"),
}
_PROJECT: dict[str, tuple[_Check, str]] = {
    "name": (_is_str, "name"),
    "emoji": (_is_str, "emoji"),
    "title": (_is_str, "title"),
    "description": (_is_str, "description"),
    "website": (_is_str, "website"),
    "default_section": (_is_str, "section"),
    "usual_reporters": (_is_strs, "usual_reporters"),
}
_REQUIRED_SECTION = ("name", "emoji", "title", "order")
_REQUIRED_PROJECT = ("name", "title")


@dataclass
class HebbotConfig:
    """What a Hebbot config file says, as botkit config values, and what is wrong in it.

    ``values`` holds botkit keys (``rooms``, ``sections``, ...). ``problems`` are
    unknown keys and values of the wrong type, each naming the file and the TOML key;
    a value with a problem is left out of ``values``.
    """

    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class HebbotConfigError(ValueError):
    """A Hebbot config file that cannot be read at all; the message names file and line."""


def read_hebbot_config(path: Path) -> HebbotConfig:
    """Read and map ``path``; raise :class:`HebbotConfigError` if it is not TOML."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise HebbotConfigError(f"{path}: cannot read the Hebbot config: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise HebbotConfigError(f"{path}: not UTF-8 text (byte {e.start})") from e
    except tomllib.TOMLDecodeError as e:
        # tomllib's message already ends in "(at line N, column M)".
        raise HebbotConfigError(f"{path}: not valid TOML: {e}") from e
    return map_hebbot(data, path)


def map_hebbot(data: Mapping[str, Any], path: Path) -> HebbotConfig:
    """The botkit values of a parsed Hebbot config, with problems naming ``path``."""
    result = HebbotConfig(path)
    file = str(path)
    for key, value in data.items():
        if key in IGNORED:
            continue
        if key in ("sections", "projects"):
            fields = _SECTION if key == "sections" else _PROJECT
            required = _REQUIRED_SECTION if key == "sections" else _REQUIRED_PROJECT
            result.values[key] = _tables(value, key, fields, required, file, result.problems)
            continue
        if key not in _TOP:
            result.problems.append(Problem(file, key, _unknown(key)))
            continue
        check, target, convert = _TOP[key]
        if not check(value):
            result.problems.append(Problem(file, key, f"must be {_TYPE_NAMES[check]}"))
            continue
        result.values[target] = convert(value)
    return result


def _tables(
    value: Any,
    where: str,
    fields: Mapping[str, tuple[_Check, str]],
    required: tuple[str, ...],
    file: str,
    problems: list[Problem],
) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        problems.append(Problem(file, where, f"must be a list of [[{where}]] tables"))
        return []
    tables = []
    for i, item in enumerate(value):
        mapped: dict[str, Any] = {}
        ok = True
        for key, field_value in item.items():
            if key not in fields:
                problems.append(Problem(file, f"{where}[{i}].{key}", _unknown(key, fields)))
                continue
            check, target = fields[key]
            if not check(field_value):
                problems.append(
                    Problem(file, f"{where}[{i}].{key}", f"must be {_TYPE_NAMES[check]}")
                )
                ok = False
                continue
            mapped[target] = field_value
        for key in required:
            if key not in item:
                problems.append(Problem(file, f"{where}[{i}].{key}", "missing"))
                ok = False
        if ok:
            tables.append(mapped)
    return tables


def _unknown(key: str, known: Mapping[str, Any] | None = None) -> str:
    names = [*(known if known is not None else [*_TOP, "sections", "projects", *IGNORED])]
    return unknown_key_reason(key, names) + " of Hebbot's config"


def apply_hebbot(
    config: Mapping[str, Any], defaults: Mapping[str, Any], hebbot: HebbotConfig
) -> dict[str, Any]:
    """``config`` with Hebbot's values where the bot's config kept the shipped default.

    botkit hands plugins their config merged with the defaults, so a key "set in the
    YAML" is one whose value differs from ``config.yaml``'s: that one wins.
    """
    merged = dict(config)
    for key, value in hebbot.values.items():
        if key not in defaults or merged.get(key) == defaults[key]:
            merged[key] = value
    return merged


def with_hebbot(config: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The instance's config with its ``hebbot_config`` file applied, and that file's problems.

    Without ``hebbot_config`` the config is returned as it is. A file that cannot be
    read raises :class:`HebbotConfigError`.
    """
    location = config.get("hebbot_config")
    if not location:
        return dict(config), []
    hebbot = read_hebbot_config(Path(location))
    defaults = load_defaults(_DEFAULTS_FILE.read_text(encoding="utf-8"), str(_DEFAULTS_FILE))
    return apply_hebbot(config, defaults, hebbot), hebbot.problems
