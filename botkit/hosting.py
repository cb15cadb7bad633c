"""The one place a :class:`~botkit.instance.Host` is put together.

The bot and the test harness both build theirs here, so what a plugin's tests
run against cannot drift from what the bot runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mautrix.client import ClientAPI

from .client import Sender
from .clock import Clock, SystemClock
from .config import BotConfig
from .config.model import LimitsConfig
from .instance import Host
from .limits import CommandLimiter
from .membership import RoomAccess
from .metrics import Metrics
from .services import ServiceRegistry

if TYPE_CHECKING:
    from .crypto.encryption import Encryption

__all__ = ["HostSettings", "build_host"]


@dataclass(frozen=True, slots=True)
class HostSettings:
    """What the host takes from the config's ``bot``, ``sync`` and ``sending`` sections.

    The defaults are the harness's: the sample config's values, without limits.
    """

    command_prefix: str = "!"
    mention_commands: bool = True
    admins: frozenset[str] = frozenset()
    handler_timeout: float = 10.0
    limits: LimitsConfig = field(default_factory=lambda: LimitsConfig(0, 0, 0, 0))
    max_retries: int = 8
    max_backoff: float = 60.0

    @classmethod
    def of(cls, config: BotConfig) -> HostSettings:
        """The settings in a bot's config."""
        bot = config.bot
        return cls(
            command_prefix=bot.command_prefix,
            mention_commands=bot.mention_commands,
            admins=frozenset(bot.admins),
            handler_timeout=config.sync.handler_timeout,
            limits=bot.limits,
            max_retries=config.sending.max_retries,
            max_backoff=config.sending.max_backoff,
        )


def build_host(
    api: ClientAPI,
    engine: Any,
    settings: HostSettings,
    *,
    services: ServiceRegistry | None = None,
    metrics: Metrics | None = None,
    clock: Clock | None = None,
    encryption: Encryption | None = None,
) -> Host:
    """The host of every instance on ``api``, with its sender, limiter and clock.

    With ``encryption``, what the sender sends to an encrypted room is encrypted.
    """
    metrics = metrics or Metrics()
    sender = Sender(
        api,
        metrics,
        max_retries=settings.max_retries,
        max_backoff=settings.max_backoff,
        access=RoomAccess(api.mxid),
        encryption=encryption,
    )
    return Host(
        api=api,
        sender=sender,
        engine=engine,
        services=services or ServiceRegistry(),
        metrics=metrics,
        command_prefix=settings.command_prefix,
        mention_commands=settings.mention_commands,
        admins=settings.admins,
        handler_timeout=settings.handler_timeout,
        limits=CommandLimiter(settings.limits, settings.admins),
        clock=clock or SystemClock(),
    )
