"""The one HTTP server: health, metrics, and each plugin instance's routes.

The routes of an instance can change while the server runs (a plugin reload),
which aiohttp's frozen router does not allow; so the server has one catch-all
route per instance prefix and :class:`PluginWeb` keeps each instance's table.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["Handler", "PluginWeb", "WebServer"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("botkit.web")
# aiohttp's limits are 8190 bytes per request line and header: an 8 KB link to a
# plugin page was refused. Longer lines are still refused, quietly (see _BadRequests).
MAX_LINE = 16384


class _BadRequests(logging.Filter):
    """Turns aiohttp's traceback for a request it could not parse into one debug line.

    A URL or header beyond the limits, or bytes that are no HTTP at all, is the
    client's mistake (or a scanner's): it gets its 400, and the log no traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            log.debug("refused a malformed HTTP request: %s", str(error.message)[:200])
            return False
        return True


_server_log = logging.getLogger("botkit.web.server")
_server_log.addFilter(_BadRequests())


class PluginWeb:
    """One plugin instance's routes: ``add_get("stats.json", handler)`` and friends.

    Paths are relative to ``/_botkit/plugins/<instance>/``; ``""`` is that page itself.
    A segment written ``{name}`` matches any one non-empty segment, which the handler
    reads as ``request.match_info["name"]`` (``add_get("{room_id}/stats", ...)``);
    a path without placeholders wins over one with them.
    """

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self.prefix = f"/_botkit/plugins/{instance}/"
        self._routes: dict[tuple[str, str], Handler] = {}

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """Serve ``method path`` with ``handler``."""
        self._routes[(method.upper(), path.strip("/"))] = handler

    def add_get(self, path: str, handler: Handler) -> None:
        """Serve ``GET path`` (and ``HEAD``) with ``handler``."""
        self.add_route("GET", path, handler)

    def add_post(self, path: str, handler: Handler) -> None:
        """Serve ``POST path`` with ``handler``."""
        self.add_route("POST", path, handler)

    def clear(self) -> None:
        """Drop every route (the instance stopped)."""
        self._routes.clear()

    def url(self, path: str = "") -> str:
        """The absolute path of one of this instance's routes, for links in pages."""
        return self.prefix + path.lstrip("/")

    async def dispatch(self, request: web.Request, tail: str) -> web.StreamResponse:
        """Answer ``request`` for ``tail`` from this instance's table."""
        method = "GET" if request.method == "HEAD" else request.method
        tail = tail.strip("/")
        handler = self._routes.get((method, tail))
        if handler is None:
            for (route_method, path), route_handler in self._routes.items():
                params = _match(path, tail)
                if route_method == method and params:
                    request.match_info.update(params)
                    handler = route_handler
                    break
        if handler is None:
            if any(path == tail or _match(path, tail) for _, path in self._routes):
                raise web.HTTPMethodNotAllowed(request.method, self._methods(tail))
            raise web.HTTPNotFound()
        return await handler(request)

    def _methods(self, tail: str) -> list[str]:
        return sorted(m for m, p in self._routes if p == tail or _match(p, tail))


def _match(pattern: str, path: str) -> dict[str, str] | None:
    """The placeholders of ``pattern`` filled from ``path``; None if it does not match.

    A pattern without placeholders gives None: exact paths are looked up directly.
    """
    if "{" not in pattern:
        return None
    expected, given = pattern.split("/"), path.split("/")
    if len(expected) != len(given):
        return None
    params: dict[str, str] = {}
    for want, got in zip(expected, given, strict=True):
        if want.startswith("{") and want.endswith("}") and got:
            params[want[1:-1]] = got
        elif want != got:
            return None
    return params


class WebServer:
    """aiohttp runner for the bot's HTTP endpoints."""

    def __init__(
        self,
        host: str,
        port: int,
        health: Callable[[], dict[str, Any]],
        metrics: Callable[[], str],
        plugin_web: Callable[[str], PluginWeb | None],
    ) -> None:
        self.host = host
        self.port = port
        self._health = health
        self._metrics = metrics
        self._plugin_web = plugin_web
        self._runner: web.AppRunner | None = None
        self.app = web.Application()
        self.app.router.add_get("/_botkit/health", self._get_health)
        self.app.router.add_get("/_botkit/metrics", self._get_metrics)
        self.app.router.add_route("*", "/_botkit/plugins/{instance}/{tail:.*}", self._to_plugin)
        self.app.router.add_route("*", "/_botkit/plugins/{instance}", self._to_plugin)

    async def start(self) -> None:
        """Listen; ``port`` 0 picks a free port, written back to ``self.port``."""
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            logger=_server_log,
            max_line_size=MAX_LINE,
            max_field_size=MAX_LINE,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = self._runner.addresses
        if sockets:
            self.port = int(sockets[0][1])

    async def stop(self) -> None:
        """Stop listening and finish open requests."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _get_health(self, request: web.Request) -> web.Response:
        return web.json_response(self._health())

    async def _get_metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=self._metrics(), content_type="text/plain", charset="utf-8")

    async def _to_plugin(self, request: web.Request) -> web.StreamResponse:
        pw = self._plugin_web(request.match_info["instance"])
        if pw is None:
            raise web.HTTPNotFound(text="no such running plugin instance")
        return await pw.dispatch(request, request.match_info.get("tail", ""))
