"""Refresh tokens: a homeserver whose access tokens expire in seconds, across a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mautrix.api import Method
from mautrix.api import Path as ApiPath

from botkit.bot import Bot
from botkit.cli import main
from botkit.config import load_config, write_sample
from botkit.errors import BotkitError
from botkit.state import StateStore
from botkit.storage import create_engine
from botkit.testing.bot import running_bot
from botkit.testing.factories import SynapseFactory
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import MatrixAccount, unique
from botkit.testing.talk import answers_from, ask, wait_joined
from botkit.tokens import LoginTokens, store_login, stored_login
from tests.core.conversation_world import bot_config

LIFETIME_S = 4


async def test_without_token_password_or_login_the_bot_says_what_to_do(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    write_sample(config)
    bot = Bot(load_config(config, environ={}, upgrade=False))
    try:
        with pytest.raises(BotkitError, match=r"no access token .*run `botkit login -c "):
            await bot.start()
    finally:
        await bot.stop()


def test_a_login_answer_gives_the_renewal_time_before_the_expiry() -> None:
    before = time.time()
    tokens = LoginTokens.from_response(
        {"access_token": "a", "refresh_token": "r", "expires_in_ms": 10_000}
    )
    assert tokens.expires_at is not None and tokens.renew_at is not None
    assert before + 10 <= tokens.expires_at < before + 11
    # A fifth of the lifetime before the expiry (capped at a minute).
    assert tokens.expires_at - tokens.renew_at == 2
    kept = LoginTokens.from_response({"access_token": "b"}, "r")
    assert (kept.refresh_token, kept.expires_at) == ("r", None)


async def test_commands_flow_through_refreshes_and_a_restart(
    synapse_factory: SynapseFactory, tmp_path: Path
) -> None:
    async with logged_in(synapse_factory, tmp_path) as (bot_account, alice, config):
        room = await alice.create_room(invite=[bot_account.user_id])
        asked: list[str] = []
        devices = []
        for run in range(2):
            async with running_bot(config) as bot:
                assert bot.api is not None
                devices.append(bot.api.device_id)
                if run == 0:
                    await wait_joined(alice, room, bot_account.user_id)
                deadline = time.monotonic() + 2.5 * LIFETIME_S
                while time.monotonic() < deadline:
                    name = f"n{len(asked)}"
                    asked.append(name)
                    await ask(alice, room, bot_account.user_id, f"!hello {name}", f"{name}!")
                    await asyncio.sleep(0.5)
                refresher = getattr(bot.api.api, "refresher", None)
                assert refresher is not None and refresher.refreshes >= 2
        answers = answers_from(alice, room, bot_account.user_id)
        assert sorted(answers) == sorted(f"Hello, {n}! (greeting number 1)" for n in asked)
        assert devices[0] == devices[1]  # the restart refreshed; it did not log in again


@asynccontextmanager
async def logged_in(
    synapse_factory: SynapseFactory, tmp_path: Path
) -> AsyncIterator[tuple[MatrixAccount, TestClient, Path]]:
    """On a homeserver whose access tokens expire after ``LIFETIME_S``: the bot's
    account, logged in by ``botkit login``, alice, and the bot's config."""
    server = synapse_factory(extra_config={"refreshable_access_token_lifetime": f"{LIFETIME_S}s"})
    bot_account = server.register(unique("bot"))
    async with TestClient(server.register(unique("alice"))) as alice:
        # No token, no password in the config: botkit login creates the device.
        config = bot_config(
            tmp_path,
            bot_account,
            alice.user_id,
            homeserver={"access_token": None, "password": None},
            plugins={"hello": {}},
        )
        env_password = {"BOTKIT_HOMESERVER__PASSWORD": bot_account.password}
        assert await asyncio.to_thread(_login, config, env_password) == 0
        yield bot_account, alice, config


def _login(config: Path, env: dict[str, str]) -> int:
    import os

    os.environ.update(env)
    try:
        return main(["login", "-c", str(config)])
    finally:
        for key in env:
            os.environ.pop(key, None)


async def test_a_refused_token_is_renewed_and_a_logged_out_device_reported(
    synapse_factory: SynapseFactory, tmp_path: Path
) -> None:
    async with logged_in(synapse_factory, tmp_path) as (bot_account, alice, config):
        # Forget when to renew: only the homeserver's soft logout can tell.
        engine = create_engine(load_config(config, environ={}, upgrade=False).database_url)
        await StateStore(engine, bot_account.user_id).put("token_renew_at", "")
        await engine.dispose()
        room = await alice.create_room(invite=[bot_account.user_id])
        async with running_bot(config) as bot:
            await wait_joined(alice, room, bot_account.user_id)
            await asyncio.sleep(LIFETIME_S + 1)  # the token is expired now
            await ask(alice, room, bot_account.user_id, "!hello late", "late!")
            refresher: Any = getattr(bot.api.api, "refresher", None) if bot.api else None
            assert refresher is not None and refresher.refreshes >= 1
            # Now the device is logged out for good: said once, shown on the health page.
            await refresher.http.request(Method.POST, ApiPath.v3.logout)
            async with asyncio.timeout(60):
                await bot.stopped.wait()
            problem = bot.health()["token_problem"]
            assert problem is not None and "botkit login -c" in problem


async def test_the_pair_is_stored_and_read_back(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        store = StateStore(engine, f"@{unique('bot')}:x")
        await store.setup()
        assert await stored_login(store) is None
        tokens = LoginTokens.from_response(
            {"access_token": "a1", "refresh_token": "r1", "expires_in_ms": 60_000}
        )
        await store_login(store, tokens, "DEVICE")
        assert await stored_login(store) == tokens
        assert await store.get("device_id") == "DEVICE"
        forever = LoginTokens.from_response({"access_token": "a2"})
        await store_login(store, forever, None)
        assert await stored_login(store) == forever
    finally:
        await engine.dispose()
