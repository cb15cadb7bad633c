"""The instance's HTTP routes, at pingstat's addresses.

``{room_id}/stats`` (a page, or ``stats.json`` for ``Accept: application/json``),
``{room_id}/stats.json``, ``{room_id}/stats.raw.json`` (every stored pong, no
statistics) and botkit's ``{room_id}/stats.md`` (the "Dept of Ping" table; it
also takes ``top``). Each takes ``max_age`` and ``min_age`` in seconds, as
pingstat does; except in the raw dump, the span between them is capped at the
configured window (7 days by default, pingstat's cap). pingstat's older forms
``stats?room_id=…`` (and ``.json``, ``.raw.json``, and botkit's ``.md``) redirect
to these, keeping the other parameters (pingstat drops them); a room ID with a
``/``, which no path segment carries, is answered at the query form itself.

Stricter than pingstat, deliberately: a malformed parameter is answered with 400
and a message naming it, where pingstat silently uses its default.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from aiohttp import web
from mautrix.types import RoomID

from botkit import PluginWeb
from botkit.web import Handler

from .page import PageInfo, describe_window, stats_page
from .render import ranking_markdown
from .service import PingStats, now_ms
from .settings import MAX_DAYS

__all__ = ["BadQuery", "StatsQuery", "StatsSite", "read_query", "read_room", "read_top"]

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


def read_room(value: str | None) -> RoomID:
    """``value`` as a room ID; :class:`BadQuery` if it is missing or cannot be one."""
    if not value:
        raise BadQuery("room_id is required, e.g. ?room_id=!abc:example.org")
    if not _ROOM_ID.fullmatch(value):
        raise BadQuery("room_id must be a room ID: '!' followed by up to 254 visible characters")
    return RoomID(value)


def read_query(
    query: Mapping[str, str],
    default_max_age_s: int,
    *,
    room_id: str | None = None,
    max_span_s: int | None = None,
) -> StatsQuery:
    """The room (``room_id``, else the query's) and ``max_age``/``min_age`` from ``query``.

    With ``max_span_s``, a window longer than that is shortened at its old end, as
    pingstat does: ``max_age`` becomes ``min_age + max_span_s``.
    """
    room = read_room(query.get("room_id") if room_id is None else room_id)
    max_age = _seconds(query, "max_age", default_max_age_s)
    min_age = _seconds(query, "min_age", 0)
    if min_age > max_age:
        raise BadQuery(f"min_age ({min_age}) must not be greater than max_age ({max_age})")
    if max_span_s is not None and max_age - min_age > max_span_s:
        max_age = min_age + max_span_s
    return StatsQuery(room, max_age, min_age)


def read_top(query: Mapping[str, str], default: int) -> int:
    """``top`` from ``query`` (how many rows), ``default`` when absent."""
    value = query.get("top")
    if value is None or value == "":
        return default
    if not _NUMBER.fullmatch(value) or not 1 <= int(value) <= MAX_TOP:
        raise BadQuery(f"top must be a whole number from 1 to {MAX_TOP}")
    return int(value)


def room_path(room_id: str, form: str) -> str:
    """The path of one of a room's pages, relative to the instance: ``!r%3Ax/stats``.

    Only what a path segment cannot hold is escaped; a room ID's ``!`` and ``:`` stay.
    """
    return f"{quote(room_id, safe='!:@$&+,;=')}/{form}"


def wants_json(request: web.Request) -> bool:
    """Whether the client asked for JSON (pingstat: ``application/json`` in ``Accept``)."""
    return "application/json" in request.headers.get("Accept", "")


_Answer = Callable[[web.Request, StatsQuery], Awaitable[web.StreamResponse]]


class StatsSite:
    """Serves the rankings of :class:`PingStats` under the instance's web prefix."""

    def __init__(self, web: PluginWeb, stats: PingStats) -> None:
        self.web = web
        self.stats = stats

    def register(self) -> None:
        """Add the routes (botkit removes them when the instance stops)."""
        self.web.add_middleware(_bad_queries)
        answers: dict[str, tuple[_Answer, bool]] = {
            "stats": (self.stats_html, True),
            "stats.json": (self.stats_json, True),
            "stats.raw.json": (self.stats_raw, False),
            "stats.md": (self.stats_md, True),
        }
        for form, (answer, capped) in answers.items():
            self.web.add_get("{room_id}/" + form, self._in_room(answer, capped))
            self.web.add_get(form, self._redirect(form, answer, capped))

    def _in_room(self, answer: _Answer, capped: bool) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._answer(request, request.match_info["room_id"], answer, capped)

        return handle

    async def _answer(
        self, request: web.Request, room_id: str | None, answer: _Answer, capped: bool
    ) -> web.StreamResponse:
        window = self.stats.settings.window_s
        span = window if capped else None
        query = read_query(request.query, window, room_id=room_id, max_span_s=span)
        return await answer(request, query)

    def _redirect(self, form: str, answer: _Answer, capped: bool) -> Handler:
        """The handler of ``form?room_id=…``: a redirect to ``{room_id}/form``, as pingstat's."""

        async def redirect(request: web.Request) -> web.StreamResponse:
            room = read_room(request.query.get("room_id"))
            if "/" in room:
                # A path segment cannot carry it (proxies and aiohttp decode %2F):
                # answer here rather than redirect to an address that cannot work.
                return await self._answer(request, None, answer, capped)
            rest = [(k, v) for k, v in request.query.items() if k != "room_id"]
            # Relative, as pingstat's: it stays right behind a proxy that moves the prefix.
            location = "./" + room_path(room, form) + ("?" + urlencode(rest) if rest else "")
            raise web.HTTPFound(location)

        return redirect

    async def stats_json(self, request: web.Request, query: StatsQuery) -> web.StreamResponse:
        """``GET {room_id}/stats.json[?max_age=…&min_age=…]``: pingstat's export."""
        data = await self.stats.export(
            query.room_id, max_age_s=query.max_age_s, min_age_s=query.min_age_s
        )
        # A busy week lists every pong: encoding it would hold up the event loop.
        body = await asyncio.to_thread(json.dumps, data)
        return web.Response(text=body, content_type="application/json")

    async def stats_raw(self, request: web.Request, query: StatsQuery) -> web.StreamResponse:
        """``GET {room_id}/stats.raw.json``: every pong counted in the window, oldest first."""
        body = await self.stats.raw(
            query.room_id, max_age_s=query.max_age_s, min_age_s=query.min_age_s
        )
        return web.Response(body=body, content_type="application/json")

    async def stats_html(self, request: web.Request, query: StatsQuery) -> web.StreamResponse:
        """``GET {room_id}/stats``: the ranking as a page, or stats.json if JSON is asked for."""
        if wants_json(request):
            response = await self.stats_json(request, query)
        else:
            response = await self._page(query)
        # The same address answers in two formats: caches must tell them apart.
        response.headers["Vary"] = "Accept"
        return response

    async def _page(self, query: StatsQuery) -> web.StreamResponse:
        window = {"max_age_s": query.max_age_s, "min_age_s": query.min_age_s}
        rows = await self.stats.ranking(query.room_id, **window)
        breakdown = await self.stats.responder_means(query.room_id, **window)
        settings = self.stats.settings
        params: dict[str, str] = {}
        if query.max_age_s != settings.window_s or query.min_age_s:
            params = {"max_age": str(query.max_age_s), "min_age": str(query.min_age_s)}
        suffix = "?" + urlencode(params) if params else ""
        info = PageInfo(
            room_id=query.room_id,
            window=describe_window(query.max_age_s, query.min_age_s),
            min_ms=settings.min_ms,
            max_ms=settings.max_ms,
            generated_ms=now_ms(),
            disclaimer=settings.disclaimer,
            json_url=self.web.url(room_path(query.room_id, "stats.json")) + suffix,
            raw_url=self.web.url(room_path(query.room_id, "stats.raw.json")) + suffix,
            markdown_url=self.web.url(room_path(query.room_id, "stats.md")) + suffix,
        )
        return web.Response(
            text=stats_page(rows, breakdown, info),
            content_type="text/html",
            charset="utf-8",
            headers={"Content-Security-Policy": _PAGE_POLICY},
        )

    async def stats_md(self, request: web.Request, query: StatsQuery) -> web.StreamResponse:
        """``GET {room_id}/stats.md?top=10``: the "Dept of Ping" table (a header alone if empty)."""
        top = read_top(request.query, self.stats.settings.top)
        rows = await self.stats.ranking(
            query.room_id, max_age_s=query.max_age_s, min_age_s=query.min_age_s, limit=top
        )
        return web.Response(
            text=ranking_markdown(rows, top) + "\n", content_type="text/markdown", charset="utf-8"
        )


async def _bad_queries(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers a :class:`BadQuery` from any route with 400: JSON to a client that reads
    JSON, text to anyone else."""
    try:
        return await handler(request)
    except BadQuery as e:
        if request.path.endswith(".json") or wants_json(request):
            return web.json_response({"error": str(e)}, status=400)
        return web.Response(status=400, text=str(e))
