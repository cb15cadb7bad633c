"""A report message as the markdown that stands in the post, and its quote.

Formatted messages (``org.matrix.custom.html``) are converted from HTML with mautrix's
formatter, tuned to the markdown of the published posts: ``*`` bullets and emphasis,
``<url>`` for bare links, mentions kept as matrix.to links, literal text escaped so it
stays literal. Plain bodies are taken as they are, since people write markdown there.
What the renderer puts in the post is made safe later by :mod:`.sanitize`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote as percent_encode

from mautrix.types import Format, UserID
from mautrix.util.formatter import EntityType, HTMLNode, MarkdownString, MatrixParser
from mautrix.util.formatter.parser import RecursionContext

from .sanitize import safe_destination

__all__ = ["html_to_markdown", "message_markdown", "quote", "split_heading"]

_ATX_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
# A backslash is escaped only where CommonMark would read it as one: before ASCII
# punctuation, at a line end, or at the text's end (markup may follow), so "\o/" stays.
_LITERAL = re.compile(
    r"\\(?=[!-/:-@\[-`{-~]|\n|$)|[`*\[\]~]|&(?=#?\w+;)|<(?=[A-Za-z/!?])|(?<!\w)_|_(?!\w)"
)
# What a line may start a block with (heading, quote, list item, setext underline):
# escaped where a text begins, since the text may begin a line of the post.
_BLOCK_START = re.compile(
    r"^(?:#{1,6}(?=[ \t]|$)|>|[-+](?=[ \t]|$)|(?:=+|-+)(?=[ \t]*$)|\d{1,9}(?=[.)](?:[ \t]|$)))",
    re.MULTILINE,
)
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_AUTOLINKABLE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\x00-\x20<>]*")
# All but what would end a link destination or start a code span in it.
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "<>\\`")
_BLOCK_ENTITIES = (EntityType.HEADER, EntityType.BLOCKQUOTE, EntityType.PREFORMATTED)
# Marks a list that directly follows a list of its kind (see _PostParser.list_to_fstring).
_NEXT_LIST = "data-twim-next-list"


async def message_markdown(
    body: str, formatted_body: str | None = None, fmt: Format | str | None = None
) -> str:
    """The markdown of a message: its HTML converted when it has some, else its body.

    HTML nested deeper than the converter follows (it recurses per element) is left
    for the body, which says the same in plain text.
    """
    if formatted_body and fmt is not None and str(fmt) == Format.HTML.value:
        try:
            return await html_to_markdown(formatted_body)
        except RecursionError:
            pass
    return body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")


async def html_to_markdown(html: str) -> str:
    """Convert Matrix HTML to markdown in the style of the published posts."""
    converted = str(await _PostParser().parse(html))
    lines = (line.rstrip() if not line.strip() else line for line in converted.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def quote(markdown: str) -> str:
    """Quote every line (``> ``), empty ones as a bare ``>``; outer blank lines go."""
    lines = markdown.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def split_heading(markdown: str) -> tuple[str | None, str]:
    """Split a leading markdown heading off a report: ``(heading text or None, rest)``.

    The heading comes back without its ``#`` marks; the rest starts at its first
    non-blank line.
    """
    lines = markdown.lstrip("\n").split("\n")
    match = _ATX_HEADING.fullmatch(lines[0])
    heading = (match.group(1) or "").strip() if match is not None else ""
    if not heading or not heading.strip("#"):
        return None, markdown
    rest = lines[1:]
    while rest and not rest[0].strip():
        rest.pop(0)
    return heading, "\n".join(rest)


class _Markdown(MarkdownString):
    """mautrix's markdown target, written the way the published posts are."""

    def format(self, entity_type: EntityType, **kwargs: Any) -> _Markdown:
        if entity_type == EntityType.ITALIC:
            self.text = f"*{self.text}*"
        elif entity_type == EntityType.INLINE_CODE:
            self.text = _code_span(self.text)
        elif entity_type == EntityType.PREFORMATTED:
            self.text = _code_block(self.text, kwargs.get("language", ""))
        elif entity_type == EntityType.BLOCKQUOTE:
            self.text = quote(self.text)
        elif entity_type == EntityType.HEADER:
            self.text = "#" * kwargs["size"] + " " + " ".join(self.text.split())
        elif entity_type == EntityType.SPOILER:
            # A blog post has nothing to hide a spoiler behind; the words stay.
            pass
        else:
            super().format(entity_type, **kwargs)
        if entity_type in _BLOCK_ENTITIES:
            # mautrix ends a paragraph with a blank line but other blocks with a line
            # break only; markdown would then run the next paragraph into them.
            self.text += "\n"
        return self


