"""The draft on the web: the markdown file, a readable HTML page, and its images.

Routes, under the instance's prefix: ``draft.md`` (``?date=YYYY-MM-DD`` sets the post's
date), ``""`` (the same as a page) and ``media?event=<event id>`` (an image of the
draft, fetched from the homeserver). Only files the draft shows are served, so the
route cannot be used to fetch arbitrary media with the bot's account.

The page renders the markdown with commonmark in safe mode (no raw HTML, no
``javascript:`` links) under a Content-Security-Policy that allows no scripts at all.
commonmark knows no tables, so the post's tables are rendered here.
"""

from __future__ import annotations

import html
import mimetypes
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from urllib.parse import quote

import commonmark
from aiohttp import ClientError, web
from mautrix.errors import MatrixError

from botkit import PluginWeb

from .access import guarded
from .draft import Draft, issues_markdown
from .publish import Download, is_missing
from .render import image_name

__all__ = ["PreviewSite", "page_html"]

_PAGE_POLICY = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'"
_MEDIA_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
_LIVE = re.compile(r'^\{\{ youtube_player\(video_id="([A-Za-z0-9_-]+)"\) \}\}$', re.MULTILINE)
_TITLE = re.compile(r'^title = "(.*)"$', re.MULTILINE)
_DELIMITER_ROW = re.compile(r"\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_IMAGE_PATH = "/blog/img/"
_CSS = """
body { font: 16px/1.6 system-ui, sans-serif; color: #1b1b1b; background: #f6f6f4; margin: 0; }
main { max-width: 46rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; background: #fff; }
.banner { background: #fff3c4; border: 1px solid #e0c060; padding: .5rem 1rem; }
h1 { font-size: 2rem; line-height: 1.2; }
h2 { border-bottom: 2px solid #0dbd8b; padding-bottom: .2rem; margin-top: 2.5rem; }
blockquote { margin: 1rem 0; padding: .1rem 1rem; border-left: 4px solid #ccc; color: #333; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 1rem auto; }
th, td { border: 1px solid #ccc; padding: .3rem .8rem; }
pre { overflow-x: auto; background: #f0f0f0; padding: .5rem; }
.issues { border: 1px solid #d88; background: #fff4f4; padding: .5rem 1rem; margin: 1rem 0; }
"""

DraftFor = Callable[[date], Awaitable[Draft]]


class PreviewSite:
    """The instance's web routes for the draft, behind ``token`` when one is set."""

    def __init__(
        self,
        web: PluginWeb,
        drafts: DraftFor,
        today: Callable[[], date],
        download: Download,
        token: str | None = None,
    ) -> None:
        self.web = web
        self.drafts = drafts
        self.today = today
        self.download = download
        self.token = token

    def register(self) -> None:
        """Add the routes (botkit removes them when the instance stops)."""
        self.web.add_get("", guarded(self.token, self.page, cookie_path=self.web.url("")))
        self.web.add_get("draft.md", guarded(self.token, self.markdown))
        self.web.add_get("media", guarded(self.token, self.media))

    def _day(self, request: web.Request) -> date:
        given = request.query.get("date")
        if not given:
            return self.today()
        try:
            return date.fromisoformat(given)
        except ValueError:
            raise web.HTTPBadRequest(text="date must be YYYY-MM-DD") from None

    async def markdown(self, request: web.Request) -> web.Response:
        """``GET draft.md``: the post as it would be published now."""
        draft = await self.drafts(self._day(request))
        return web.Response(
            text=draft.markdown,
            content_type="text/markdown",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
        )

    async def page(self, request: web.Request) -> web.Response:
        """``GET /``: the draft as a page, images included."""
        draft = await self.drafts(self._day(request))
        return web.Response(
            text=page_html(draft, self.web.url("media")),
            content_type="text/html",
            charset="utf-8",
            headers={"Content-Security-Policy": _PAGE_POLICY, "Cache-Control": "no-store"},
        )

    async def media(self, request: web.Request) -> web.Response:
        """``GET media?event=...``: one image or video of the draft."""
        wanted = request.query.get("event", "")
        draft = await self.drafts(self.today())
        keys = {section.key for section in draft.post.sections}
        for entry in draft.post.entries:
            for attachment in entry.attachments:
                if attachment.event_id == wanted and entry.section in keys:
                    try:
                        data = await self.download(attachment.url)
                    except (MatrixError, ClientError, TimeoutError, ValueError) as e:
                        if is_missing(e):
                            raise web.HTTPNotFound(text="the homeserver has no such file") from e
                        raise web.HTTPBadGateway(text=f"the homeserver did not give it: {e}") from e
                    return web.Response(
                        body=data,
                        content_type=_media_type(attachment.filename),
                        headers={
                            "Content-Security-Policy": _MEDIA_POLICY,
                            "X-Content-Type-Options": "nosniff",
                        },
                    )
        raise web.HTTPNotFound(text="no such image in the draft")


def page_html(draft: Draft, media_path: str) -> str:
    """The draft as a self-contained HTML page; images come from ``media_path``."""
    post = draft.post
    markdown = draft.markdown
    title_match = _TITLE.search(markdown)
    title = title_match[1] if title_match else f"This Week in Matrix {post.date}"
    body = _without_front_matter(markdown)
    body = _LIVE.sub(
        lambda m: f"[▶ Matrix Live on YouTube](https://www.youtube.com/watch?v={m[1]})", body
    )
    files = {
        _IMAGE_PATH + image_name(post.date, attachment.event_id, attachment.filename): (
            f"{media_path}?event={quote(attachment.event_id, safe='')}"
        )
        for entry in post.entries
        for attachment in entry.attachments
    }
    issues = _render(issues_markdown(draft.issues), {}) if draft.issues else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Draft: {html.escape(title)}</title><style>{_CSS}</style></head>\n<body><main>"
        '<p class="banner">Draft preview, not published. It changes as the editors react.</p>'
        f"<h1>{html.escape(title)}</h1>"
        + (f'<section class="issues">{issues}</section>' if issues else "")
        + f"<article>{_render(body, files)}</article></main></body></html>\n"
    )


