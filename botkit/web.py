"""The one HTTP server: health, metrics, and each plugin instance's routes.

Each instance has an aiohttp router of its own (:class:`PluginWeb`), for paths
under ``/_botkit/plugins/<instance>/``: path parameters, methods and static files
are aiohttp's, and so are the instance's middlewares. The server's router is
frozen once it serves, while an instance's routes come and go with reloads, so
one resource of the server (:class:`_PluginsResource`) hands each request to
the router of the instance it names.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.abc import AbstractMatchInfo
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_urldispatcher import AbstractResource, AbstractRoute, MatchInfoError, _InfoDict
from yarl import URL

__all__ = ["PREFIX", "Handler", "Middleware", "PluginWeb", "WebServer"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
"""aiohttp's middleware: ``async def m(request, handler)`` calls ``handler(request)`` or not."""

PREFIX = "/_botkit/plugins/"
"""Where the instances' routes are: ``/_botkit/plugins/<instance>/<path>``."""

log = logging.getLogger("botkit.web")
# aiohttp's limits are 8190 bytes per request line and header: an 8 KB link to a
# plugin page was refused. Longer lines are still refused, quietly (see _BadRequests).
MAX_LINE = 16384
_R = TypeVar("_R")


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
    """One plugin instance's routes, an aiohttp router under ``/_botkit/plugins/<instance>/``.

    Paths are relative to that prefix (a leading ``/`` is allowed); ``""`` is the
    prefix itself. They are aiohttp's patterns: ``{name}`` matches one segment,
    ``{name:regex}`` what the regex does, and the handler reads it as
    ``request.match_info["name"]``; a path without parameters wins over one with them.
    A route that can never be reached (a query in the path, a method registered
    twice, a pattern aiohttp refuses) raises ``ValueError`` when it is added.
    Everything is dropped when the instance stops.
    """

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self.prefix = f"{PREFIX}{instance}/"
        self.log = logging.getLogger(f"botkit.plugin.{instance}")
        self.router = web.UrlDispatcher()
        """The aiohttp router; its paths carry the whole prefix."""
        self._middlewares: list[Middleware] = []

    def add_route(self, method: str, path: str, handler: Handler) -> AbstractRoute:
        """Serve ``method path`` with ``handler`` (``"*"``: any method)."""
        return self._add(method, path, lambda full: self.router.add_route(method, full, handler))

    def add_get(self, path: str, handler: Handler) -> AbstractRoute:
        """Serve ``GET path`` (and ``HEAD``) with ``handler``."""
        return self._add("GET", path, lambda full: self.router.add_get(full, handler))

    def add_post(self, path: str, handler: Handler) -> AbstractRoute:
        """Serve ``POST path`` with ``handler``."""
        return self.add_route("POST", path, handler)

    def add_put(self, path: str, handler: Handler) -> AbstractRoute:
        """Serve ``PUT path`` with ``handler``."""
        return self.add_route("PUT", path, handler)

    def add_delete(self, path: str, handler: Handler) -> AbstractRoute:
        """Serve ``DELETE path`` with ``handler``."""
        return self.add_route("DELETE", path, handler)

    def add_static(self, path: str, directory: str | os.PathLike[str]) -> None:
        """Serve the files below ``directory`` at ``path/<file>`` (no listings, no symlinks)."""
        self._add("GET", path, lambda full: self.router.add_static(full.rstrip("/"), directory))

    def add_middleware(self, middleware: Middleware) -> None:
        """Run ``middleware`` around every request to this instance's routes; the first added is
        the outermost."""
        self._middlewares.append(middleware)

    def clear(self) -> None:
        """Drop every route and middleware (the instance stopped)."""
        self.router = web.UrlDispatcher()
        self._middlewares.clear()

    def url(self, path: str = "") -> str:
        """The absolute path of one of this instance's routes, for links in pages."""
        return self.prefix + path.lstrip("/")

    def _add(self, method: str, path: str, add: Callable[[str], _R]) -> _R:
        if "?" in path or "#" in path:
            # aiohttp matches the path alone: such a route would never be reached.
            raise ValueError(
                f"route {method} {path!r}: a query or fragment is never part of the "
                "path (read request.query)"
            )
        try:
            return add(self.url(path))
        except (ValueError, RuntimeError) as e:  # a bad pattern, a method added twice
            raise ValueError(f"route {method} {path!r}: {e}") from None

    async def resolve(self, request: web.Request) -> AbstractMatchInfo:
        """The route of this instance that answers ``request`` (or aiohttp's 404/405)."""
        return await self.router.resolve(request)

    def wrap(self, handler: Handler) -> Handler:
        """``handler`` inside this instance's middlewares."""
        for middleware in reversed(self._middlewares):
            handler = _bind(middleware, handler)
        return handler


