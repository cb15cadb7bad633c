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

Links and images may only use safe schemes (:mod:`botkit.links`; images must be
``mxc://``, other images become links); raw HTML is shown as text unless allowed.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import CommandError
from .links import IMAGE_SCHEMES, LINK_SCHEMES, safe_url

if TYPE_CHECKING:
    # markdown-it-py is imported when text is first rendered or parsed: a bot whose
    # plugins send no markdown does not carry it (about 1 MB, 15 ms at start).
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

__all__ = [
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
    "syntax_tree",
]

MAX_MARKDOWN_CHARS = 30_000
"""The longest markdown :func:`render` formats. A longer text could not be sent with its
HTML anyway (body and HTML must fit in one 64 KiB event), and the cap bounds the time a
render takes on hostile input to well under a second."""

THREAD_CHARS = 1_000
"""From this length on, :func:`render_async` renders in a worker thread."""

RENDER_THREADS = 2
"""How many renders :func:`render_async` and :func:`in_worker` run at once."""

T = TypeVar("T")

MAX_NESTING = 20
"""How deep the parser follows nested blocks and brackets (markdown-it's default: more
makes hostile links several times slower to parse). Deeper text is left unparsed."""


class MarkdownTooLong(CommandError, ValueError):
    """Markdown longer than :data:`MAX_MARKDOWN_CHARS`; the message says so to the user."""

    def __init__(self, length: int, limit: int = MAX_MARKDOWN_CHARS) -> None:
        self.length = length
        self.limit = limit
        super().__init__(f"That is too long to format: {length:,} characters, at most {limit:,}.")


def normalize_label(label: str) -> str:
    """A link reference label as CommonMark matches it (case and whitespace folded)."""
    from markdown_it.common.utils import normalizeReference

    return normalizeReference(label)


def _image(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """An ``mxc://`` (or relative) image as an image; any other as a link to it, or its text."""
    from markdown_it.common.utils import escapeHtml

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
    from markdown_it import MarkdownIt

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
    from markdown_it import MarkdownIt

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
    through :func:`botkit.links.safe_html` (botkit's send path does) to drop unsafe URLs in it.
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
