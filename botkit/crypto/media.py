"""Encrypted attachments: which ``mxc://`` URIs hold ciphertext, and their keys.

An encrypted room's media message carries ``file`` (the URI with the key, IV and
hash) instead of ``url`` (spec: "Sending encrypted attachments"). botkit keeps
each such ``file`` here, by URI, when it decrypts the message (and when a plugin
uploads to an encrypted room), so that :meth:`botkit.client.PluginClient.download`
of the URI returns the clear bytes, also days and restarts later (TWIM publishes
a week's images at its end), and a send to an encrypted room carries ``file``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..storage import Storage, migrate

__all__ = ["MediaKeys"]

_meta = MetaData()
_media = Table(
    "botkit_encrypted_media",
    _meta,
    Column("url", String(255), primary_key=True),
    # The EncryptedFile object (spec), as JSON.
    Column("file", Text, nullable=False),
    Column("seen_at", BigInteger, nullable=False),
)


async def _v1(conn: AsyncConnection, storage: Storage) -> None:
    await conn.run_sync(_meta.create_all)


class MediaKeys:
    """The ``botkit_encrypted_media`` table, with the URIs seen in this run cached."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._cache: dict[str, dict[str, Any]] = {}

    async def setup(self) -> None:
        """Create or upgrade the table."""
        await migrate(Storage(self.engine, "botkit_crypto_media"), [_v1])

    async def remember(self, file: dict[str, Any]) -> None:
        """Keep ``file`` (an EncryptedFile with its ``url``) unless kept already."""
        url = str(file["url"])
        if url in self._cache or await self.get(url) is not None:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                _media.insert().values(
                    url=url, file=json.dumps(file), seen_at=int(time.time() * 1000)
                )
            )
        self._cache[url] = file

    async def get(self, url: str) -> dict[str, Any] | None:
        """The EncryptedFile for ``url``, or None when it is not encrypted media."""
        if url in self._cache:
            return self._cache[url]
        async with self.engine.connect() as conn:
            found = (await conn.execute(select(_media.c.file).where(_media.c.url == url))).scalar()
        if found is None:
            return None
        file: dict[str, Any] = json.loads(found)
        self._cache[url] = file
        return file
