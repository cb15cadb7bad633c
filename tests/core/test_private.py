"""Secrets at rest and in the log: private database files, no token in a debug log."""

from __future__ import annotations

import logging
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from botkit.private import exposure, protect, sqlite_files
from botkit.state import StateStore
from botkit.storage import create_engine
from botkit.testing.bot import running_bot
from botkit.testing.botconfig import fakehs_account, write_bot_config
from botkit.testing.fakehs import FakeHomeserver

pytest_plugins = ["botkit.testing.fakehs_fixtures"]


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask of most systems, which makes new files readable by everyone."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_sqlite_database_and_its_journal_are_private(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'botkit.db'}"
    engine = create_engine(url)
    try:
        store = StateStore(engine, "@bot:example.org")
        await store.setup()
        await store.put("access_token", "syt_secret")
        files = sqlite_files(url)
        # While a connection is open the journal files exist: all three hold the token.
        async with engine.connect():
            assert all(path.exists() for path in files)
            assert {path.name: mode(path) for path in files} == {
                "botkit.db": 0o600,
                "botkit.db-wal": 0o600,
                "botkit.db-shm": 0o600,
            }
    finally:
        await engine.dispose()


async def test_an_existing_readable_database_is_made_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "botkit.db"
    for path in (db, tmp_path / "botkit.db-wal"):
        path.touch()
        path.chmod(0o644)
    assert exposure(db) is not None
    engine = create_engine(f"sqlite+aiosqlite:///{db}")
    await engine.dispose()
    assert mode(db) == 0o600
    assert mode(tmp_path / "botkit.db-wal") == 0o600
    assert exposure(db) is None
    assert "could be read by other users" in caplog.text


def test_a_database_in_a_world_writable_directory_is_reported(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    db = shared / "botkit.db"
    protect([db])
    assert mode(db) == 0o600
    problem = exposure(db)
    assert problem is not None and "written by everyone" in problem


async def test_the_token_of_a_password_login_is_in_no_debug_log(
    fakehs: FakeHomeserver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fakehs.create_user("bot", password="hunter2")
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=fakehs_account(fakehs),
        homeserver={"access_token": None, "password": "hunter2"},
    )
    # Before the engine exists: SQLAlchemy decides whether to echo SQL from the level.
    # Its loggers stay at WARNING unless someone turns them up: here they are.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    caplog.set_level(logging.DEBUG)
    async with running_bot(config) as bot:
        assert bot.api is not None
        token = bot.api.api.token
        assert token and await bot.store.get("access_token") == token
    assert "INSERT INTO botkit_state" in caplog.text  # the SQL echo was on
    assert "executing" in caplog.text  # and so was aiosqlite's
    assert token not in caplog.text
    assert "hunter2" not in caplog.text


async def test_no_statement_parameter_is_logged_on_either_engine(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    caplog.set_level(logging.DEBUG)
    engine = create_engine(database_url)
    # Bots sharing a database keep apart by their user ID: so does this test.
    store = StateStore(engine, f"@bot{uuid.uuid4().hex}:example.org")
    secret = f"syt_{uuid.uuid4().hex}"
    try:
        await store.setup()
        await store.put("access_token", secret)
        assert await store.get("access_token") == secret
        await store.put("access_token", "")  # the shared PostgreSQL keeps no token
    finally:
        await engine.dispose()
    assert "INSERT INTO botkit_state" in caplog.text
    assert secret not in caplog.text
