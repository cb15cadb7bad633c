"""``botkit verify``: cross-signing for the bot's device, checked on the homeserver."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from botkit.testing.bot import running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.synapse import MatrixAccount, Synapse
from botkit.testing.talk import eventually

ON = {"enabled": True}


async def botkit_verify(config: Path, *args: str) -> tuple[int, str, str]:
    """Run ``botkit verify -c config [args]``: exit status, standard output and error."""
    done = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "botkit",
        "verify",
        "-c",
        str(config),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await done.communicate()
    assert done.returncode is not None
    return done.returncode, out.decode(), err.decode()


async def matrix(account: MatrixAccount, method: str, path: str, body: Any = None) -> Any:
    """One client-server API call as ``account``."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            f"{account.homeserver_url}/_matrix/client/v3/{path}",
            json=body,
            headers={"Authorization": f"Bearer {account.access_token}"},
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def signed_by_self_signing_key(account: MatrixAccount, device_id: str) -> bool:
    """Whether ``/keys/query`` shows ``device_id`` signed by the account's self-signing key."""
    keys = await matrix(account, "POST", "keys/query", {"device_keys": {account.user_id: []}})
    self_signing = keys.get("self_signing_keys", {}).get(account.user_id)
    device = keys["device_keys"][account.user_id][device_id]
    signatures = device.get("signatures", {}).get(account.user_id, {})
    return self_signing is not None and any(k in signatures for k in self_signing["keys"])


async def test_botkit_verify_cross_signs_the_device(synapse: Synapse, tmp_path: Path) -> None:
    bot = synapse.register(f"bot{uuid.uuid4().hex[:8]}")
    config = write_bot_config(
        tmp_path / "config.yaml", account=bot, encryption=ON, homeserver={"password": bot.password}
    )
    async with running_bot(config) as before:
        assert before.encryption is not None
        first = before.encryption
        await eventually(lambda: first.cross_signed is not None, what="trust checked")
        unverified = before.health()["encryption"]["cross_signed"]
    status, out, err = await botkit_verify(config)
    assert status == 0, err
    recovery_key = out.strip().splitlines()[-1]
    async with running_bot(config) as after:
        assert after.encryption is not None
        second = after.encryption
        await eventually(lambda: second.cross_signed is not None, what="trust checked")
        verified = after.health()["encryption"]["cross_signed"]
    user = f"user/{bot.user_id}/account_data"
    master = await matrix(bot, "GET", f"{user}/m.cross_signing.master")
    default = await matrix(bot, "GET", f"{user}/m.secret_storage.default_key")
    assert await signed_by_self_signing_key(bot, bot.device_id)
    assert default["key"] in master["encrypted"], "the master key is not in secret storage"
    assert len(recovery_key.split()) >= 12, recovery_key
    assert (unverified, verified) == (False, True)


async def test_a_new_device_is_signed_with_the_recovery_key(
    synapse: Synapse, tmp_path: Path
) -> None:
    bot = synapse.register(f"bot{uuid.uuid4().hex[:8]}")
    first = write_bot_config(
        tmp_path / "a" / "config.yaml",
        account=bot,
        encryption=ON,
        homeserver={"password": bot.password},
    )
    status, out, err = await botkit_verify(first)
    assert status == 0, err
    recovery_key = out.strip().splitlines()[-1]
    # The same account on a new device, with its own database (after `botkit login`).
    device = synapse.login(bot.user_id.split(":")[0][1:], bot.password)
    second = write_bot_config(tmp_path / "b" / "config.yaml", account=device, encryption=ON)
    status, _, err = await botkit_verify(second, "--recovery-key", "EsT0 not the key")
    assert status == 1 and "the recovery key does not open" in err, err
    assert not await signed_by_self_signing_key(device, device.device_id)
    status, _, err = await botkit_verify(second, "--recovery-key", recovery_key)
    assert status == 0, err
    assert await signed_by_self_signing_key(device, device.device_id)
