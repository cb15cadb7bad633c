"""Media endpoints: upload, and download both authenticated (v1.11) and legacy."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from botkit.testing.fakehs.errors import HomeserverRefusal, not_found
from botkit.testing.fakehs.shared import MAX_BODY, STORE, session_of
from botkit.testing.fakehs.state import Media

__all__ = ["add_routes"]

_AUTHENTICATED = "/_matrix/client/v1/media"
_LEGACY = "/_matrix/media/{version:(?:r0|v3)}"


def add_routes(router: web.UrlDispatcher) -> None:
    """Register this module's endpoints."""
    router.add_post(_LEGACY + "/upload", upload)
    for prefix in (_AUTHENTICATED, _LEGACY):
        router.add_get(prefix + "/config", config)
        router.add_get(prefix + "/download/{server_name}/{media_id}", download)
        router.add_get(prefix + "/download/{server_name}/{media_id}/{file_name}", download)


async def upload(request: web.Request) -> web.Response:
    """``POST /_matrix/media/v3/upload``.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#post_matrixmediav3upload
    """
    session_of(request)
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise HomeserverRefusal(413, "M_TOO_LARGE", "Upload is too large.")
    media = Media(
        data=await request.read(),
        content_type=request.headers.get("Content-Type", "application/octet-stream"),
        filename=request.query.get("filename"),
    )
    return web.json_response({"content_uri": request.app[STORE].new_media_uri(media)})


async def download(request: web.Request) -> web.Response:
    """``GET /_matrix/client/v1/media/download/...`` (needs a token) and the legacy one.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv1mediadownloadservernamemediaid
    """
    store = request.app[STORE]
    if request.path.startswith(_AUTHENTICATED):
        session_of(request)
    media = None
    if request.match_info["server_name"] == store.server_name:
        media = store.media.get(request.match_info["media_id"])
    if media is None:
        raise not_found("Not found.")
    file_name = request.match_info.get("file_name") or media.filename
    disposition = f"inline; filename*=utf-8''{quote(file_name, safe='')}" if file_name else "inline"
    # Passed as a header, not content_type=, so a charset parameter survives as uploaded.
    headers = {"Content-Type": media.content_type, "Content-Disposition": disposition}
    return web.Response(body=media.data, headers=headers)


async def config(request: web.Request) -> web.Response:
    """``GET /_matrix/client/v1/media/config`` and the legacy one.

    Spec: https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv1mediaconfig
    """
    if request.path.startswith(_AUTHENTICATED):
        session_of(request)
    return web.json_response({"m.upload.size": MAX_BODY})