def _without_front_matter(markdown: str) -> str:
    if markdown.startswith("+++\n"):
        end = markdown.find("\n+++\n", 3)
        if end != -1:
            return markdown[end + 5 :]
    return markdown


def _render(markdown: str, files: dict[str, str]) -> str:
    """Markdown to safe HTML, tables included, ``/blog/img/`` links pointed at ``files``."""
    source, tables = _take_tables(markdown)
    document = commonmark.Parser().parse(source)
    for node, entering in document.walker():
        if entering and node.t in ("image", "link"):
            destination = node.destination or ""
            if destination.startswith(_IMAGE_PATH):
                node.destination = files.get(destination, "")
    rendered: str = commonmark.HtmlRenderer({"safe": True}).render(document)
    for token, table in tables.items():
        rendered = rendered.replace(f"<p>{token}</p>", table)
    return rendered


def _take_tables(markdown: str) -> tuple[str, dict[str, str]]:
    """Replace each top-level table by a token paragraph; return the tables' HTML."""
    lines = markdown.split("\n")
    out: list[str] = []
    tables: dict[str, str] = {}
    fence: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened[1][0] == fence[0] and len(opened[1]) >= len(fence):
                fence = None
        elif opened:
            fence = opened[1]
        elif line.startswith("|") and i + 1 < len(lines) and _DELIMITER_ROW.fullmatch(lines[i + 1]):
            end = i + 2
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            token = f"twimtable{uuid.uuid4().hex}"
            tables[token] = _table_html(lines[i], lines[i + 1], lines[i + 2 : end])
            out += ["", token, ""]
            i = end
            continue
        out.append(line)
        i += 1
    return "\n".join(out), tables


def _cells(row: str) -> list[str]:
    row = row.strip()
    row = row.removeprefix("|")
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)]


def _table_html(head: str, delimiter: str, rows: list[str]) -> str:
    aligns = []
    for cell in _cells(delimiter):
        left, right = cell.startswith(":"), cell.endswith(":")
        aligns.append("center" if left and right else "right" if right else "left")

    def row_html(row: str, tag: str) -> str:
        cells = _cells(row)
        return (
            "<tr>"
            + "".join(
                f'<{tag} style="text-align:{aligns[j] if j < len(aligns) else "left"}">'
                f"{_inline(cells[j] if j < len(cells) else '')}</{tag}>"
                for j in range(len(aligns))
            )
            + "</tr>"
        )

    body = "".join(row_html(row, "td") for row in rows)
    return f"<table><thead>{row_html(head, 'th')}</thead><tbody>{body}</tbody></table>"


def _inline(markdown: str) -> str:
    rendered: str = commonmark.HtmlRenderer({"safe": True}).render(
        commonmark.Parser().parse(markdown)
    )
    return rendered.strip().removeprefix("<p>").removesuffix("</p>")


def _media_type(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename)
    if guessed and guessed.split("/")[0] in ("image", "video"):
        return guessed
    return "application/octet-stream"
