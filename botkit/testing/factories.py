"""The types of the factory fixtures in :mod:`botkit.testing.pytest_plugin`.

They live apart from the plugin so that test modules can import them for
annotations without importing the plugin before pytest loads it.
"""

from __future__ import annotations

from typing import Any, Protocol

from .matrix import TestClient
from .synapse import MatrixAccount, Synapse

__all__ = ["AccountFactory", "ClientFactory", "SynapseFactory"]


class SynapseFactory(Protocol):
    """Makes (and by default starts) a homeserver; options are :class:`Synapse`'s."""

    def __call__(self, *, start: bool = True, **options: Any) -> Synapse: ...


class AccountFactory(Protocol):
    """Registers a user named ``<prefix>-<n>`` on the session's homeserver."""

    def __call__(self, prefix: str = "user", *, admin: bool = False) -> MatrixAccount: ...


class ClientFactory(Protocol):
    """Makes a :class:`TestClient` for an account; it is closed when the test ends."""

    def __call__(self, account: MatrixAccount) -> TestClient: ...
