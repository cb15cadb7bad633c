"""Keeping what the bot sends within Matrix's size limit for an event.

A homeserver refuses an event whose JSON is over 65,536 bytes (spec: client-server
API, "Size limits"; ``M_TOO_LARGE``), and it counts the whole event: the content and
what the server adds (IDs, timestamps, hashes, signatures, the events it follows).
So the content gets :data:`CONTENT_BUDGET`, which leaves room for the rest.

:func:`fit_text` cuts a text message that would not fit, and says so at its end.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = [
    "CONTENT_BUDGET",
    "CUT_NOTICE",
    "MAX_EVENT_BYTES",
    "content_size",
    "fit_text",
    "fits",
]

MAX_EVENT_BYTES = 65_536
"""The most a homeserver accepts for one event, as JSON."""

CONTENT_BUDGET = 60_000
"""The most the bot puts in an event's content, as JSON: room for what the server adds."""

CUT_NOTICE = "\n\n[… cut: the message was too long for Matrix]"
"""What the end of a cut message says."""

_CUT_NOTICE_HTML = f"<p>{CUT_NOTICE.strip()}</p>"

_ROUNDS = 4


def content_size(content: dict[str, Any]) -> int:
    """The size of ``content`` as the homeserver measures it: compact UTF-8 JSON."""
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", "surrogatepass"))


def fits(content: dict[str, Any], budget: int = CONTENT_BUDGET) -> bool:
    """Whether ``content`` takes at most ``budget`` bytes as JSON; cheap for small content.

    No character takes more than 6 bytes in JSON for each character of its ``repr``
    (a control character: ``\\u0000`` against ``\\x00``), so the ``repr`` of a pong
    or a short answer settles it without encoding the JSON.
    """
    return len(repr(content)) * 6 <= budget or content_size(content) <= budget


async def fit_text(
    content: dict[str, Any],
    source: str,
    render: Callable[[str], Awaitable[str]] | None = None,
    budget: int = CONTENT_BUDGET,
) -> dict[str, Any]:
    """``content`` (a text message made from ``source``) cut to fit in ``budget`` bytes.

    ``render`` makes the HTML of a piece of ``source`` (markdown), so a cut text keeps
    its formatting; without it, or if even a cut render does not fit, the message goes
    as plain text. The cut is at a line break where there is one near the end, and the
    message ends with :data:`CUT_NOTICE`. ``content`` is returned as it is if it fits.
    """
    if fits(content, budget):
        return content
    size = content_size(content)
    keep = len(source)
    for _ in range(_ROUNDS if render is not None else 0):
        keep = int(keep * budget / size * 0.95)
        piece = _cut(source, keep)
        html = await render(piece) if render is not None else ""  # for mypy; it is set
        attempt = content | {"body": piece + CUT_NOTICE, "formatted_body": html + _CUT_NOTICE_HTML}
        size = content_size(attempt)
        if size <= budget:
            return attempt
    plain = {k: v for k, v in content.items() if k not in ("format", "formatted_body")}
    keep = len(source)
    while True:
        attempt = plain | {"body": _cut(source, keep) + CUT_NOTICE}
        size = content_size(attempt)
        if size <= budget or keep == 0:
            return attempt
        keep = min(keep - 1, int(keep * budget / size * 0.95))


def _cut(text: str, keep: int) -> str:
    if keep >= len(text):
        return text
    piece = text[:keep]
    # A line break in the last tenth is a cleaner place to stop than mid-word.
    newline = piece.rfind("\n", keep - keep // 10)
    return piece[:newline] if newline > 0 else piece
