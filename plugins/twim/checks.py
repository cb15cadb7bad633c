"""The plugin's settings from its config and the files it points to, and what is wrong.

botkit calls :func:`config_problems` before it starts the plugin, and ``botkit check``
calls it with the template's checks too; the plugin's start calls
:func:`load_settings`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

from botkit.errors import Problem

from .hebbot import HebbotConfigError, with_hebbot
from .model import Post
from .render import post_file_name, render_post
from .settings import Settings, SettingsError
from .templating import TemplateError

__all__ = ["config_problems", "load_settings", "template_problems"]


def config_problems(config: Mapping[str, Any], *, templates: bool = True) -> list[Problem]:
    """Everything wrong with an instance's merged config and the files it names.

    Without ``templates`` the template is left out: a broken one must not keep the
    plugin from collecting the week; preview and publish say what is wrong with it.
    """
    try:
        merged, problems = with_hebbot(config)
    except HebbotConfigError as e:
        return [Problem("", "hebbot_config", str(e))]
    try:
        settings = Settings.from_config(merged)
    except SettingsError as e:
        return [*problems, Problem("", "", str(e))]
    if templates:
        problems += template_problems(settings)
    return problems


def template_problems(settings: Settings) -> list[Problem]:
    """The template's errors that show without reports: its syntax, and the names and
    filters of what it writes around them (front matter, Dept of Ping, sign-off)."""
    sample = Post(
        date=date(2000, 1, 7),
        editor=settings.editor_name,
        sections=settings.sections,
        projects=settings.projects,
        template=settings.template,
        verbs=settings.verbs,
        file_name=settings.file_name,
        config=settings.template_config(),
        ping_table="|Rank|Hostname|Median MS|\n|:---:|:---:|:---:|\n|1|example.org|1|",
        ping_room_alias=settings.ping_room_alias,
        twim_room_alias=settings.twim_room_alias,
    )
    try:
        render_post(sample)
        post_file_name(sample)
    except (TemplateError, ValueError) as e:
        return [Problem("", "template", str(e))]
    return []


def load_settings(config: Mapping[str, Any], log: logging.Logger) -> Settings:
    """The settings to run with; raise :class:`SettingsError` when there are none."""
    try:
        merged, problems = with_hebbot(config)
    except HebbotConfigError as e:
        raise SettingsError(f"hebbot_config: {e}") from e
    for problem in problems:
        log.warning("%s", problem)
    return Settings.from_config(merged)
