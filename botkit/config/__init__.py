"""botkit's configuration: the main config file and the checking of plugin configs.

The commented ``config.sample.yaml`` shipped with botkit is the source of every
default; a plugin's own commented ``config.yaml`` plays the same part for its
instances' configs. Both are checked by :func:`merge_config`, which reads each
key's type off its default value. A plugin's typed config class then adds ranges,
enums, optional values and cross-field rules (:mod:`botkit.config.typed`).
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
from botkit.config.typed import Invalid, at_least, between, build_config, structure_config

__all__ = [
    "AutojoinConfig",
    "BotConfig",
    "BotSettings",
    "EncryptionConfig",
    "HomeserverConfig",
    "InstanceConfig",
    "Invalid",
    "LimitsConfig",
    "LoggingConfig",
    "SendingConfig",
    "SyncConfig",
    "WebConfig",
    "at_least",
    "between",
    "build_config",
    "is_server_name",
    "is_user_id",
    "load_config",
    "load_defaults",
    "merge_config",
    "sample_text",
    "structure_config",
    "write_sample",
]
