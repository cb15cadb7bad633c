"""Client endpoints about the account: versions, login, whoami, filters, sync, profile."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import web
from mautrix.types import UserID

from botkit.testing.fakehs import rooms
from botkit.testing.fakehs.errors import HomeserverRefusal, bad_request, forbidden, not_found
from botkit.testing.fakehs.shared import CLIENT, FAULTS, STORE, json_object, session_of
from botkit.testing.fakehs.sync import build_sync, parse_token, timeline_limit

__all__ = ["add_routes", "int_param"]

# v1.11 is the first version with authenticated media; mautrix switches on it.
_VERSIONS = ["r0.6.1", *(f"v1.{minor}" for minor in range(1, 12))]
_PROFILE_FIELDS = ("displayname", "avatar_url")


def add_routes(router: web.UrlDispatcher) -> None:
    """Register this module's endpoints."""
    router.add_get("/_matrix/client/versions", versions)
    router.add_get(CLIENT + "/login", login_flows)
    router.add_post(CLIENT + "/login", login)
    router.add_post(CLIENT + "/logout", logout)
    router.add_get(CLIENT + "/account/whoami", whoami)
    router.add_post(CLIENT + "/user/{user_id}/filter", upload_filter)
    router.add_get(CLIENT + "/user/{user_id}/filter/{filter_id}", get_filter)
    router.add_get(CLIENT + "/sync", sync)
    router.add_get(CLIENT + "/profile/{user_id}", get_profile)
    router.add_get(CLIENT + "/profile/{user_id}/{field}", get_profile_field)
    router.add_put(CLIENT + "/profile/{user_id}/{field}", set_profile_field)


def int_param(query: Mapping[str, str], name: str, default: int) -> int:
    """An integer query parameter; 400 ``M_INVALID_PARAM`` if it is not one."""
    value = query.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as e:
        raise bad_request("M_INVALID_PARAM", f"{name} must be an integer") from e


async def versions(request: web.Request) -> web.Response:
    """``GET /versions``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientversions
    """
    return web.json_response({"versions": _VERSIONS, "unstable_features": {}})


async def login_flows(request: web.Request) -> web.Response:
    """``GET /login``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3login
    """
    return web.json_response({"flows": [{"type": "m.login.password"}, {"type": "m.login.token"}]})


async def login(request: web.Request) -> web.Response:
    """``POST /login``.

    Password logins need a user the test created with a password; token logins a token
    from :meth:`~botkit.testing.fakehs.FakeHomeserver.create_login_token` (single use).

    Spec: https://spec.matrix.org/v1.11/client-server-api/#post_matrixclientv3login
    """
    store = request.app[STORE]
    body = await json_object(request)
    kind = body.get("type")
    if kind == "m.login.password":
        identifier = body.get("identifier")
        name = identifier.get("user") if isinstance(identifier, dict) else body.get("user")
        user = None
        if isinstance(name, str):
            try:
                user = store.users.get(store.user_id(name))
            except HomeserverRefusal:
                user = None
        password = body.get("password")
        if user is None or user.password is None or password != user.password:
            raise forbidden("Invalid username or password")
        user_id = user.user_id
    elif kind == "m.login.token":
        token = body.get("token")
        found = store.login_tokens.pop(token, None) if isinstance(token, str) else None
        if found is None:
            raise forbidden("Invalid login token")
        user_id = found
    else:
        raise bad_request("M_UNKNOWN", f"Unknown login type {kind!r}")
    device_id = body.get("device_id")
    session = store.create_session(user_id, device_id if isinstance(device_id, str) else None)
    return web.json_response(
        {
            "user_id": session.user_id,
            "access_token": session.token,
            "device_id": session.device_id,
            "home_server": store.server_name,
        }
    )


async def logout(request: web.Request) -> web.Response:
    """``POST /logout``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#post_matrixclientv3logout
    """
    session = session_of(request)
    del request.app[STORE].sessions[session.token]
    return web.json_response({})


async def whoami(request: web.Request) -> web.Response:
    """``GET /account/whoami``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3accountwhoami
    """
    session = session_of(request)
    return web.json_response(
        {"user_id": session.user_id, "device_id": session.device_id, "is_guest": False}
    )


