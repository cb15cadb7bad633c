"""The plugin's settings from its config and the files it points to, and what is wrong.

``botkit check`` calls :func:`config_problems` without connecting; the plugin's start
calls :func:`load_settings`, which refuses only what it cannot work with and logs the
rest (an unknown key of Hebbot's config is a warning there, a problem at check).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from botkit.errors import Problem

from .hebbot import HebbotConfigError, with_hebbot
from .settings import Settings, SettingsError

__all__ = ["config_problems", "load_settings"]


def config_problems(config: Mapping[str, Any]) -> list[Problem]:
    """Everything wrong with an instance's merged config and the files it names."""
    try:
        merged, problems = with_hebbot(config)
    except HebbotConfigError as e:
        return [Problem("", "hebbot_config", str(e))]
    try:
        Settings.from_config(merged)
    except SettingsError as e:
        problems.append(Problem("", "", str(e)))
    return problems


def load_settings(config: Mapping[str, Any], log: logging.Logger) -> Settings:
    """The settings to run with; raise :class:`SettingsError` when there are none."""
    try:
        merged, problems = with_hebbot(config)
    except HebbotConfigError as e:
        raise SettingsError(f"hebbot_config: {e}") from e
    for problem in problems:
        log.warning("%s (ignored)", problem)
    return Settings.from_config(merged)
