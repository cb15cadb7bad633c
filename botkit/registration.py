"""The application-service registration: the file the homeserver reads, and its tokens.

Spec: "Application Service API", Registration. The bot's own user is the
appservice's ``sender_localpart``, and its only user namespace (exclusive), so
the homeserver sends the events of every room the bot is in, and the invites
to it. ``as_token`` authenticates the bot to the homeserver, ``hs_token`` the
homeserver to the bot.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import BotConfig
from .errors import BotkitError
from .private import protect

__all__ = ["AppserviceTokens", "read_tokens", "registration", "write_registration"]


@dataclass(frozen=True, slots=True)
class AppserviceTokens:
    """The two secrets of an appservice (left out of ``repr``)."""

    as_token: str
    hs_token: str

    def __repr__(self) -> str:
        return "AppserviceTokens(...)"


def registration(config: BotConfig, tokens: AppserviceTokens) -> dict[str, Any]:
    """The registration document for ``config``'s bot, as the homeserver reads it."""
    user_id = config.homeserver.user_id
    localpart = user_id[1:].split(":", 1)[0]
    return {
        "id": config.appservice.id,
        "url": config.appservice.url,
        "as_token": tokens.as_token,
        "hs_token": tokens.hs_token,
        "sender_localpart": localpart,
        # The bot answers commands from many users at once: no per-user rate limits.
        "rate_limited": False,
        "namespaces": {
            "users": [{"exclusive": True, "regex": "^" + re.escape(user_id) + "$"}],
            "aliases": [],
            "rooms": [],
        },
    }


def _yaml() -> Any:
    # The safe (C) loader and dumper: no comments to keep in a generated file.
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    # Block style: a flow mapping with a plain "a:b" scalar is ambiguous to some parsers.
    yaml.default_flow_style = False
    return yaml


def _read(path: Path) -> dict[str, Any]:
    try:
        document = _yaml().load(path.read_text())
    except FileNotFoundError:
        return {}
    except Exception as e:
        raise BotkitError(f"cannot read the appservice registration {path}: {e}") from e
    return document if isinstance(document, dict) else {}


def write_registration(config: BotConfig) -> Path:
    """Write ``appservice.registration``: new tokens, or those of the file already there.

    Keeping the tokens means that running this again after a config change
    (a new URL) needs no change on the homeserver but a reload of the file.
    """
    path = config.appservice.registration
    old = _read(path)
    tokens = AppserviceTokens(
        config.appservice.as_token or str(old.get("as_token") or secrets.token_urlsafe(32)),
        config.appservice.hs_token or str(old.get("hs_token") or secrets.token_urlsafe(32)),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    protect([path])  # it holds the tokens: the bot's user (and the homeserver's) only
    with path.open("w") as f:
        _yaml().dump(registration(config, tokens), f)
    return path


def read_tokens(config: BotConfig) -> AppserviceTokens:
    """The tokens: from the config (or its environment variables), else the registration file."""
    section = config.appservice
    stored = _read(section.registration) if not (section.as_token and section.hs_token) else {}
    as_token = section.as_token or stored.get("as_token")
    hs_token = section.hs_token or stored.get("hs_token")
    if not (isinstance(as_token, str) and as_token and isinstance(hs_token, str) and hs_token):
        raise BotkitError(
            f"no appservice tokens in {section.registration}: run "
            f"`botkit appservice-registration -c {config.path}` and register the file "
            "with the homeserver (Synapse: app_service_config_files)"
        )
    return AppserviceTokens(as_token, hs_token)
