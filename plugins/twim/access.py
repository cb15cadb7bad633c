"""A token in front of the pages that show what is not published yet.

The draft holds reports the editors have not released, so an instance with a
``draft_token`` answers its routes only to a request that brings it: as
``?token=<token>``, as ``Authorization: Bearer <token>``, or as the cookie the page
sets when it was opened with the token, so that the browser can fetch the page's
images. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from botkit.web import Handler

__all__ = ["COOKIE", "guarded", "presented_token"]

COOKIE = "twim_draft_token"
"""The cookie through which a browser that opened the page with the token keeps it."""


def presented_token(request: web.Request) -> str | None:
    """The token ``request`` brings, from the query, the header or the cookie."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.query.get("token") or request.cookies.get(COOKIE)


def guarded(token: str | None, handler: Handler, *, cookie_path: str | None = None) -> Handler:
    """``handler`` answering only requests with ``token`` (all requests when None).

    With ``cookie_path`` a request that brought the token in its query gets it back
    as a cookie for that path.
    """
    if not token:
        return handler
    expected = token.encode()

    async def check(request: web.Request) -> web.StreamResponse:
        given = presented_token(request)
        if given is None or not hmac.compare_digest(given.encode(), expected):
            raise web.HTTPUnauthorized(
                text="this draft needs its token (?token= or Authorization: Bearer)",
                headers={"WWW-Authenticate": 'Bearer realm="twim draft"'},
            )
        response = await handler(request)
        if cookie_path is not None and request.query.get("token"):
            response.set_cookie(COOKIE, given, path=cookie_path, httponly=True, samesite="Strict")
        return response

    return check