def _bind(middleware: Middleware, handler: Handler) -> Handler:
    async def call(request: web.Request) -> web.StreamResponse:
        return await middleware(request, handler)

    return call


# Which instance a request is for, for the middleware that runs the instance's own.
_PLUGIN_WEB = web.RequestKey("botkit.plugin_web", PluginWeb)


class _PluginsResource(AbstractResource):
    """``/_botkit/plugins/<instance>/...``, answered by that instance's router."""

    def __init__(self, lookup: Callable[[str], PluginWeb | None]) -> None:
        super().__init__(name=None)
        self._lookup = lookup

    @property
    def canonical(self) -> str:
        """The path this resource stands for, as aiohttp indexes resources."""
        return PREFIX + "{instance}"

    def url_for(self, **kwargs: str) -> URL:
        """The prefix of instance ``kwargs["instance"]``."""
        return URL.build(path=f"{PREFIX}{kwargs['instance']}/")

    def add_prefix(self, prefix: str) -> None:
        """Never mounted below another prefix."""
        raise NotImplementedError

    def get_info(self) -> _InfoDict:
        """What introspection shows of this resource."""
        return {"formatter": self.canonical}

    def raw_match(self, path: str) -> bool:
        """Whether ``path`` is this resource's pattern."""
        return path == self.canonical

    def __len__(self) -> int:
        return 0

    def __iter__(self) -> Iterator[AbstractRoute]:
        return iter(())

    async def resolve(self, request: web.Request) -> tuple[Any, set[str]]:
        """The instance's route for ``request``; a 404 when no such instance runs."""
        path = request.rel_url.path
        if not path.startswith(PREFIX):
            return None, set()
        name, slash, _ = path[len(PREFIX) :].partition("/")
        pw = self._lookup(name)
        if pw is None:
            return MatchInfoError(web.HTTPNotFound(text="no such running plugin instance")), set()
        if not slash:
            # The instance's own page is the prefix with its slash, so that its
            # relative links resolve inside it.
            location = request.rel_url.with_path(pw.prefix)
            return MatchInfoError(web.HTTPPermanentRedirect(location)), set()
        match = await pw.resolve(request)
        if match.http_exception is None:
            request[_PLUGIN_WEB] = pw
        return match, set()


@web.middleware
async def _plugin_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Runs the instance's middlewares, and logs a failing route in the instance's log."""
    pw: PluginWeb | None = request.get(_PLUGIN_WEB)
    if pw is None:
        return await handler(request)
    try:
        return await pw.wrap(handler)(request)
    except web.HTTPException:
        raise
    except Exception:
        pw.log.exception("route %s %s failed", request.method, request.rel_url.path)
        raise web.HTTPInternalServerError() from None


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
        self._runner: web.AppRunner | None = None
        self.app = web.Application(middlewares=[_plugin_guard])
        self.app.router.add_get("/_botkit/health", self._get_health)
        self.app.router.add_get("/_botkit/metrics", self._get_metrics)
        self.app.router.register_resource(_PluginsResource(plugin_web))

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
