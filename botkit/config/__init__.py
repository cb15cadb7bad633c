"""botkit's configuration: the main config file and the checking of plugin configs.

The commented ``config.sample.yaml`` shipped with botkit is the source of every
default; a plugin's own commented ``config.yaml`` plays the same part for its
instances' configs. Both are checked by :func:`merge_config`, which reads each
key's type off its default value.
"""

from __future__ import annotations

from botkit.config.checks import is_server_name, is_user_id
from botkit.config.files import load_defaults, sample_text, write_sample
from botkit.config.load import load_config
from botkit.config.model import (
    AutojoinConfig,
    BotConfig,
    BotSettings,
    EncryptionConfig,
    HomeserverConfig,
    InstanceConfig,
    LimitsConfig,
    LoggingConfig,
    SendingConfig,
    SyncConfig,
    WebConfig,
)
from botkit.config.schema import merge_config

__all__ = [
    "AutojoinConfig",
    "BotConfig",
    "BotSettings",
    "EncryptionConfig",
    "HomeserverConfig",
    "InstanceConfig",
    "LimitsConfig",
    "LoggingConfig",
    "SendingConfig",
    "SyncConfig",
    "WebConfig",
    "is_server_name",
    "is_user_id",
    "load_config",
    "load_defaults",
    "merge_config",
    "sample_text",
    "write_sample",
]
