"""A plugin instance's web routes in the test harness, through aiohttp's test client.

The routes are served by the bot's own :class:`~botkit.web.WebServer` on a real
loopback socket, started on first use: paths, methods, middlewares and errors
behave as in the bot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from ..web import PREFIX, PluginWeb, WebServer

__all__ = ["HarnessHTTP"]


class HarnessHTTP:
    """Requests to one instance's routes: ``await h.http.get("user/bob")``.

    A path is relative to the instance's prefix (``/_botkit/plugins/<instance>/``),
    unless it starts with ``/_botkit/``. Each method returns aiohttp's
    ``ClientResponse``; read it (``await r.text()``, ``await r.json()``) in the test.
    """

    def __init__(self, instance: str, plugin_web: Callable[[str], PluginWeb | None]) -> None:
        self.instance = instance
        self._server = WebServer("127.0.0.1", 0, dict, str, plugin_web)
        self._client: TestClient[Any, Any] | None = None

    def url(self, path: str = "") -> str:
        """The server path of ``path`` (see the class docstring)."""
        if path.startswith("/_botkit/"):
            return path
        return f"{PREFIX}{self.instance}/{path.lstrip('/')}"

    async def client(self) -> TestClient[Any, Any]:
        """aiohttp's test client, its server started on first use."""
        if self._client is None:
            client: TestClient[Any, Any] = TestClient(TestServer(self._server.app))
            await client.start_server()
            self._client = client
        return self._client

    async def request(self, method: str, path: str, **kwargs: Any) -> ClientResponse:
        """``method path``; ``kwargs`` as aiohttp's ``ClientSession.request`` takes them."""
        client = await self.client()
        return await client.request(method, self.url(path), **kwargs)

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        """``GET path``."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> ClientResponse:
        """``POST path``."""
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> ClientResponse:
        """``PUT path``."""
        return await self.request("PUT", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> ClientResponse:
        """``DELETE path``."""
        return await self.request("DELETE", path, **kwargs)

    async def close(self) -> None:
        """Close the client and stop the server."""
        if self._client is not None:
            await self._client.close()
            self._client = None
