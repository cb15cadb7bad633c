"""Fault injection: rate limits and failures for sends, and whole-server outages."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web

__all__ = ["Fault", "Faults", "Garbage"]

# Statuses a reverse proxy answers itself when the homeserver behind it is unwell; they
# come with a plain-text page, not a Matrix error, and clients must cope with that.
_GATEWAY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class Fault:
    """What the next send request gets instead of (or after) being carried out."""

    status: int
    retry_after_ms: int | None = None
    after_commit: bool = False
    """Carry the request out, then answer the error: a response lost on the way back."""

    def response(self) -> web.Response:
        """The answer the client sees."""
        if self.retry_after_ms is not None:
            seconds = math.ceil(self.retry_after_ms / 1000)
            return web.json_response(
                {
                    "errcode": "M_LIMIT_EXCEEDED",
                    "error": "Too Many Requests",
                    "retry_after_ms": self.retry_after_ms,
                },
                status=429,
                headers={"Retry-After": str(seconds)},
            )
        return error_page(self.status)


@dataclass(frozen=True, slots=True)
class Garbage:
    """A ``200`` answer to a ``/sync`` that is no sync response: any bytes, any type."""

    body: bytes
    content_type: str = "application/json"

    def response(self) -> web.Response:
        """The answer the client sees."""
        return web.Response(body=self.body, headers={"Content-Type": self.content_type})


def error_page(status: int) -> web.Response:
    """A proxy's plain-text error page for gateway statuses, else a Matrix ``M_UNKNOWN``."""
    if status in _GATEWAY_STATUSES:
        phrase = HTTPStatus(status).phrase
        return web.Response(status=status, text=f"{status} {phrase}\n")
    return web.json_response(
        {"errcode": "M_UNKNOWN", "error": "Internal server error"}, status=status
    )


class Faults:
    """The faults queued for sends, and whether the whole server is down."""

    def __init__(self) -> None:
        self.queue: deque[Fault] = deque()
        self.sync_garbage: deque[Garbage] = deque()
        self.down = False
        self.close_connections = False

    def take(self) -> Fault | None:
        """The fault for the send request arriving now, if any is queued."""
        return self.queue.popleft() if self.queue else None

    def outage(self, request: web.Request) -> web.Response:
        """What any request gets while the server is down: 502, or a dropped connection."""
        if self.close_connections and request.transport is not None:
            request.transport.abort()
        return error_page(502)