class _PostParser(MatrixParser[_Markdown]):
    """mautrix's HTML parser, with the choices the posts make where they differ."""

    fs = _Markdown

    def list_bullet(self, depth: int) -> str:
        return "* "

    async def node_to_tagged_fstrings(
        self, node: HTMLNode, ctx: RecursionContext
    ) -> list[tuple[_Markdown, str]]:
        _mark_next_lists(node)
        return await super().node_to_tagged_fstrings(node, ctx)

    async def list_to_fstring(self, node: HTMLNode, ctx: RecursionContext) -> _Markdown:
        listed = await super().list_to_fstring(node, ctx)
        if node.attrib.get(_NEXT_LIST):
            # CommonMark runs two lists with the same marker into one (loose) list, and
            # numbers the second on from the first: "-" bullets and "1)" numbers keep
            # it a list of its own, as the sender's client showed it.
            lines = listed.text.split("\n")
            first = re.compile(r"\d+\." if node.tag == "ol" else r"\* ")
            listed.text = "\n".join(_next_marker(line, first) for line in lines)
        listed.text += "\n"
        return listed

    async def hr_to_fstring(self, node: HTMLNode, ctx: RecursionContext) -> _Markdown:
        return _Markdown("---\n")

    async def node_to_fstring(self, node: HTMLNode, ctx: RecursionContext) -> _Markdown:
        if node.tag == "br" and not ctx.preserve_whitespace:
            # Two spaces make the line break a hard one, as the sender saw it.
            return _Markdown("  \n")
        return await super().node_to_fstring(node, ctx)

    async def text_to_fstring(
        self, text: str, ctx: RecursionContext, strip_leading_whitespace: bool = False
    ) -> _Markdown:
        plain = await super().text_to_fstring(text, ctx, strip_leading_whitespace)
        if not ctx.preserve_whitespace:
            escaped = _LITERAL.sub(lambda m: "\\" + m.group(), plain.text)
            plain.text = _BLOCK_START.sub(_escape_block_start, escaped)
        return plain

    async def img_to_fstring(self, node: HTMLNode, ctx: RecursionContext) -> _Markdown:
        # Inline images live on the sender's server; the post shows only their alt text.
        alt = node.attrib.get("alt") or node.attrib.get("title") or ""
        return await self.text_to_fstring(alt, ctx)

    async def user_pill_to_fstring(self, msg: _Markdown, user_id: UserID) -> _Markdown | None:
        # None lets the mention fall through to an ordinary matrix.to link.
        return None

    async def url_to_fstring(self, msg: _Markdown, url: str) -> _Markdown | None:
        if not safe_destination(url):
            return msg
        if _UNESCAPE.sub(r"\1", msg.text) == url and _AUTOLINKABLE.fullmatch(url):
            return _Markdown(f"<{url}>")
        destination = re.sub(r"[()]", r"\\\g<0>", percent_encode(url, safe=_URL_SAFE))
        return _Markdown(f"[{msg.text}]({destination})")


def _mark_next_lists(node: HTMLNode) -> None:
    """Mark each of ``node``'s lists that follows a list of its kind with nothing but
    white space between, alternately, so that neighbours never share a marker."""
    previous: HTMLNode | None = None
    for child in node:
        if (
            child.tag in ("ul", "ol")
            and previous is not None
            and previous.tag == child.tag
            and not previous.tail.strip()
            and not previous.attrib.get(_NEXT_LIST)
        ):
            child.attrib[_NEXT_LIST] = "1"
        previous = child


def _next_marker(line: str, first: re.Pattern[str]) -> str:
    """``line`` with its list marker switched to the other kind, if it starts an item."""
    marker = first.match(line)
    if marker is None:
        return line
    if line.startswith("*"):
        return "-" + line[1:]
    return line[: marker.end() - 1] + ")" + line[marker.end() :]


def _escape_block_start(match: re.Match[str]) -> str:
    start = match.group()
    # An ordered list's number is kept; the "." or ")" after it is what is escaped.
    return start + "\\" if start[0].isdigit() else "\\" + start


def _code_span(code: str) -> str:
    code = " ".join(code.split("\n"))
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * (longest + 1)
    if code.startswith("`") or code.endswith("`"):
        code = f" {code} "
    return f"{fence}{code}{fence}"


def _code_block(code: str, language: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    info = re.sub(r"[^\w+#.-]", "", language)
    code = code.rstrip("\n")
    return f"{fence}{info}\n{code}\n{fence}"
