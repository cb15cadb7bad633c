"""What ``botkit check`` finds wrong beyond the config itself: the template.

The config's own rules are :class:`.settings.Settings`'; a broken template must not
keep the plugin from collecting the week (preview and publish say what is wrong with
it), so only ``botkit check`` asks, through :meth:`TwimPlugin.check_config`.
"""

from __future__ import annotations

from datetime import date

from botkit.errors import Problem

from .model import Post
from .render import post_file_name, render_post
from .settings import Settings
from .templating import TemplateError

__all__ = ["template_problems"]


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
