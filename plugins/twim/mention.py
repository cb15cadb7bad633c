"""The bot's mention at the start of a report, which the TWIM guide asks reporters for.

Reporters address the bot ("TWIM: …", its display name, a pill to it, or only
``m.mentions`` from a client that mentions without a pill); Hebbot keeps that mention in
the report, and the 2026-09-18 post still shows ``> [TWIM](https://matrix.to/#/…)``
where an editor did not take it out. Here it leaves the report: a leading link to
the bot's user, or one of its names, with the ``:`` or ``,`` after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

__all__ = ["addresses", "strip_mention"]

_LINK = re.compile(r"\s*\[[^\]\n]*\]\(https://matrix\.to/#/(?P<target>[^)\s]+)\)")
_AFTER = re.compile(r"^\s*[:,]?\s*")


def strip_mention(markdown: str, bot: str, names: Iterable[str] = ("TWIM",)) -> str:
    """``markdown`` without a mention of ``bot`` (its user ID) at its very start.

    A mention is a link to ``https://matrix.to/#/<bot>`` (a pill), or one of ``names``
    (compared without regard to case) as a word of its own followed by ``:`` or ``,``.
    Text that does not start with one comes back as it is.
    """
    link = _LINK.match(markdown)
    if link is not None and unquote(link["target"]).split("?")[0] == bot:
        return _AFTER.sub("", markdown[link.end() :], count=1)
    for name in names:
        named = re.match(rf"\s*{re.escape(name)}\s*[:,]\s*", markdown, re.IGNORECASE)
        if name and named is not None:
            return markdown[named.end() :]
    return markdown


def addresses(
    body: str,
    formatted_body: str | None,
    bot: str,
    names: Iterable[str],
    mentions: Iterable[str] = (),
) -> bool:
    """Whether a message addresses ``bot`` as the TWIM guide asks: ``mentions``
    (its ``m.mentions``) name it, a pill to it anywhere, or one of its ``names`` at
    the start (Hebbot's test, with the ``:`` or ``,`` that keeps "TWIM is great" out)."""
    if bot in mentions:
        return True
    if formatted_body:
        for target in re.findall(r'href="https://matrix\.to/#/([^"?]+)', formatted_body):
            if unquote(target) == bot:
                return True
    return strip_mention(body, bot, names) != body
