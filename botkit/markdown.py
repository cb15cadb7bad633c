"""The one markdown engine of botkit and its plugins: CommonMark, in linear time, made safe.

Everything that turns markdown into HTML or reads its structure goes through here, on
`markdown-it-py <https://markdown-it-py.readthedocs.io>`_ (CommonMark 0.31). It was
picked over the alternatives by running the pathological inputs of cmark's test suite
(:mod:`botkit.testing.pathological`, ``python -m bench.markdown``) through each:
markdown-it-py stays linear on every case; commonmark (the engine of
``mautrix.util.markdown``) is quadratic on several (over 10 s for 16 KB); mistune is
not CommonMark and took over 10 s on one; cmark's bindings (cmarkgfm) are the fastest
but give HTML only, and the twim sanitizer needs the syntax tree with line numbers and
the link reference definitions.

markdown-it-py is pure Python, so it is fast enough only for text of bounded size:
:func:`render` refuses more than :data:`MAX_MARKDOWN_CHARS` with
:class:`MarkdownTooLong` (a :class:`~botkit.errors.CommandError`, so a command that
renders user text answers "too long"), and :func:`render_async` renders long text in a
worker thread so that the event loop (syncing, other plugins, the web server) goes on.

Links and images may only use safe schemes (:data:`LINK_SCHEMES`; images must be
``mxc://``, other images become links); raw HTML is shown as text unless allowed.
:func:`safe_html` strips unsafe URLs from HTML made anywhere else, in one linear pass.
"""

from __future__ import annotations

import asyncio
import functools
import html
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, normalizeReference
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from .errors import CommandError

__all__ = [
    "IMAGE_SCHEMES",
    "LINK_SCHEMES",
    "MAX_MARKDOWN_CHARS",
    "MAX_NESTING",
    "MarkdownTooLong",
    "SyntaxTree",
    "in_worker",
    "normalize_label",
    "parse_safe",
    "render",
    "render_async",
    "render_tokens",
    "safe_html",
    "safe_url",
    "syntax_tree",
    "url_scheme",
]

MAX_MARKDOWN_CHARS = 30_000
"""The longest markdown :func:`render` formats. A longer text could not be sent with its
HTML anyway (body and HTML must fit in one 64 KiB event), and the cap bounds the time a
render takes on hostile input to well under a second."""

LINK_SCHEMES = frozenset({"http", "https", "ftp", "mailto", "magnet", "matrix"})
"""The URL schemes a link may use (the rest, such as ``javascript:`` and ``data:``, can run
code or hide content); links without a scheme (relative, ``#anchor``) are harmless."""

IMAGE_SCHEMES = frozenset({"mxc"})
"""The URL schemes an image may use: Matrix clients show only media of the homeserver."""

THREAD_CHARS = 2_000
"""From this length on, :func:`render_async` renders in a worker thread."""

RENDER_THREADS = 2
"""How many renders :func:`render_async` and :func:`in_worker` run at once."""

RENDER_THREADS = 2
"""How many renders :func:`render_async` runs at once."""

T = TypeVar("T")

MAX_NESTING = 20
"""How deep the parser follows nested blocks and brackets (markdown-it's default: more
makes hostile links several times slower to parse). Deeper text is left unparsed."""
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# Browsers drop these anywhere in a URL and strip them around it before they look at
# the scheme, so "java\tscript:" and " javascript:" are javascript: too.
_URL_IGNORED = re.compile(r"[\t\n\r]")
_CONTROLS_AND_SPACE = "".join(chr(code) for code in range(0x21))


class MarkdownTooLong(CommandError, ValueError):
    """Markdown longer than :data:`MAX_MARKDOWN_CHARS`; the message says so to the user."""

    def __init__(self, length: int, limit: int = MAX_MARKDOWN_CHARS) -> None:
        self.length = length
        self.limit = limit
        super().__init__(f"That is too long to format: {length:,} characters, at most {limit:,}.")


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


def normalize_label(label: str) -> str:
    """A link reference label as CommonMark matches it (case and whitespace folded)."""
    return normalizeReference(label)


