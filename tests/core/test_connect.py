"""Connecting: password logins, tokens the homeserver no longer knows, refused passwords."""

from __future__ import annotations

import uuid
from pathlib import Path

import aiohttp
import pytest

from botkit.bot import Bot
from botkit.config import load_config
from botkit.errors import BotkitError
from botkit.testing.bot import running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.synapse import MatrixAccount, Synapse


def password_config(path: Path, account: MatrixAccount, password: str) -> Path:
    return write_bot_config(
        path, account=account, homeserver={"access_token": None, "password": password}
    )


async def log_out(homeserver_url: str, token: str) -> None:
    """``POST /logout``: the device and its token are gone (spec: "Logout")."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{homeserver_url}/_matrix/client/v3/logout",
            headers={"Authorization": f"Bearer {token}"},
            json={},
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()


async def test_a_password_login_is_kept_and_renewed_when_logged_out(
    synapse: Synapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    account = synapse.register(f"bot{uuid.uuid4().hex[:8]}")
    config = password_config(tmp_path / "config.yaml", account, account.password)
    async with running_bot(config) as bot:
        assert bot.api is not None
        first_device, first_token = bot.api.device_id, bot.api.api.token
    # A restart reuses the stored login rather than piling up devices.
    async with running_bot(config) as bot:
        assert bot.api is not None
        assert (bot.api.device_id, bot.api.api.token) == (first_device, first_token)
    await log_out(account.homeserver_url, first_token)
    async with running_bot(config) as bot:
        assert bot.api is not None
        assert bot.api.device_id != first_device
    assert "the stored access token is no longer valid; logging in again" in caplog.text


async def test_a_refused_password_is_fatal_and_names_the_user(
    synapse: Synapse, tmp_path: Path
) -> None:
    account = synapse.register(f"bot{uuid.uuid4().hex[:8]}")
    config = password_config(tmp_path / "config.yaml", account, "wrong password")
    bot = Bot(load_config(config))
    try:
        with pytest.raises(BotkitError, match=f"refused to log in {account.user_id}"):
            await bot.start()
    finally:
        await bot.stop()
