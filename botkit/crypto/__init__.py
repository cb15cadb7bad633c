"""End-to-end encryption (spec: "End-to-end encryption"), behind one door.

Every use of ``mautrix.crypto`` and of python-olm (libolm) is in
:mod:`botkit.crypto.olm`; the rest of botkit talks to :class:`Encryption`
(:mod:`botkit.crypto.rooms`) and plugins to :func:`encryption_of`. libolm is
deprecated upstream, so a vodozemac backend can replace that one module later.

This package imports neither, so that ``botkit check`` can say that python-olm
is missing instead of failing to start.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from mautrix.types import BaseEvent, SerializableAttrs

__all__ = ["MARKER", "EncryptionInfo", "encryption_of", "missing_dependency"]

#: The top-level key of a decrypted event that says how it was encrypted.
MARKER = "io.botkit.encryption"


@dataclass(frozen=True, slots=True)
class EncryptionInfo:
    """How an event reached the bot: it was encrypted, and by a device trusted how much.

    ``trust`` is one of ``verified`` (the bot's own device, or one that its owner
    cross-signed and the bot checked), ``cross-signed``, ``unverified``,
    ``unknown-device``, ``forwarded`` (a key another device passed on).
    """

    trust: str
    sender_device: str | None

    @property
    def verified(self) -> bool:
        """Whether the sending device is cross-signed by its owner (or is the bot's own)."""
        return self.trust in ("verified", "cross-signed")


def encryption_of(event: BaseEvent) -> EncryptionInfo | None:
    """How ``event`` was encrypted; None when it was sent in the clear."""
    # botkit.crypto put the marker at the event's top level; mautrix keeps unknown keys.
    info: Any = event.get(MARKER) if isinstance(event, SerializableAttrs) else None
    if not isinstance(info, dict):
        return None
    device = info.get("sender_device")
    return EncryptionInfo(
        str(info.get("trust", "unknown")), device if isinstance(device, str) else None
    )


def missing_dependency() -> str | None:
    """What to install for encryption, or None when python-olm is there."""
    if importlib.util.find_spec("olm") is None:
        return (
            "needs python-olm, which is not installed: pip install 'python-olm>=3.2.16' "
            "(or reinstall botkit, which depends on it)"
        )
    return None
