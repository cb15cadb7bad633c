"""botkit's pytest plugin: every fixture of :mod:`botkit.testing`.

Installed with botkit through the ``pytest11`` entry point, so a plugin's tests
need no ``conftest.py`` for it (without the install, name it in the root
``conftest.py``: ``pytest_plugins = ["botkit.testing.pytest_plugin"]``). The
fixtures are coroutines: set ``asyncio_mode = "auto"`` (pytest-asyncio) in the
project's pytest configuration. It brings ``plugin_harness``
(:mod:`botkit.testing.harness_fixtures`), the fake homeserver's fixtures
(:mod:`botkit.testing.fakehs_fixtures`) and these, against real Synapse
homeservers:

- ``synapse``: one homeserver for the whole session, started on first use.
- ``register_user``: registers a user with a fresh name on ``synapse``.
- ``synapse_factory``: more homeservers for one test (e.g. with Synapse's
  default rate limits), all stopped when the test ends.
- ``federation``: three federating homeservers for the session, started only
  if a test asks for them.
- ``matrix_client_factory``: :class:`TestClient` objects closed at the end of the test.

Tests using any of the homeserver fixtures get the ``synapse`` marker, so
``pytest -m "not synapse"`` skips them. Annotate the factories with the types
in :mod:`botkit.testing.factories`, and write bot configs with
:func:`botkit.testing.botconfig.write_bot_config`: importing this module from a
test module would import it before pytest can load it as a plugin. Synapse is
installed on first use into ``<rootdir>/.cache/synapse-venv`` (or
``$BOTKIT_SYNAPSE_VENV``).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from .databases import ENGINES, database_url_for
from .factories import AccountFactory, ClientFactory, SynapseFactory
from .federation import Federation
from .matrix import TestClient
from .synapse import MatrixAccount, Synapse
from .synapse_venv import default_venv_dir

__all__ = [
    "federation",
    "matrix_client_factory",
    "register_user",
    "synapse",
    "synapse_factory",
]

# One entry point for all of botkit.testing: a module listing one of these itself
# gets the same plugin object (pytest registers each module once, by this name).
pytest_plugins = ["botkit.testing.harness_fixtures", "botkit.testing.fakehs_fixtures"]

# Shared by the whole session, as the homeserver its names are registered on is.
_user_numbers = itertools.count(1)
_SYNAPSE_FIXTURES = {"synapse", "synapse_factory", "federation", "register_user"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a homeserver fixture with ``synapse``."""
    for item in items:
        if _SYNAPSE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.synapse)


def _venv(config: pytest.Config) -> Path:
    return default_venv_dir(config.rootpath)


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL, once SQLite and once PostgreSQL (skipped without its URL)."""
    return database_url_for(str(request.param), tmp_path)


@pytest.fixture(scope="session")
def synapse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Synapse]:
    """A homeserver shared by the whole session, with rate limits lifted."""
    with Synapse(tmp_path_factory.mktemp("synapse"), venv=_venv(request.config)) as server:
        yield server


@pytest.fixture
def register_user(synapse: Synapse) -> AccountFactory:
    """Register users on ``synapse`` under names no other test has used."""

    def register(prefix: str = "user", *, admin: bool = False) -> MatrixAccount:
        return synapse.register(f"{prefix}-{next(_user_numbers)}", admin=admin)

    return register


@pytest.fixture
def synapse_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SynapseFactory]:
    """Make extra homeservers for one test; each is stopped when the test ends."""
    servers: list[Synapse] = []

    def make(*, start: bool = True, **options: Any) -> Synapse:
        options.setdefault("venv", _venv(request.config))
        server = Synapse(tmp_path_factory.mktemp("synapse"), **options)
        servers.append(server)
        if start:
            server.start()
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def federation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Federation]:
    """Three homeservers (127.0.0.1-3) federating with each other, for the session."""
    with Federation(
        tmp_path_factory.mktemp("federation"), 3, venv=_venv(request.config)
    ) as servers:
        yield servers


@pytest.fixture
async def matrix_client_factory() -> AsyncIterator[ClientFactory]:
    """Make :class:`TestClient` objects; each is closed when the test ends."""
    clients: list[TestClient] = []

    def make(account: MatrixAccount) -> TestClient:
        client = TestClient(account)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
