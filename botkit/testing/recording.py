"""The plugin harness's homeserver: mautrix's HTTP API with the network replaced by a recorder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote

from mautrix.api import HTTPAPI, Method, PathBuilder
from mautrix.errors import make_request_error
from mautrix.types import JSON, RoomID

from ..event_size import MAX_EVENT_BYTES

__all__ = ["RecordingAPI", "Request", "Sent"]


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request the plugin made: ``path`` with its segments unquoted."""

    method: str
    path: str
    content: Any


class Sent(NamedTuple):
    """An event the plugin sent (or a redaction, as ``m.room.redaction``)."""

    room_id: RoomID
    event_type: str
    content: dict[str, Any]


class RecordingAPI(HTTPAPI):
    """mautrix's HTTP API with the network replaced by a recorder.

    Sends (``PUT /rooms/{roomId}/send/...``), redactions and media uploads are
    answered as a homeserver would; any other request gets the answer given
    with :meth:`answer`, or ``404 M_UNRECOGNIZED``.
    """

    def __init__(self) -> None:
        super().__init__("https://harness.invalid")
        self.requests: list[Request] = []
        self.sent: list[Sent] = []
        self._answers: dict[tuple[str, str], JSON] = {}
        self._by_txn: dict[str, JSON] = {}
        self._counter = 0

    def answer(self, method: Method | str, path: str, response: Any) -> None:
        """Answer ``method path`` with ``response``.

        ``path`` is unquoted and without the query, e.g. ``/_matrix/client/v3/joined_rooms``.
        """
        self._answers[(str(method), "/" + path.strip("/"))] = JSON(response)

    async def request(  # type: ignore[override]
        self,
        method: Method,
        path: PathBuilder | str,
        content: Any = None,
        headers: dict[str, str] | None = None,
        query_params: Mapping[str, str] | None = None,
        **_: Any,
    ) -> JSON:
        """Record the request and answer it without any network."""
        segments = [unquote(s) for s in str(path).strip("/").split("/")]
        readable = "/" + "/".join(segments)
        plain = _plain(content)
        self.requests.append(Request(str(method), readable, plain))
        # Transaction IDs make a send idempotent (spec: "Transaction identifiers").
        if readable in self._by_txn:
            return self._by_txn[readable]
        answer = self._answer(str(method), segments, plain)
        if answer is None:
            answer = self._answers.get((str(method), readable))
        if answer is None:
            raise make_request_error(
                http_status=404,
                text="",
                errcode="M_UNRECOGNIZED",
                message=f"the plugin harness has no answer for {method} {readable}; "
                "give one with harness.answer()",
            )
        return answer

    def _answer(self, method: str, segments: list[str], content: Any) -> JSON | None:
        tail = segments[-5:]
        if method == "PUT" and len(tail) == 5 and tail[0] == "rooms" and tail[2] == "send":
            if len(json.dumps(content, ensure_ascii=False).encode()) > MAX_EVENT_BYTES:
                # As a homeserver does (spec: "Size limits"); it counts the whole event.
                raise make_request_error(
                    http_status=413, text="", errcode="M_TOO_LARGE", message="event too large"
                )
            self.sent.append(Sent(RoomID(tail[1]), tail[3], content))
            return self._remember(segments)
        if method == "PUT" and len(tail) == 5 and tail[0] == "rooms" and tail[2] == "redact":
            self.sent.append(Sent(RoomID(tail[1]), "m.room.redaction", {"redacts": tail[3]}))
            return self._remember(segments)
        if method == "POST" and segments[-3:] == ["media", "v3", "upload"]:
            self._counter += 1
            return JSON({"content_uri": f"mxc://harness.invalid/upload{self._counter}"})
        return None

    def _remember(self, segments: list[str]) -> JSON:
        self._counter += 1
        answer = JSON({"event_id": f"$sent{self._counter}"})
        self._by_txn["/" + "/".join(segments)] = answer
        return answer


def _plain(content: Any) -> Any:
    """``content`` as the JSON that would go on the wire (a copy, so later changes don't show)."""
    if hasattr(content, "serialize"):
        content = content.serialize()
    if isinstance(content, dict | list):
        return json.loads(json.dumps(content))
    return content
