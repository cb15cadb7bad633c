"""A plugin's web routes: aiohttp's router per instance, in the harness's web client."""

from __future__ import annotations

from pathlib import Path

import pytest

from botkit.errors import PluginLoadError
from botkit.testing.harness import HarnessFactory
from tests.core.kit import write_plugin

pytest_plugins = ["botkit.testing.harness_fixtures"]

ROUTES = """\
    async def start(self) -> None:
        self.web.add_get("items/{n:[0-9]+}", self.item)
        self.web.add_post("items", self.create)
        self.web.add_static("static", self.directory)
        self.web.add_middleware(self.stamp)

    @property
    def directory(self) -> str:
        import pathlib
        return str(pathlib.Path(__file__).parent / "files")

    @route.get("/user/{name}")
    async def user(self, request: web.Request) -> web.Response:
        return web.Response(text="user " + request.match_info["name"])

    @route.get("")
    async def home(self, request: web.Request) -> web.Response:
        return web.Response(text="home")

    @route.get("boom")
    async def boom(self, request: web.Request) -> web.Response:
        raise RuntimeError("the route broke")

    async def item(self, request: web.Request) -> web.Response:
        return web.Response(text="item " + request.match_info["n"])

    async def create(self, request: web.Request) -> web.Response:
        return web.json_response(await request.json(), status=201)

    async def stamp(self, request, handler):
        response = await handler(request)
        response.headers["X-Kit"] = "stamped"
        return response
"""


async def started(plugin_harness: HarnessFactory, tmp_path: Path) -> object:
    plugin = write_plugin(tmp_path, ROUTES, files={"files/hello.txt": "hello file"})
    return await plugin_harness(plugin)


async def test_a_decorated_route_gets_its_path_parameter(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, ROUTES, files={"files/a.txt": "a"}))

    answer = await h.http.get("user/bob")

    assert answer.status == 200
    assert await answer.text() == "user bob"
    assert await (await h.http.get("")).text() == "home"
    # The instance's page is its prefix with the slash: relative links work inside it.
    bare = await h.http.get("/_botkit/plugins/kit", allow_redirects=False)
    assert (bare.status, bare.headers["Location"]) == (308, "/_botkit/plugins/kit/")


async def test_patterns_methods_static_files_and_middlewares_are_aiohttps(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, ROUTES, files={"files/hello.txt": "hi"}))

    item = await h.http.get("items/42")
    assert (item.status, await item.text()) == (200, "item 42")
    assert item.headers["X-Kit"] == "stamped"
    assert (await h.http.get("items/forty-two")).status == 404
    created = await h.http.post("items", json={"name": "x"})
    assert (created.status, await created.json()) == (201, {"name": "x"})
    wrong = await h.http.put("items")
    assert wrong.status == 405
    assert wrong.headers["Allow"] == "POST"
    static = await h.http.get("static/hello.txt")
    assert (static.status, await static.text()) == (200, "hi")
    assert (await h.http.get("static/../plugin.py")).status in (403, 404)


async def test_a_failing_route_is_a_500_and_a_harness_error(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, ROUTES, files={"files/a.txt": "a"}))

    assert (await h.http.get("boom")).status == 500

    assert [str(e.exception) for e in h.errors] == ["the route broke"]


async def test_routes_go_with_the_instance_and_come_back_on_restart(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, ROUTES, files={"files/a.txt": "a"}))

    await h.restart()  # the same routes again: nothing is added twice
    assert await (await h.http.get("user/ann")).text() == "user ann"
    await h.instance.stop()

    gone = await h.http.get("user/ann")
    assert gone.status == 404
    assert await gone.text() == "no such running plugin instance"
    assert list(h.instance.web.router.resources()) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            "    @route.get('stats?room={room}')\n"
            "    async def stats(self, request: web.Request) -> web.Response: ...\n",
            "stats: route GET 'stats?room={room}': a query or fragment is never part of the path",
            id="query-in-path",
        ),
        pytest.param(
            "    @route.get('a')\n"
            "    async def one(self, request: web.Request) -> web.Response: ...\n"
            "    @route.get('a')\n"
            "    async def two(self, request: web.Request) -> web.Response: ...\n",
            "two: route GET 'a': Added route will never be executed",
            id="twice",
        ),
        pytest.param(
            "    @route.get('user/{name')\n"
            "    async def user(self, request: web.Request) -> web.Response: ...\n",
            "user: route GET 'user/{name'",
            id="bad-pattern",
        ),
        pytest.param(
            "    @route.get('user')\n"
            "    def user(self, request: web.Request) -> web.Response: ...\n",
            "user: a handler must be 'async def'",
            id="plain-def",
        ),
        pytest.param(
            "    @route.get('user')\n    async def user(self) -> web.Response: ...\n",
            "user: missing the parameter botkit passes",
            id="no-request",
        ),
    ],
)
async def test_a_route_that_cannot_work_is_a_load_error_naming_the_method(
    plugin_harness: HarnessFactory, tmp_path: Path, body: str, reason: str
) -> None:
    with pytest.raises(PluginLoadError) as refused:
        await plugin_harness(write_plugin(tmp_path, body))

    assert reason in str(refused.value)
    assert "kit" in str(refused.value)


async def test_an_imperative_route_that_cannot_be_reached_fails_the_start(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    body = (
        "    async def start(self) -> None:\n"
        "        self.web.add_get('page#top', self.page)\n"
        "    async def page(self, request: web.Request) -> web.Response: ...\n"
    )
    with pytest.raises(PluginLoadError, match="a query or fragment is never part of the path"):
        await plugin_harness(write_plugin(tmp_path, body))
