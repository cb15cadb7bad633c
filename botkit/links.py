"""Which URLs are safe in what the bot sends, and HTML without the others.

A link to ``javascript:`` runs code when clicked, ``data:`` and ``vbscript:`` can too
or hide what they show; Matrix clients filter some of them, but not all clients, all
schemes or all spellings ("java&#x09;script:"). So the bot only sends links whose
scheme is on an allow-list, and images only from the homeserver (``mxc://``).
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

__all__ = ["IMAGE_SCHEMES", "LINK_SCHEMES", "safe_html", "safe_url", "url_scheme"]

LINK_SCHEMES = frozenset({"http", "https", "ftp", "mailto", "magnet", "matrix"})
"""The URL schemes a link may use (the rest, such as ``javascript:`` and ``data:``, can run
code or hide content); links without a scheme (relative, ``#anchor``) are harmless."""

IMAGE_SCHEMES = frozenset({"mxc"})
"""The URL schemes an image may use: Matrix clients show only media of the homeserver."""

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# Browsers drop these anywhere in a URL and strip them around it before they look at
# the scheme, so "java\tscript:" and " javascript:" are javascript: too.
_URL_IGNORED = re.compile(r"[\t\n\r]")
_CONTROLS_AND_SPACE = "".join(chr(code) for code in range(0x21))


def url_scheme(url: str) -> str | None:
    """The scheme of ``url`` in lower case as a browser would read it, or None (relative).

    ``url`` is taken as an attribute value would be (HTML entities decoded) and also
    percent-decoded, so that no spelling of a scheme slips past the check.
    """
    plain = _URL_IGNORED.sub("", unquote(html.unescape(url))).lstrip(_CONTROLS_AND_SPACE)
    match = _SCHEME.match(plain)
    return match.group(1).lower() if match else None


def safe_url(url: str, schemes: frozenset[str] = LINK_SCHEMES) -> bool:
    """Whether ``url`` is relative or uses one of ``schemes``."""
    scheme = url_scheme(url)
    return scheme is None or scheme in schemes


_URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "poster", "background", "cite"}
)
_TAG_END = re.compile(r"[\s/>]")
_ATTRIBUTE_NAME = re.compile(r"[^\s/>=]+")
_SPACE_OR_SLASH = re.compile(r"[\s/]*")
_SPACE = re.compile(r"\s*")
_UNQUOTED_VALUE = re.compile(r"[^\s>]*")


def safe_html(markup: str) -> str:
    """``markup`` without URL attributes (``href``, ``src``, ...) that use unsafe schemes.

    One forward pass over the text that reads tags as an HTML tokenizer does (quoted
    and unquoted attribute values, comments), so its time is linear in the length;
    everything but the dropped attributes is kept byte for byte. ``src`` must be
    ``mxc://`` (:data:`IMAGE_SCHEMES`); the other attributes, :data:`LINK_SCHEMES`.
    """
    if "=" not in markup:
        return markup
    out: list[str] = []
    copied = pos = 0
    end = len(markup)
    while (pos := markup.find("<", pos)) != -1:
        if markup.startswith("<!--", pos):
            close = markup.find("-->", pos + 4)
            pos = end if close == -1 else close + 3
            continue
        if pos + 1 >= end or not markup[pos + 1].isalpha():
            pos += 1
            continue
        name_end = _TAG_END.search(markup, pos + 1)
        pos = end if name_end is None else name_end.start()
        while pos < end:
            pos = _skip(_SPACE_OR_SLASH, markup, pos)
            if pos >= end or markup[pos] == ">":
                break
            attribute_start = pos
            name_match = _ATTRIBUTE_NAME.match(markup, pos)
            if name_match is None:  # a stray "=": part of the next name, as in HTML
                pos += 1
                continue
            name = name_match.group().lower()
            pos = name_match.end()
            value = ""
            if markup.startswith("=", equals := _skip(_SPACE, markup, pos)):
                pos = _skip(_SPACE, markup, equals + 1)
                if pos < end and markup[pos] in "\"'":
                    close = markup.find(markup[pos], pos + 1)
                    value = markup[pos + 1 : end if close == -1 else close]
                    pos = end if close == -1 else close + 1
                else:
                    stop = _skip(_UNQUOTED_VALUE, markup, pos)
                    value, pos = markup[pos:stop], stop
            if name in _URL_ATTRIBUTES:
                schemes = IMAGE_SCHEMES if name == "src" else LINK_SCHEMES
                if not safe_url(value, schemes):
                    out.append(markup[copied:attribute_start])
                    copied = pos
    out.append(markup[copied:])
    return "".join(out)


def _skip(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where a run of ``pattern`` (which may match nothing) starting at ``pos`` ends."""
    match = pattern.match(text, pos)
    return pos if match is None else match.end()
