"""Keeping text from users inside its place in the post.

A report is pasted into the post as markdown, and the blog (Zola, with pulldown-cmark)
turns that markdown into HTML. Without care a report could inject raw HTML, embed
images from other servers, link to ``javascript:``, redefine the post's own link
references, or call Zola shortcodes (an unknown one stops the site from building).

:func:`sanitize_markdown` guards against all of that in two steps:

1. A line scanner writes every ``<`` that could open an HTML tag as ``&lt;`` (unless it
   starts an autolink to a web or Matrix address), and ``![`` as ``\\![`` so an image
   becomes a plain link. Fenced code blocks and code spans are left alone, since the
   blog shows them literally.
2. A real CommonMark parser (:func:`botkit.markdown.syntax_tree`) then reads the result.
   Wherever it still finds raw HTML, an image or a link to an unsafe address, the whole
   block is escaped bluntly; so is all of a text that nests deeper than the parser
   follows, or is longer than it reads (:data:`~botkit.markdown.MAX_MARKDOWN_CHARS`).

Lines holding both ``|`` and a backtick get the blunt treatment at once: a table (a
blog extension CommonMark does not know) splits cells at ``|`` even inside code spans.
Last, an invisible word joiner goes between the braces of ``{{`` and ``{%``, which Zola
would read as shortcodes even in code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import unquote

from botkit.markdown import MAX_MARKDOWN_CHARS, MAX_NESTING, normalize_label, syntax_tree

if TYPE_CHECKING:
    from markdown_it.token import Token

__all__ = ["SAFE_SCHEMES", "escape_text", "safe_destination", "sanitize_markdown"]

SAFE_SCHEMES = frozenset({"http", "https", "mailto", "matrix"})
"""URL schemes a link from a report may use."""

_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}):[^\x00-\x20<>]*>")
_EMAIL_AUTOLINK = re.compile(
    r"<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*>"
)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_SHORTCODE = re.compile(r"\{(?=[{%])")
# Browsers drop these from URLs before they look at the scheme ("java\tscript:").
_URL_IGNORED = re.compile(r"[\t\n\r]")
_CONTROLS_AND_SPACE = "".join(chr(code) for code in range(0x21))
_LEADING_WS = re.compile(r"[ \t]+")
_TEXT_SPECIAL = re.compile(r"[\\`*\[\]<{&~|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MAX_ROUNDS = 4


def sanitize_markdown(text: str, reserved_labels: Iterable[str] = ()) -> str:
    """Return ``text`` as markdown that shows the same words but cannot escape its place.

    ``reserved_labels`` are link reference labels the post defines itself (such as
    ``#TWIM:matrix.org``); a text that defines one of them loses all its links, since
    CommonMark lets the first definition win.
    """
    return _sanitize(text, frozenset(reserved_labels))


# The post is rendered again for each draft, status and page; a report only once.
@functools.lru_cache(maxsize=4096)
def _sanitize(text: str, reserved_labels: frozenset[str]) -> str:
    lines = [_expand_indent(line) for line in _split_lines(text)]
    lines = _scan(lines)
    reserved = {normalize_label(label) for label in reserved_labels}
    for _ in range(_MAX_ROUNDS):
        unsafe = _unsafe_lines("\n".join(lines), reserved)
        if unsafe is None:
            lines = [_blunt(line) for line in lines]
            break
        if not unsafe:
            break
        lines = [_blunt(line) if number in unsafe else line for number, line in enumerate(lines)]
    else:
        # Each round removes at least one "<" or "["; text without them is inert.
        lines = [_blunt(line) for line in lines]
    return _SHORTCODE.sub("{\u2060", "\n".join(lines))


def escape_text(text: str) -> str:
    """Escape plain text (a display name, a host name) for use inside a markdown line.

    Runs of whitespace, line breaks included, become one space.
    """
    flat = " ".join(text.split())
    return _SHORTCODE.sub("{\u2060", _TEXT_SPECIAL.sub(lambda m: "\\" + m.group(), flat))


def _split_lines(text: str) -> list[str]:
    # CommonMark knows exactly these line endings; str.splitlines() knows more.
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _expand_indent(line: str) -> str:
    # A tab right after the quote's "> " counts differently than at the start of a
    # line; spaces make the quoted text parse as it does on its own.
    indent = _LEADING_WS.match(line)
    if indent is None or "\t" not in indent.group():
        return line
    return indent.group().expandtabs(4) + line[indent.end() :]


def _scan(lines: list[str]) -> list[str]:
    out: list[str] = []
    fence: tuple[str, int] | None = None
    for line in lines:
        table_risk = "|" in line and "`" in line
        if fence is not None:
            if _closes(line, fence):
                fence = None
            out.append(_blunt(line) if table_risk else line)
            continue
        fence = _opens(line)
        if fence is not None:
            out.append(_blunt(line) if table_risk else line)
        else:
            out.append(_escape_line(line, code_spans=not table_risk))
    return out


def _opens(line: str) -> tuple[str, int] | None:
    match = _FENCE_OPEN.fullmatch(line)
    if match is None:
        return None
    marks, info = match.groups()
    if marks[0] == "`" and "`" in info:
        return None
    return marks[0], len(marks)


def _closes(line: str, fence: tuple[str, int]) -> bool:
    match = _FENCE_CLOSE.fullmatch(line)
    if match is None:
        return False
    marks = match.group(1)
    return marks[0] == fence[0] and len(marks) >= fence[1]


def _escape_line(line: str, *, code_spans: bool) -> str:
    out: list[str] = []
    i, end = 0, len(line)
    while i < end:
        char = line[i]
        following = line[i + 1] if i + 1 < end else ""
        if char == "\\" and following in _PUNCTUATION:
            out.append(line[i : i + 2])
            i += 2
        elif char == "`":
            run = _run_length(line, i)
            close = _closing_run(line, i + run, run) if code_spans else -1
            stop = close if close >= 0 else i + run
            out.append(line[i:stop])
            i = stop
        elif char == "<" and (link := _safe_autolink(line, i)):
            out.append(link)
            i += len(link)
        elif char == "<" and _opens_html(following):
            out.append("&lt;")
            i += 1
        elif char == "!" and following == "[":
            out.append("\\!")
            i += 1
        elif char == "[" and not code_spans:
            out.append("\\[")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _run_length(line: str, start: int) -> int:
    end = start
    while end < len(line) and line[end] == "`":
        end += 1
    return end - start


def _closing_run(line: str, start: int, length: int) -> int:
    """Index just past the backtick run of exactly ``length`` that closes a code span."""
    for run in re.finditer(r"`+", line[start:]):
        if len(run.group()) == length:
            return start + run.end()
    return -1


def _opens_html(char: str) -> bool:
    return (char.isascii() and char.isalpha()) or char in ("/", "!", "?")


def _safe_autolink(line: str, start: int) -> str:
    """The autolink to a safe address that starts at ``start``, or ""."""
    email = _EMAIL_AUTOLINK.match(line, start)
    if email is not None:
        return email.group()
    link = _AUTOLINK.match(line, start)
    if link is None or link.group(1).lower() not in SAFE_SCHEMES:
        return ""
    return link.group()


def _blunt(line: str) -> str:
    # Entities are never markup, whatever precedes them, so this cannot be undone.
    return line.replace("<", "&lt;").replace("[", "&#91;")


def _unsafe_lines(text: str, reserved: set[str]) -> set[int] | None:
    """Line numbers (from 0) of blocks that still hold something unsafe; None: all."""
    if len(text) > MAX_MARKDOWN_CHARS:
        return None
    if _bracket_depth(text) >= MAX_NESTING // 2:
        # The parser gives up on links this deep and takes them as text; the blog's
        # parser does not, so whatever they link to would go unchecked.
        return None
    tree = syntax_tree(text)
    if tree.truncated:
        return None
    for label, destination in tree.references.items():
        if label in reserved or not safe_destination(destination):
            return None
    unsafe: set[int] = set()
    for token in tree.tokens:
        if _is_unsafe(token) or any(_is_unsafe(child) for child in token.children or []):
            if token.map is None:
                return None
            first, end = token.map
            unsafe.update(range(first, end))
    return unsafe


def _bracket_depth(text: str) -> int:
    """How deep unescaped ``[`` nest in ``text`` at most."""
    depth = deepest = 0
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            depth += 1
            deepest = max(deepest, depth)
        elif char == "]" and depth:
            depth -= 1
    return deepest


def _is_unsafe(token: Token) -> bool:
    if token.type in ("html_inline", "html_block", "image"):
        return True
    return token.type == "link_open" and not safe_destination(str(token.attrGet("href") or ""))


def safe_destination(url: str) -> bool:
    """Whether a link to ``url`` is harmless: a web, mail or Matrix address, or relative.

    Zola's own ``@/`` links are refused too: one to a page that does not exist stops
    the site from building.
    """
    plain = _URL_IGNORED.sub("", unquote(url)).lstrip(_CONTROLS_AND_SPACE)
    scheme = _SCHEME.match(plain)
    if scheme is not None:
        return scheme.group(1).lower() in SAFE_SCHEMES
    return not plain.startswith("@")
