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

__all__ = ["open_encryption", "report_undecryptable", "standby_lease"]


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


def standby_lease(engine: AsyncEngine, config: BotConfig) -> Lease:
    """Active/standby: the lease this process waits for (see :mod:`botkit.lease`).

    The caller keeps it before :meth:`~botkit.lease.Lease.hold` returns, so that
    health shows the process as a standby meanwhile.
    """
    from .lease import Lease

    return Lease.for_config(engine, config)