async def upload_filter(request: web.Request) -> web.Response:
    """``POST /user/{userId}/filter``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#post_matrixclientv3useruseridfilter
    """
    session = session_of(request)
    if request.match_info["user_id"] != session.user_id:
        raise forbidden("Cannot create filters for other users")
    body = await json_object(request)
    filters = request.app[STORE].users[session.user_id].filters
    filters.append(body)
    return web.json_response({"filter_id": str(len(filters) - 1)})


async def get_filter(request: web.Request) -> web.Response:
    """``GET /user/{userId}/filter/{filterId}``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3useruseridfilterfilterid
    """
    session = session_of(request)
    filters = request.app[STORE].users[session.user_id].filters
    filter_id = request.match_info["filter_id"]
    if request.match_info["user_id"] != session.user_id:
        raise forbidden("Cannot get filters for other users")
    if not (filter_id.isascii() and filter_id.isdigit() and int(filter_id) < len(filters)):
        raise not_found("No such filter")
    return web.json_response(filters[int(filter_id)])


async def sync(request: web.Request) -> web.Response:
    """``GET /sync``: long-polls up to ``timeout`` ms, answering as soon as news arrives.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3sync
    """
    store = request.app[STORE]
    faults = request.app[FAULTS]
    session = session_of(request)
    if faults.sync_garbage:
        return faults.sync_garbage.popleft().response()
    user = store.users[session.user_id]
    query = request.query
    since = parse_token(query["since"], "since") if "since" in query else None
    limit = timeline_limit(store, user, query.get("filter"))
    full_state = query.get("full_state") == "true"
    timeout = int_param(query, "timeout", 0) / 1000
    store.hooks.sync_requested(user.user_id, since)
    body, news = build_sync(store, session.token, user, since, limit, full_state)
    if not news and since is not None and timeout > 0:
        try:
            async with asyncio.timeout(timeout):
                while not news and not store.closing:
                    await store.stream.wait()
                    if faults.down:
                        return faults.outage(request)
                    body, news = build_sync(store, session.token, user, since, limit, full_state)
        except TimeoutError:
            body, news = build_sync(store, session.token, user, since, limit, full_state)
    store.syncs_served += 1
    until = parse_token(body["next_batch"], "next_batch")
    store.synced_to[user.user_id] = max(store.synced_to.get(user.user_id, 0), until)
    store.hooks.sync_answered(user.user_id, until)
    store.observed.notify()
    return web.json_response(body)


async def get_profile(request: web.Request) -> web.Response:
    """``GET /profile/{userId}``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3profileuserid
    """
    user = request.app[STORE].users.get(UserID(request.match_info["user_id"]))
    if user is None:
        raise not_found("Profile was not found")
    profile = {"displayname": user.displayname, "avatar_url": user.avatar_url}
    return web.json_response({key: value for key, value in profile.items() if value is not None})


async def get_profile_field(request: web.Request) -> web.Response:
    """``GET /profile/{userId}/displayname`` and ``avatar_url``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv3profileuseriddisplayname
    """
    field = _profile_field(request)
    user = request.app[STORE].users.get(UserID(request.match_info["user_id"]))
    if user is None:
        raise not_found("Profile was not found")
    value = user.displayname if field == "displayname" else user.avatar_url
    return web.json_response({} if value is None else {field: value})


async def set_profile_field(request: web.Request) -> web.Response:
    """``PUT /profile/{userId}/displayname`` and ``avatar_url``.

    Like Synapse, a new name or avatar also goes into the user's member events.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#put_matrixclientv3profileuseriddisplayname
    """
    field = _profile_field(request)
    session = session_of(request)
    store = request.app[STORE]
    if request.match_info["user_id"] != session.user_id:
        raise forbidden("Cannot set another user's profile")
    value = (await json_object(request)).get(field)
    if value is not None and not isinstance(value, str):
        raise bad_request("M_BAD_JSON", f"{field} must be a string")
    rooms.update_profile(store, session.user_id, field, value)
    return web.json_response({})


def _profile_field(request: web.Request) -> str:
    field = request.match_info["field"]
    if field not in _PROFILE_FIELDS:
        raise HomeserverRefusal(404, "M_UNRECOGNIZED", "Unrecognized request")
    return field
