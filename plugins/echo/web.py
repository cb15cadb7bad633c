"""The instance's HTTP routes: ``stats.json``, ``stats`` (a page) and ``stats.md``.

All three take ``room_id`` and optionally ``max_age`` and ``min_age`` (seconds, as
pingstat's ``stats.json`` does); ``stats.md`` also takes ``top``. A missing or
malformed parameter is answered with 400 and a message naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web
from mautrix.types import RoomID

from botkit import PluginWeb

from .page import PageInfo, describe_window, stats_page
from .render import ranking_markdown
from .service import PingStats, now_ms
from .settings import MAX_DAYS

__all__ = ["BadQuery", "StatsQuery", "StatsSite", "read_query", "read_top"]

MAX_AGE_S = MAX_DAYS * 86400
"""The largest ``max_age``/``min_age`` accepted."""
MAX_TOP = 1000
"""The most rows ``stats.md`` lists."""

_NUMBER = re.compile(r"[0-9]{1,12}")
# Room IDs are opaque after the sigil (spec: appendices, "Room IDs"), so only what
# cannot be part of one is refused: whitespace and control characters.
_ROOM_ID = re.compile(r"![^\s\x00-\x1f\x7f]{1,254}")
# The page has no scripts and loads nothing; the policy keeps it that way even if
# something slipped through escaping.
_PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


class BadQuery(ValueError):
    """A query parameter that is missing or malformed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class StatsQuery:
    """The room and the time window a request asks for."""

    room_id: RoomID
    max_age_s: int
    min_age_s: int


def _seconds(query: Mapping[str, str], key: str, default: int) -> int:
    value = query.get(key)
    if value is None or value == "":
        return default
    if not _NUMBER.fullmatch(value) or int(value) > MAX_AGE_S:
        raise BadQuery(f"{key} must be a whole number of seconds from 0 to {MAX_AGE_S}")
    return int(value)


def read_query(query: Mapping[str, str], default_max_age_s: int) -> StatsQuery:
    """``room_id``, ``max_age`` and ``min_age`` from ``query``; :class:`BadQuery` if wrong."""
    room_id = query.get("room_id", "")
    if not room_id:
        raise BadQuery("room_id is required, e.g. ?room_id=!abc:example.org")
    if not _ROOM_ID.fullmatch(room_id):
        raise BadQuery("room_id must be a room ID: '!' followed by up to 254 visible characters")
    max_age = _seconds(query, "max_age", default_max_age_s)
    min_age = _seconds(query, "min_age", 0)
    if min_age > max_age:
        raise BadQuery(f"min_age ({min_age}) must not be greater than max_age ({max_age})")
    return StatsQuery(RoomID(room_id), max_age, min_age)


def read_top(query: Mapping[str, str], default: int) -> int:
    """``top`` from ``query`` (how many rows), ``default`` when absent."""
    value = query.get("top")
    if value is None or value == "":
        return default
    if not _NUMBER.fullmatch(value) or not 1 <= int(value) <= MAX_TOP:
        raise BadQuery(f"top must be a whole number from 1 to {MAX_TOP}")
    return int(value)


class StatsSite:
    """Serves the rankings of :class:`PingStats` under the instance's web prefix."""

    def __init__(self, web: PluginWeb, stats: PingStats) -> None:
        self.web = web
        self.stats = stats

    def register(self) -> None:
        """Add the routes (botkit removes them when the instance stops)."""
        self.web.add_get("stats.json", self.stats_json)
        self.web.add_get("stats", self.stats_html)
        self.web.add_get("stats.md", self.stats_md)

    def _query(self, request: web.Request) -> StatsQuery:
        return read_query(request.query, self.stats.settings.window_s)

    async def stats_json(self, request: web.Request) -> web.StreamResponse:
        """``GET stats.json?room_id=…[&max_age=…&min_age=…]``: pingstat's export."""
        try:
            query = self._query(request)
        except BadQuery as e:
            return web.json_response({"error": str(e)}, status=400)
        data = await self.stats.export(
            query.room_id, max_age_s=query.max_age_s, min_age_s=query.min_age_s
        )
        return web.json_response(data)

    async def stats_html(self, request: web.Request) -> web.StreamResponse:
        """``GET stats?room_id=…``: the ranking as a page, the top three highlighted."""
        try:
            query = self._query(request)
        except BadQuery as e:
            return web.Response(status=400, text=str(e))
        rows = await self.stats.ranking(
            query.room_id, max_age_s=query.max_age_s, min_age_s=query.min_age_s
        )
        settings = self.stats.settings
        params: dict[str, str] = {"room_id": query.room_id}
        if query.max_age_s != settings.window_s or query.min_age_s:
            params |= {"max_age": str(query.max_age_s), "min_age": str(query.min_age_s)}
        info = PageInfo(
            room_id=query.room_id,
            window=describe_window(query.max_age_s, query.min_age_s),
            min_ms=settings.min_ms,
            max_ms=settings.max_ms,
            generated_ms=now_ms(),
            json_url=self.web.url("stats.json") + "?" + urlencode(params),
            markdown_url=self.web.url("stats.md") + "?" + urlencode(params),
        )
        return web.Response(
            text=stats_page(rows, info),
            content_type="text/html",
            charset="utf-8",
            headers={"Content-Security-Policy": _PAGE_POLICY},
        )

    async def stats_md(self, request: web.Request) -> web.StreamResponse:
        """``GET stats.md?room_id=…&top=10``: the "Dept of Ping" table (a header alone if empty)."""
        try:
            query = self._query(request)
            top = read_top(request.query, self.stats.settings.top)
        except BadQuery as e:
            return web.Response(status=400, text=str(e))
        rows = await self.stats.ranking(
            query.room_id, max_age_s=query.max_age_s, min_age_s=query.min_age_s, limit=top
        )
        return web.Response(
            text=ranking_markdown(rows, top) + "\n", content_type="text/markdown", charset="utf-8"
        )
