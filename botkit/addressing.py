"""Whether a message is a command for the bot: by prefix, or by mentioning the bot.

``!help`` is a command. With ``bot.mention_commands`` on, so are messages that
start by naming the bot, the ways clients write that:

* its Matrix ID, typed out: ``@bot:example.org help`` (or ``@bot:example.org: help``);
* a pill: HTML that starts with a ``https://matrix.to/#/@bot:example.org`` link,
  whose text (the bot's display name) starts the plain body: ``Bot: help``;
* ``m.mentions`` naming the bot (spec v1.7, "User and room mentions"), with a body
  that starts with a name and a colon, as clients write a mention of a display name.

The command after a mention may carry the prefix too (``@bot:example.org !help``).
A reply's fallback quote (``> <@alice:example.org> ...`` lines, which older
clients put before the text; spec: "Rich replies") is not part of the command.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

from mautrix.types import MessageEvent

from .relations import mentioned_users

__all__ = ["command_line"]

_PILL = re.compile(
    r"""\s*<a\s+href=["']https://matrix\.to/#/([^"'?]+)[^"']*["'][^>]*>(.*?)</a>""",
    re.IGNORECASE | re.DOTALL,
)
_TAG = re.compile(r"<[^>]*>")
# A display name mention as clients write it: a short name and a colon.
_NAMED = re.compile(r"([^:\n]{1,64}):\s")
_SEPARATORS = ":,"


def command_line(event: MessageEvent, prefix: str, bot: str, by_mention: bool = True) -> str | None:
    """The command ``event``'s body holds, without prefix or mention; None for no command."""
    body: str = event.content.body
    relates = getattr(event.content, "relates_to", None)
    if body.startswith("> ") and getattr(relates, "in_reply_to", None):
        body = _without_fallback(body)
    if body.startswith(prefix):
        return body[len(prefix) :] or None
    if not by_mention:
        return None
    rest = _after_mention(event, body, bot)
    if rest is None:
        return None
    rest = rest.lstrip(_SEPARATORS).lstrip()
    rest = rest.removeprefix(prefix)
    return rest or None


def _without_fallback(body: str) -> str:
    """``body`` without the quoted lines a reply starts with, and the blank line after."""
    lines = body.split("\n")
    quoted = 0
    while quoted < len(lines) and lines[quoted].startswith(">"):
        quoted += 1
    return "\n".join(lines[quoted:]).lstrip("\n")


def _after_mention(event: MessageEvent, body: str, bot: str) -> str | None:
    """What follows a mention of ``bot`` at the start of ``body``; None without one."""
    if body.startswith(bot) and body[len(bot) : len(bot) + 1] in ("", " ", ":", ",", "\n"):
        return body[len(bot) :]
    formatted = getattr(event.content, "formatted_body", None)
    if isinstance(formatted, str):
        pill = _PILL.match(formatted)
        if pill and unquote(pill.group(1)) == bot:
            name = html.unescape(_TAG.sub("", pill.group(2))).strip()
            if name and body.startswith(name):
                return body[len(name) :]
    if bot in mentioned_users(event):
        named = _NAMED.match(body)
        if named:
            return body[named.end() :]
    return None