def _image(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """An ``mxc://`` (or relative) image as an image; any other as a link to it, or its text."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    if safe_url(src, IMAGE_SCHEMES):
        return self.image(tokens, idx, options, env)
    alt = escapeHtml(self.renderInlineAsText(token.children or [], options, env))
    if not safe_url(src):
        return alt
    return f'<a href="{escapeHtml(src)}">{alt}</a>'


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """A link to an ``mxc://`` address (allowed through for images) as a link without one."""
    token = tokens[idx]
    if not safe_url(str(token.attrGet("href") or "")):
        token.attrs.pop("href", None)
    return self.renderToken(tokens, idx, options, env)


def _validate_link(url: str) -> bool:
    # Called for links and images alike; the render rules tell them apart.
    return safe_url(url, LINK_SCHEMES | IMAGE_SCHEMES)


@functools.cache
def _engine(*, allow_html: bool, tables: bool) -> MarkdownIt:
    engine = MarkdownIt("commonmark", {"html": allow_html, "maxNesting": MAX_NESTING})
    if tables:
        engine.enable("table")
    engine.validateLink = _validate_link  # type: ignore[method-assign]
    engine.add_render_rule("image", _image)
    engine.add_render_rule("link_open", _link_open)
    return engine


@functools.cache
def _reader() -> MarkdownIt:
    # Sees what any CommonMark parser sees: raw HTML and every link, safe or not.
    engine = MarkdownIt("commonmark", {"html": True, "maxNesting": MAX_NESTING})
    engine.validateLink = lambda url: True  # type: ignore[method-assign]
    return engine


def _check_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise MarkdownTooLong(len(text), limit)


def render(
    text: str,
    *,
    allow_html: bool = False,
    tables: bool = False,
    limit: int = MAX_MARKDOWN_CHARS,
) -> str:
    """``text`` (CommonMark) as HTML; raw HTML is escaped unless ``allow_html``.

    ``tables`` adds GitHub's tables. Raises :class:`MarkdownTooLong` past ``limit``
    characters. Raw HTML, when allowed, is passed on as written: run the result
    through :func:`safe_html` (botkit's send path does) to drop unsafe URLs in it.
    """
    _check_length(text, limit)
    rendered: str = _engine(allow_html=allow_html, tables=tables).render(text)
    return rendered


async def render_async(
    text: str,
    *,
    allow_html: bool = False,
    tables: bool = False,
    limit: int = MAX_MARKDOWN_CHARS,
) -> str:
    """:func:`render`, in a worker thread for long text so that the event loop goes on."""
    _check_length(text, limit)
    if len(text) < THREAD_CHARS:
        return render(text, allow_html=allow_html, tables=tables, limit=limit)
    return await in_worker(render, text, allow_html=allow_html, tables=tables, limit=limit)


async def in_worker(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` in one of the render threads, for other long markdown work."""
    work = functools.partial(func, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_workers(), work)


@functools.cache
def _workers() -> ThreadPoolExecutor:
    # Few threads: a render holds the GIL, and each more thread takes turns from the
    # event loop; renders beyond these wait their turn instead.
    return ThreadPoolExecutor(max_workers=RENDER_THREADS, thread_name_prefix="botkit-markdown")


@dataclass(frozen=True, slots=True)
class SyntaxTree:
    """What a CommonMark parser reads in a text, for code that checks it.

    ``tokens`` are markdown-it's block tokens (an ``inline`` token's ``children`` are
    its inline tokens; ``map`` is a block's ``[first, end)`` line range, from 0);
    ``references`` maps each normalized link label the text defines to its
    destination. ``truncated`` is true when blocks nest deeper than the parser
    follows (:data:`MAX_NESTING`): whatever lies deeper was not read. Brackets nested
    that deep are not reported: the parser takes them as text, where another
    CommonMark parser may find a link; check them yourself.
    """

    tokens: list[Token]
    references: dict[str, str] = field(default_factory=dict)
    truncated: bool = False


def syntax_tree(text: str, *, limit: int = MAX_MARKDOWN_CHARS) -> SyntaxTree:
    """Parse ``text`` as CommonMark, raw HTML and unsafe links included, to inspect it.

    Raises :class:`MarkdownTooLong` past ``limit`` characters.
    """
    _check_length(text, limit)
    env: dict[str, Any] = {}
    tokens = _reader().parse(text, env)
    references = {
        label: str(reference.get("href", ""))
        for label, reference in env.get("references", {}).items()
    }
    deepest = max((t.level for t in _all_tokens(tokens)), default=0)
    return SyntaxTree(tokens, references, truncated=deepest >= MAX_NESTING - 1)


def _all_tokens(tokens: list[Token]) -> list[Token]:
    return tokens + [child for token in tokens for child in token.children or []]


def render_tokens(tokens: Sequence[Token], *, tables: bool = False) -> str:
    """HTML of tokens from :func:`parse_safe`, after the caller changed some of them."""
    engine = _engine(allow_html=False, tables=tables)
    rendered: str = engine.renderer.render(tokens, engine.options, {})
    return rendered


def parse_safe(text: str, *, tables: bool = False, limit: int = MAX_MARKDOWN_CHARS) -> list[Token]:
    """The tokens :func:`render` would render (raw HTML as text, unsafe links left out)."""
    _check_length(text, limit)
    return _engine(allow_html=False, tables=tables).parse(text)


# -- HTML made elsewhere ---------------------------------------------------------------

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
