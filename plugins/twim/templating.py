"""The post's templates: Jinja2 in a sandbox, with the filters Hebbot's templates use.

Hebbot renders twim-config's ``template.md`` with minijinja; Jinja2 reads the same
syntax (minijinja follows it), is a mature, typed Python package and has a sandbox,
which an editor's own template file needs. Undefined names are errors
(``StrictUndefined``): a typo must not quietly print nothing into the post.

A template is named ``current`` or ``2021`` (the files in ``templates/``) or is the
path of an editor's file. Every error (syntax, an unknown name, a filter that raises)
becomes a :class:`TemplateError` that names the file and the line.
"""

from __future__ import annotations

import random
import re
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as percent_encode

from .htmlmd import quote
from .sanitize import escape_text
from .timefmt import (
    DATE_FORMATS,
    DATETIME_FORMATS,
    TimeFormatError,
    add_timedelta,
    format_time,
    to_datetime,
)

if TYPE_CHECKING:
    import jinja2

# Jinja2 (about 2 MB) is imported when a post is first rendered, not when twim loads:
# a bot that never publishes does not carry it.

__all__ = ["SHIPPED", "Shipped", "TemplateError", "load_template", "render_template"]

_FOLDER = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class Shipped:
    """A template that comes with the plugin, and what it expects when config is silent."""

    file: str
    verbs: tuple[str, ...]
    file_name: str


SHIPPED = {
    "current": Shipped("current.md", ("reports", "says", "announces"), "{date}-twim.md"),
    "2021": Shipped(
        "2021.md",
        ("said", "reported", "announced", "told us", "offered"),
        "{date}-this-week-in-matrix-{date}.md",
    ),
}
"""The shipped templates by name; any other ``template:`` is a file's path."""


class TemplateError(ValueError):
    """A template that cannot be read, compiled or rendered; says which file and line."""


def template_path(spec: str) -> Path:
    """The file of the template ``spec`` (a shipped name or a path)."""
    shipped = SHIPPED.get(spec)
    return _FOLDER / shipped.file if shipped else Path(spec)


def shipped_of(spec: str) -> Shipped:
    """The shipped template ``spec`` names, else the defaults of ``current``."""
    return SHIPPED.get(spec, SHIPPED["current"])


def load_template(spec: str, *, seed: str = "") -> jinja2.Template:
    """The compiled template ``spec``; ``seed`` makes ``random`` choose the same each time."""
    import jinja2

    path = template_path(spec)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as e:
        raise TemplateError(f"{path}: cannot read the template: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise TemplateError(f"{path}: not UTF-8 text (byte {e.start})") from e
    environment = _environment(seed)
    try:
        return environment.from_string(source)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{path}:{e.lineno}: {e.message}") from e


def render_template(spec: str, context: Mapping[str, Any], *, seed: str = "") -> str:
    """``spec`` rendered with ``context``; raise :class:`TemplateError` on any failure."""
    import jinja2

    template = load_template(spec, seed=seed)
    try:
        return template.render(context)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{template_path(spec)}:{e.lineno}: {e.message}") from e
    except Exception as e:
        # The failing line is in the traceback frame of the compiled template.
        line = _template_line(e)
        where = f"{template_path(spec)}:{line}" if line else str(template_path(spec))
        raise TemplateError(f"{where}: {_describe(e)}") from e


def _template_line(error: BaseException) -> int | None:
    # Jinja2 rewrites the traceback: its frames in "<template>" carry template lines.
    line: int | None = None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == "<template>":
            line = lineno
    return line


def _describe(error: Exception) -> str:
    import jinja2

    if isinstance(error, jinja2.UndefinedError):
        return f"unknown name: {error.message}"
    return (
        f"{type(error).__name__}: {error}" if not isinstance(error, TimeFormatError) else str(error)
    )


def _environment(seed: str) -> jinja2.Environment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    environment = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    chooser = random.Random(seed)

    def pick(sequence: Sequence[Any]) -> Any:
        if not sequence:
            raise TemplateError("random: the sequence is empty")
        return chooser.choice(list(sequence))

    def datetimeformat(value: object, format: str = "medium", tz: str | None = None) -> str:
        return format_time(to_datetime(value, tz), DATETIME_FORMATS.get(format, format))

    def dateformat(value: object, format: str = "medium", tz: str | None = None) -> str:
        return format_time(to_datetime(value, tz), DATE_FORMATS.get(format, format))

    environment.filters.update(
        random=pick,
        datetimeformat=datetimeformat,
        dateformat=dateformat,
        timedelta=add_timedelta,
        md_escape=escape_text,
        matrix_to=matrix_to,
        toml=toml_string,
        quote=quote,
    )
    return environment


def matrix_to(identifier: str) -> str:
    """A matrix.to link to a user, room or alias."""
    return "https://matrix.to/#/" + percent_encode(identifier, safe="@:!#/=+[]")


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string, control characters escaped."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04X}", escaped) + '"'
