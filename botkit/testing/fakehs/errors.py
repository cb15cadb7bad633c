"""The refusals the fake homeserver answers with, shaped as real homeservers shape them.

A refusal raised anywhere below a request handler becomes the JSON error body of the
`standard error response`_; raised from the test-facing API it tells the test what a
real server would have refused.

.. _standard error response:
    https://spec.matrix.org/v1.11/client-server-api/#standard-error-response
"""

from __future__ import annotations

from typing import Any

from botkit.errors import BotkitError

__all__ = ["HomeserverRefusal"]


class HomeserverRefusal(BotkitError):
    """A request the fake homeserver refuses: HTTP status, Matrix ``errcode``, message."""

    def __init__(self, status: int, errcode: str, message: str, **extra: Any) -> None:
        self.status = status
        self.errcode = errcode
        self.message = message
        self.extra = extra
        super().__init__(f"{status} {errcode}: {message}")

    def body(self) -> dict[str, Any]:
        """The JSON body a client receives."""
        return {"errcode": self.errcode, "error": self.message, **self.extra}


def not_found(message: str) -> HomeserverRefusal:
    """``404 M_NOT_FOUND``."""
    return HomeserverRefusal(404, "M_NOT_FOUND", message)


def forbidden(message: str) -> HomeserverRefusal:
    """``403 M_FORBIDDEN``."""
    return HomeserverRefusal(403, "M_FORBIDDEN", message)


def bad_request(errcode: str, message: str) -> HomeserverRefusal:
    """``400`` with the given ``errcode`` (``M_BAD_JSON``, ``M_INVALID_PARAM``...)."""
    return HomeserverRefusal(400, errcode, message)
