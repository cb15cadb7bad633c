"""What every route module shares: the application keys, authentication, bodies."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from botkit.testing.fakehs.errors import bad_request
from botkit.testing.fakehs.faults import Faults
from botkit.testing.fakehs.state import JSONObject, Session, Store

__all__ = ["CLIENT", "FAULTS", "MAX_BODY", "STORE", "Handler", "json_object", "session_of"]

STORE = web.AppKey("store", Store)
FAULTS = web.AppKey("faults", Faults)
CLIENT = "/_matrix/client/{version:(?:r0|v3)}"
"""The client-server API prefix, in both versions mautrix-python may use."""
MAX_BODY = 64 * 1024 * 1024
"""The largest request body (and upload) accepted."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def session_of(request: web.Request) -> Session:
    """The session of the request's access token (header or query); 401 otherwise."""
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else request.query.get("access_token")
    return request.app[STORE].session(token)


async def json_object(request: web.Request) -> JSONObject:
    """The request body as a JSON object; 400 ``M_NOT_JSON`` / ``M_BAD_JSON`` otherwise."""
    raw = await request.read()
    try:
        body: Any = json.loads(raw) if raw else {}
    except ValueError as e:
        raise bad_request("M_NOT_JSON", "Content not JSON.") from e
    if not isinstance(body, dict):
        raise bad_request("M_BAD_JSON", "Content must be a JSON object.")
    return body
