"""A week's post rendered in the markdown of matrix.org's "This Week in Matrix".

The post comes from a template (see :mod:`plugins.twim.templating`): ``current``, the
format published today, ``2021``, the format of the early 2021 posts line for line,
or an editor's own file such as twim-config's ``template.md``. What a template sees
is built in :mod:`plugins.twim.context`; reports are sanitised before they reach it.
The 2021 front matter has no ``date``: Zola takes it from the file name, and a render
time would make the same week render differently each time.
"""

from __future__ import annotations

import os.path
import re
from collections.abc import Iterable
from datetime import date

from mautrix.types import ContentURI

from .context import RETURNED, hebbot_name, template_context
from .context import credit_verb as _credit_verb
from .model import Attachment, Post
from .sanitize import escape_text
from .templating import SHIPPED, render_template, shipped_of

__all__ = [
    "RETURNED",
    "VERBS",
    "attachment_files",
    "credit_verb",
    "format_median",
    "image_name",
    "ping_table",
    "post_file_name",
    "post_filename",
    "render_post",
    "saved_name",
]

VERBS = SHIPPED["2021"].verbs
"""Verbs a credit line of the 2021 format draws from."""

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_MAX_UPLOAD_NAME = 120
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def post_filename(day: date) -> str:
    """The 2021 format's file name: ``YYYY-MM-DD-this-week-in-matrix-YYYY-MM-DD.md``."""
    return SHIPPED["2021"].file_name.replace("{date}", day.isoformat())


def post_file_name(post: Post) -> str:
    """The post's file name: its ``file_name`` pattern, else its template's."""
    pattern = post.file_name or shipped_of(post.template).file_name
    name = pattern.replace("{date}", post.date.isoformat())
    if name != os.path.basename(name) or name in ("", ".", ".."):
        raise ValueError(f"file_name: {pattern!r} must name a file, not a path")
    return name


def image_name(post_date: date, event_id: str, filename: str) -> str:
    """The name an attachment is saved and shown under.

    ``YYYY-MM-DD-<5 chars of the event id after the $>-<file name without spaces>``.
    The upload's name comes from its sender, so only its last path component is kept,
    characters outside ``A-Za-z0-9._-`` become ``_`` and dot runs shrink to one dot:
    the result cannot leave the image folder.
    """
    upload = re.split(r"[/\\]", filename)[-1]
    upload = "".join(upload.split())
    if len(upload) > _MAX_UPLOAD_NAME:
        stem, extension = os.path.splitext(upload)
        extension = extension[:16]
        upload = stem[: _MAX_UPLOAD_NAME - len(extension)] + extension
    tag = event_id.removeprefix("$")[:5]
    name = _UNSAFE_NAME.sub("_", f"{post_date.isoformat()}-{tag}-{upload or 'file'}")
    return re.sub(r"\.{2,}", ".", name)


def credit_verb(seed: str) -> str:
    """A verb from :data:`VERBS`, always the same one for the same seed (an event id)."""
    return _credit_verb(seed, VERBS)


def format_median(median: float) -> str:
    """A median in milliseconds as the table shows it: ``437``, ``975.5``."""
    return str(int(median)) if float(median).is_integer() else str(median)


def ping_table(rows: Iterable[tuple[str, float]]) -> str:
    """The Dept of Ping table for ``(server name, median ms)`` rows, best first."""
    lines = ["|Rank|Hostname|Median MS|", "|:---:|:---:|:---:|"]
    for rank, (server, median) in enumerate(rows, start=1):
        lines.append(f"|{rank}|{escape_text(server)}|{format_median(median)}|")
    return "\n".join(lines)


def attachment_files(post: Post) -> dict[str, ContentURI]:
    """The files the post shows, by saved name, with the upload to fetch for each.

    The 2021 format names them with :func:`image_name`; the others as Hebbot does.
    """
    sections = {section.key for section in post.sections}
    return {
        saved_name(post, attachment): attachment.url
        for entry in post.entries
        if entry.section in sections
        for attachment in entry.attachments
    }


def saved_name(post: Post, attachment: Attachment) -> str:
    """The name ``attachment`` is saved and linked under in ``post``."""
    if post.template == "2021":
        return image_name(post.date, attachment.event_id, attachment.filename)
    return hebbot_name(attachment)


def render_post(post: Post) -> str:
    """The whole post as markdown, ready to be saved under :func:`post_file_name`.

    Raises :class:`~plugins.twim.templating.TemplateError` when the template fails,
    ValueError for a Matrix Live video id that is not one.
    """
    if post.live_video and not _VIDEO_ID.fullmatch(post.live_video):
        raise ValueError(f"not a YouTube video id: {post.live_video!r}")
    context = template_context(post, image_name, shipped_of(post.template).verbs)
    rendered = render_template(post.template, context, seed=post.date.isoformat())
    # A file ends in exactly one line break, whatever the template's last line.
    return rendered.rstrip("\n") + "\n"
