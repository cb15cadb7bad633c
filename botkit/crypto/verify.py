"""``botkit verify``: cross-sign the bot's device, so that clients trust it with room keys.

Without a recovery key, new cross-signing keys are made for the account (the
recovery key that opens their secret storage is printed once); with one, the
existing self-signing key signs this device.
"""

from __future__ import annotations

from ..bot import Bot
from ..config import BotConfig
from .olm import OlmBackend

__all__ = ["verify"]


async def verify(config: BotConfig, recovery_key: str | None, password: str | None) -> str:
    """Bootstrap cross-signing or sign the device; returns what to tell the operator."""
    bot = Bot(config)
    try:
        await bot._open_database()
        api = bot.api = await bot._connect()
        backend = await OlmBackend.open(api, config.database_url, config.encryption.share_keys_with)
        try:
            if recovery_key:
                await backend.sign_with_recovery_key(recovery_key)
                return f"device {api.device_id} of {api.mxid} is now signed by its self-signing key"
            key = await backend.bootstrap_cross_signing(password)
        finally:
            await backend.close()
    finally:
        if bot.api is not None:
            await bot.api.api.session.close()
        await bot.engine.dispose()
    return (
        f"cross-signing set up for {api.mxid}; device {api.device_id} is signed.\n"
        f"Recovery key (shown only now; keep it safe, it unlocks the signing keys):\n{key}"
    )
