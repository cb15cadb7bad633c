"""The optional parts of a bot's start-up: encryption and the standby lease.

Each is imported only when the config turns it on, so a bot without them does not
carry their code: encryption alone (``mautrix.crypto`` and python-olm) is about
7 MB and 55 ms of start-up (see "Benchmarks" in the README). Appservice mode is
imported the same way, where :class:`botkit.bot.Bot` starts it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from mautrix.client import ClientAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from .config import BotConfig
from .instance import PluginInstance
from .metrics import Metrics

if TYPE_CHECKING:
    from .crypto.encryption import Encryption
    from .lease import Lease

__all__ = ["open_encryption", "report_undecryptable", "wait_for_lease"]


async def open_encryption(
    api: ClientAPI, engine: AsyncEngine, config: BotConfig, metrics: Metrics
) -> Encryption:
    """The device's encryption keys (see :mod:`botkit.crypto`)."""
    from .crypto.encryption import Encryption

    return await Encryption.open(api, engine, config.database_url, config.encryption, metrics)


def report_undecryptable(
    encryption: Encryption, instances: Callable[[], Iterable[PluginInstance]]
) -> None:
    """Tell the running plugins about each event that cannot be decrypted."""
    from .crypto.hooks import tell_undecryptable

    encryption.on_undecryptable = lambda raw, why: tell_undecryptable(instances(), raw, why)


async def wait_for_lease(
    engine: AsyncEngine, config: BotConfig, metrics: Metrics, on_lost: Callable[[str], None]
) -> Lease:
    """Active/standby: return once this process holds the lease (see :mod:`botkit.lease`)."""
    from .lease import Lease

    lease = Lease.for_config(engine, config)
    await lease.hold(metrics, on_lost)
    return lease
