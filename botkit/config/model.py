"""The checked config as typed, frozen values: one dataclass per section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mautrix.types import UserID

from botkit.storage import default_url

__all__ = [
    "AppserviceConfig",
    "AutojoinConfig",
    "BotConfig",
    "BotSettings",
    "EncryptionConfig",
    "HomeserverConfig",
    "InstanceConfig",
    "LimitsConfig",
    "LoggingConfig",
    "SendingConfig",
    "StandbyConfig",
    "SyncConfig",
    "WebConfig",
    "build_config",
]


@dataclass(frozen=True, slots=True)
class HomeserverConfig:
    """Where the bot connects and how it authenticates (secrets are left out of ``repr``)."""

    url: str
    user_id: UserID
    access_token: str | None = field(repr=False)
    password: str | None = field(repr=False)
    device_name: str


@dataclass(frozen=True, slots=True)
class WebConfig:
    """Address of the HTTP server; ``public`` when a non-loopback ``host`` is meant."""

    host: str
    port: int
    public: bool = False


@dataclass(frozen=True, slots=True)
class AutojoinConfig:
    """Which invites the bot accepts; an empty ``allow`` accepts every invite."""

    enabled: bool
    allow: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """Flood limits on commands (see :mod:`botkit.limits`); a burst of 0 is no limit."""

    user_burst: int
    user_per_minute: int
    room_burst: int
    room_per_minute: int


@dataclass(frozen=True, slots=True)
class BotSettings:
    """How users talk to the bot: command prefix, admins, invites, flood limits."""

    command_prefix: str
    mention_commands: bool
    admins: tuple[UserID, ...]
    autojoin: AutojoinConfig
    limits: LimitsConfig = LimitsConfig(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """How events are received and handled; durations in seconds."""

    timeout: float
    timeline_limit: int
    max_catchup_age: float
    handled_retention: float
    max_pending: int
    handler_timeout: float
    retry_attempts: int
    retry_delay: float
    retry_max_delay: float


@dataclass(frozen=True, slots=True)
class SendingConfig:
    """How failed sends are retried; ``max_backoff`` in seconds."""

    max_retries: int
    max_backoff: float


@dataclass(frozen=True, slots=True)
class EncryptionConfig:
    """End-to-end encryption: on or off, who gets room keys, how long late keys are awaited."""

    enabled: bool = False
    share_keys_with: str = "all"
    key_wait: float = 10.0
    key_request_wait: float = 60.0


@dataclass(frozen=True, slots=True)
class AppserviceConfig:
    """Application-service mode (see :mod:`botkit.appservice`); tokens left out of ``repr``."""

    enabled: bool
    registration: Path
    id: str
    host: str
    port: int
    url: str
    as_token: str | None = field(repr=False)
    hs_token: str | None = field(repr=False)
    probe_interval: float = 2.0


_NO_APPSERVICE = AppserviceConfig(
    False, Path("appservice-registration.yaml"), "botkit", "", 0, "", None, None
)


@dataclass(frozen=True, slots=True)
class StandbyConfig:
    """Active/standby on PostgreSQL (see :mod:`botkit.lease`); durations in seconds."""

    enabled: bool = False
    poll_interval: float = 1.0
    check_interval: float = 0.5
    takeover_delay: float = 3.0


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    """Log level name (upper case), ``logging`` format string, and the log file (None: stderr)."""

    level: str
    format: str
    file: Path | None = None


@dataclass(frozen=True, slots=True)
class InstanceConfig:
    """One plugin instance: its name, the plugin it runs, and its own config.

    ``config`` holds the user's values as written (plain Python, not yet checked);
    the plugin loader checks them against the plugin's defaults with
    :func:`botkit.config.merge_config`.
    """

    name: str
    plugin: str
    enabled: bool = True
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BotConfig:
    """The whole, checked config of one bot.

    ``raw`` is the merged config as plain Python, environment overrides included.
    """

    path: Path
    homeserver: HomeserverConfig
    database_url: str
    web: WebConfig
    bot: BotSettings
    sync: SyncConfig
    sending: SendingConfig
    logging: LoggingConfig
    plugin_dirs: tuple[Path, ...]
    plugins: dict[str, InstanceConfig]
    raw: Mapping[str, Any] = field(repr=False)
    encryption: EncryptionConfig = EncryptionConfig()
    appservice: AppserviceConfig = _NO_APPSERVICE
    standby: StandbyConfig = StandbyConfig()


def build_config(
    path: Path, merged: Mapping[str, Any], plugins: dict[str, InstanceConfig]
) -> BotConfig:
    """A :class:`BotConfig` from a merged config that has passed every check."""
    path = path.resolve()
    hs, bot, sync, sending = merged["homeserver"], merged["bot"], merged["sync"], merged["sending"]
    log_file = merged["logging"]["file"]
    return BotConfig(
        path=path,
        homeserver=HomeserverConfig(
            url=hs["url"],
            user_id=UserID(hs["user_id"]),
            access_token=hs["access_token"] or None,
            password=hs["password"] or None,
            device_name=hs["device_name"],
        ),
        database_url=merged["database"]["url"] or default_url(path),
        web=WebConfig(
            host=merged["web"]["host"], port=merged["web"]["port"], public=merged["web"]["public"]
        ),
        bot=BotSettings(
            command_prefix=bot["command_prefix"],
            mention_commands=bool(bot["mention_commands"]),
            admins=tuple(UserID(a) for a in bot["admins"]),
            autojoin=AutojoinConfig(
                enabled=bot["autojoin"]["enabled"], allow=tuple(bot["autojoin"]["allow"])
            ),
            limits=LimitsConfig(**bot["limits"]),
        ),
        sync=SyncConfig(
            timeout=float(sync["timeout"]),
            timeline_limit=sync["timeline_limit"],
            max_catchup_age=float(sync["max_catchup_age"]),
            handled_retention=float(sync["handled_retention"]),
            max_pending=sync["max_pending"],
            handler_timeout=float(sync["handler_timeout"]),
            retry_attempts=sync["retry_attempts"],
            retry_delay=float(sync["retry_delay"]),
            retry_max_delay=float(sync["retry_max_delay"]),
        ),
        sending=SendingConfig(
            max_retries=sending["max_retries"], max_backoff=float(sending["max_backoff"])
        ),
        logging=LoggingConfig(
            level=merged["logging"]["level"].upper(),
            format=merged["logging"]["format"],
            file=path.parent / Path(log_file).expanduser() if log_file else None,
        ),
        plugin_dirs=tuple(path.parent / Path(d).expanduser() for d in merged["plugin_dirs"]),
        plugins=plugins,
        raw=merged,
        encryption=EncryptionConfig(
            enabled=merged["encryption"]["enabled"],
            share_keys_with=merged["encryption"]["share_keys_with"],
            key_wait=float(merged["encryption"]["key_wait"]),
            key_request_wait=float(merged["encryption"]["key_request_wait"]),
        ),
        appservice=_appservice(path, merged["appservice"]),
        standby=StandbyConfig(
            enabled=bool(merged["standby"]["enabled"]),
            poll_interval=float(merged["standby"]["poll_interval"]),
            check_interval=float(merged["standby"]["check_interval"]),
            takeover_delay=float(merged["standby"]["takeover_delay"]),
        ),
    )


def _appservice(path: Path, section: Mapping[str, Any]) -> AppserviceConfig:
    return AppserviceConfig(
        enabled=bool(section["enabled"]),
        registration=path.parent / Path(section["registration"]).expanduser(),
        id=section["id"],
        host=section["host"],
        port=section["port"],
        url=section["url"] or f"http://{section['host']}:{section['port']}",
        as_token=section["as_token"] or None,
        hs_token=section["hs_token"] or None,
        probe_interval=float(section["probe_interval"]),
    )
