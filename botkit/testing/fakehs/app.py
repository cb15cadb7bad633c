"""The aiohttp application: every route, and the middleware that shapes errors."""

from __future__ import annotations

from aiohttp import web

from botkit.testing.fakehs import routes_account, routes_media, routes_rooms
from botkit.testing.fakehs.errors import HomeserverRefusal
from botkit.testing.fakehs.faults import Faults
from botkit.testing.fakehs.shared import FAULTS, MAX_BODY, STORE, Handler
from botkit.testing.fakehs.state import Store

__all__ = ["make_app"]

_UNRECOGNIZED = "unrecognized"


def make_app(store: Store, faults: Faults) -> web.Application:
    """An application serving the client-server and media APIs from ``store``."""
    app = web.Application(middlewares=[_matrix_errors], client_max_size=MAX_BODY)
    app[STORE] = store
    app[FAULTS] = faults
    routes_account.add_routes(app.router)
    routes_rooms.add_routes(app.router)
    routes_media.add_routes(app.router)
    app.router.add_route("*", "/{path:.*}", _unrecognized, name=_UNRECOGNIZED)
    return app


@web.middleware
async def _matrix_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    faults = request.app[FAULTS]
    if faults.down:
        return faults.outage(request)
    store = request.app[STORE]
    route = request.match_info.route
    if route.resource is not None:
        # Unrecognized requests are counted by path: they show what a bot needed.
        where = request.path if route.name == _UNRECOGNIZED else route.resource.canonical
        store.requests[f"{request.method} {where}"] += 1
        store.observed.notify()
    try:
        return await handler(request)
    except HomeserverRefusal as e:
        return web.json_response(e.body(), status=e.status)
    except web.HTTPRequestEntityTooLarge:
        body = {"errcode": "M_TOO_LARGE", "error": "Request body too large."}
        return web.json_response(body, status=413)


async def _unrecognized(request: web.Request) -> web.StreamResponse:
    raise HomeserverRefusal(404, "M_UNRECOGNIZED", "Unrecognized request")
