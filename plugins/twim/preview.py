"""The draft on the web: the markdown file, a readable HTML page, and its images.

Routes, under the instance's prefix: ``draft.md`` (``?date=YYYY-MM-DD`` sets the post's
date), ``""`` (the same as a page) and ``media?event=<event id>`` (an image of the
draft, fetched from the homeserver). Only files the draft shows are served, so the
route cannot be used to fetch arbitrary media with the bot's account.

The page renders the markdown with :mod:`botkit.markdown` (raw HTML shown as text, no
``javascript:`` links, tables as the blog has them) under a Content-Security-Policy that
allows no scripts at all. A post is made of capped, sanitized reports, so its render
takes linear time; it runs in a render thread all the same (as does ``draft.md``, which
sanitizes the reports), since a week's post is long.
"""

from __future__ import annotations

import html
import mimetypes
import re
from collections.abc import Awaitable, Callable
from datetime import date
from urllib.parse import quote

from aiohttp import ClientError, web
from mautrix.errors import MatrixError

from botkit import PluginWeb
from botkit.markdown import in_worker, parse_safe, render_tokens

from .access import guarded
from .draft import Draft, issues_markdown
from .publish import Download, is_missing
from .render import image_name

__all__ = ["PreviewSite", "page_html"]

_PAGE_POLICY = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'"
_MEDIA_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
_LIVE = re.compile(r'^\{\{ youtube_player\(video_id="([A-Za-z0-9_-]+)"\) \}\}$', re.MULTILINE)
_TITLE = re.compile(r'^title = "(.*)"$', re.MULTILINE)
_IMAGE_PATH = "/blog/img/"
# A week's whole post: far more than a message, still rendered in well under a second.
_MAX_PAGE_CHARS = 4_000_000
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
        # Rendering sanitizes each report that is new since the last render.
        text = await in_worker(lambda: draft.markdown)
        return web.Response(
            text=text,
            content_type="text/markdown",
            charset="utf-8",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
        )

    async def page(self, request: web.Request) -> web.Response:
        """``GET /``: the draft as a page, images included."""
        draft = await self.drafts(self._day(request))
        page = await in_worker(page_html, draft, self.web.url("media"))
        return web.Response(
            text=page,
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
    tokens = parse_safe(markdown, tables=True, limit=_MAX_PAGE_CHARS)
    for token in tokens:
        for child in token.children or []:
            attribute = {"image": "src", "link_open": "href"}.get(child.type)
            destination = str(child.attrGet(attribute) or "") if attribute else ""
            if attribute and destination.startswith(_IMAGE_PATH):
                child.attrSet(attribute, files.get(destination, ""))
    return render_tokens(tokens, tables=True)


def _media_type(filename: str) -> str:
    guessed, _ = mimetypes.guess_type(filename)
    if guessed and guessed.split("/")[0] in ("image", "video"):
        return guessed
    return "application/octet-stream"
