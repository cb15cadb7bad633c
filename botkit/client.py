"""The send path and the client each plugin gets.

Every message a plugin sends goes through :class:`Sender`, which retries rate
limits (``M_LIMIT_EXCEEDED`` with the server's ``retry_after_ms``), transport
errors and 5xx answers with capped, jittered backoff. Sends made while handling
an event use a transaction ID derived from that event, the plugin instance and
the send's position in the handler, so a reply re-sent after a retry, a crash
or a restart is deduplicated by the homeserver: transaction IDs are idempotent
per device (spec: client-server API, "Transaction identifiers").
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from aiohttp import ClientError, ClientResponse
from mautrix.api import HTTPAPI, Method, Path
from mautrix.client import ClientAPI
from mautrix.errors import (
    MatrixConnectionError,
    MatrixRequestError,
    MLimitExceeded,
    MUnknownToken,
    make_request_error,
)
from mautrix.types import (
    JSON,
    ContentURI,
    EventContent,
    EventID,
    EventType,
    MessageType,
    ReactionEventContent,
    RelatesTo,
    RelationType,
    RoomID,
    UserID,
)

from .errors import SendError
from .event_size import CONTENT_BUDGET, content_size, fit_text, fits
from .links import safe_html
from .markdown import render_async
from .membership import RoomAccess
from .metrics import Metrics
from .relations import mentions

if TYPE_CHECKING:
    from .crypto.encryption import Encryption
    from .tokens import TokenRefresher

__all__ = ["BotHTTPAPI", "Origin", "PluginClient", "Sender", "origin"]

log = logging.getLogger("botkit.send")


class RateLimited(MLimitExceeded):
    """``M_LIMIT_EXCEEDED`` that keeps the server's ``retry_after_ms``."""

    def __init__(self, http_status: int, message: str, retry_after_ms: int | None) -> None:
        super().__init__(http_status, message)
        self.retry_after_ms = retry_after_ms


class BotHTTPAPI(HTTPAPI):
    """mautrix's HTTP API, but an error answer keeps the server's ``retry_after_ms``.

    mautrix builds its exception from ``errcode`` and ``error`` only, so the
    wait the server asked for (spec: "Rate limiting") would be lost. It also
    formats a debug line before and after every request, logged or not; here
    they are formatted only when debug logging is on.
    """

    refresher: TokenRefresher | None = None
    """Renews an expiring access token (see :mod:`botkit.tokens`); None: it does not expire."""

    async def request(self, *args: Any, **kwargs: Any) -> JSON:
        """As mautrix's, but an expiring token is renewed before, or when refused, and resent."""
        refresher = self.refresher
        if refresher is None:
            return await super().request(*args, **kwargs)
        if refresher.due():
            await refresher.refresh()
        token = self.token
        try:
            return await super().request(*args, **kwargs)
        except MUnknownToken as e:
            if not (getattr(e, "soft_logout", False) and refresher.active):
                raise
            if not await refresher.refresh(refused=token):
                raise
        return await super().request(*args, **kwargs)

    def _log_request(self, *args: Any, **kwargs: Any) -> None:
        if self.log.isEnabledFor(logging.DEBUG):
            super()._log_request(*args, **kwargs)

    def _log_request_done(self, *args: Any, **kwargs: Any) -> None:
        if self.log.isEnabledFor(logging.DEBUG):
            super()._log_request_done(*args, **kwargs)

    async def _send(
        self,
        method: Method,
        url: Any,
        content: Any,
        query_params: dict[str, str],
        headers: dict[str, str],
    ) -> tuple[JSON, ClientResponse]:
        request = self.session.request(
            str(method), url, data=content, params=query_params, headers=headers
        )
        async with request as response:
            if 200 <= response.status < 300:
                return await response.json(), response
            text = await response.text()
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if not isinstance(data, dict):
                data = {}
            error = make_request_error(
                http_status=response.status,
                text=text,
                errcode=data.get("errcode"),
                message=data.get("error"),
            )
            # An expired token of a device that may refresh it (spec: "Soft logout").
            error.soft_logout = data.get("soft_logout") is True  # type: ignore[attr-defined]
            retry_after = data.get("retry_after_ms")
            if isinstance(error, MLimitExceeded) or response.status == 429:
                ms = retry_after if isinstance(retry_after, int) else None
                raise RateLimited(response.status, str(data.get("error", "")), ms)
            raise error


@dataclass(slots=True)
class Origin:
    """The event a handler is working on: the seed of its sends' transaction IDs."""

    instance: str
    event_id: str
    sends: int = 0

    def next_txn_id(self) -> str:
        """A transaction ID that is the same each time this handler reaches this send."""
        self.sends += 1
        seed = f"{self.instance}\0{self.event_id}\0{self.sends}".encode()
        return "bk" + hashlib.sha256(seed).hexdigest()[:32]


origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar(
    "botkit_origin", default=None
)


@dataclass
class Sender:
    """The one path every send takes: retries, backoff and deterministic transaction IDs."""

    api: ClientAPI
    metrics: Metrics
    max_retries: int = 8
    max_backoff: float = 60.0
    access: RoomAccess | None = None
    """The rooms the bot is banned from: nothing is sent there (see :mod:`botkit.membership`)."""
    encryption: Encryption | None = None
    """Encrypts what goes to encrypted rooms (see :mod:`botkit.crypto`); None: encryption is off."""
    _rand: random.Random = field(default_factory=random.Random)

    def check_room(self, room_id: RoomID) -> None:
        """Raise :class:`SendError` if the bot may not send to ``room_id``."""
        why = self.access.banned(room_id) if self.access is not None else None
        if why is not None:
            raise SendError(f"not sent to {room_id}: the bot was {why}")

    def txn_id(self) -> str:
        """The transaction ID for the next send in the current context."""
        current = origin.get()
        return current.next_txn_id() if current else self.api.api.get_txn_id()

    def _delay(self, attempt: int, floor_ms: int | None = None) -> float:
        base = floor_ms / 1000 if floor_ms is not None else 0.25 * 2**attempt
        capped = min(base, self.max_backoff)
        return capped + self._rand.uniform(0, capped * 0.2 + 0.05)

    async def request(
        self, instance: str, what: str, method: Method, path: Any, content: dict[str, Any]
    ) -> Any:
        """PUT/POST ``content`` to ``path``, retrying what can be retried."""
        for attempt in range(self.max_retries + 1):
            try:
                return await self.api.api.request(method, path, content)
            except MLimitExceeded as e:
                retry_ms = getattr(e, "retry_after_ms", None)
                delay = self._delay(attempt, retry_ms if retry_ms is not None else 1000)
                reason = "rate limited"
            except MatrixRequestError as e:
                if e.http_status < 500:
                    raise SendError(f"{what} refused by the homeserver: {e}") from e
                delay, reason = self._delay(attempt), f"HTTP {e.http_status}"
            except (MatrixConnectionError, ClientError, TimeoutError) as e:
                delay, reason = self._delay(attempt), f"{type(e).__name__}: {e}"
            if attempt == self.max_retries:
                break
            self.metrics.send_retries.inc(instance)
            log.info("%s for %s: %s; retrying in %.1f s", what, instance, reason, delay)
            await asyncio.sleep(delay)
        raise SendError(f"{what} failed after {self.max_retries + 1} attempts")

    async def send(
        self, instance: str, room_id: RoomID, event_type: EventType, content: dict[str, Any]
    ) -> EventID:
        """Send one event; the same handler reaching the same send reuses its transaction ID."""
        self.check_room(room_id)
        txn_id = self.txn_id()
        type_name = event_type.t
        if self.encryption is not None:  # once, before the retries: they resend the same
            try:
                type_name, content = await self.encryption.encrypt(room_id, type_name, content)
            except Exception as e:  # no key share, no member list: the handler is retried
                raise SendError(f"could not encrypt for {room_id}: {type(e).__name__}: {e}") from e
        path = Path.v3.rooms[room_id].send[type_name][txn_id]
        resp = await self.request(instance, "send", Method.PUT, path, content)
        self.metrics.messages_sent.inc(instance)
        return EventID(resp["event_id"])


class PluginClient:
    """The bot's Matrix client as one plugin instance sees it.

    Sends are attributed to the instance (logs, metrics) and go through the
    shared :class:`Sender`. ``api`` is the raw mautrix client for everything
    else; sends made directly through it bypass retries and deduplication.
    """

    def __init__(self, api: ClientAPI, sender: Sender, instance: str) -> None:
        self.api = api
        self._sender = sender
        self.instance = instance

    @property
    def mxid(self) -> UserID:
        """The bot's own user ID."""
        return self.api.mxid

    async def send(
        self,
        room_id: RoomID,
        content: EventContent | dict[str, Any],
        event_type: EventType = EventType.ROOM_MESSAGE,
    ) -> EventID:
        """Send an event of ``event_type`` (a message by default) to ``room_id``.

        A message without ``m.mentions`` gets an empty one: it mentions nobody, and
        clients that support intentional mentions (spec v1.7) do not guess from its body.
        Links and images with unsafe schemes (``javascript:``, ``data:``, ...) are
        dropped from ``formatted_body`` (see :func:`botkit.markdown.safe_html`).
        Content too large for one event raises :class:`~botkit.errors.SendError`
        before anything is sent; :meth:`send_text` and :meth:`send_markdown` cut it.
        """
        raw = content if isinstance(content, dict) else content.serialize()
        body = _safe_formatting(cast(dict[str, Any], raw))
        if event_type == EventType.ROOM_MESSAGE and "m.mentions" not in body:
            body = {**body, "m.mentions": {}}
        if not fits(body):
            raise SendError(
                f"the event is too large for Matrix: {content_size(body):,} bytes of "
                f"content, at most {CONTENT_BUDGET:,}"
            )
        return await self._sender.send(self.instance, room_id, event_type, body)

    async def send_text(
        self,
        room_id: RoomID,
        text: str,
        *,
        html: str | None = None,
        notice: bool = True,
        relates_to: dict[str, Any] | None = None,
        mention: Iterable[str] = (),
    ) -> EventID:
        """Send plain text (and optionally its HTML), as a notice unless ``notice=False``.

        ``relates_to`` is the message's ``m.relates_to`` (see :mod:`botkit.relations`);
        ``mention`` the users it mentions (``m.mentions``), none by default. A message
        too long for one event is cut, without its HTML, and says so.
        """
        content = _text_content(text, html, notice) | _conversation(relates_to, mention)
        return await self.send(room_id, await fit_text(content, text))

    async def send_markdown(
        self,
        room_id: RoomID,
        markdown: str,
        *,
        notice: bool = True,
        allow_html: bool = False,
        relates_to: dict[str, Any] | None = None,
        mention: Iterable[str] = (),
    ) -> EventID:
        """Send ``markdown`` rendered to HTML; raw HTML in it is escaped unless allowed.

        Markdown longer than :data:`botkit.markdown.MAX_MARKDOWN_CHARS` raises
        :class:`~botkit.markdown.MarkdownTooLong` (a command answers "too long"); long
        text is rendered in a worker thread; a message too long for one event is cut.
        ``relates_to`` and ``mention`` as in :meth:`send_text`.
        """

        async def render(text: str) -> str:
            html: str = await render_async(text, allow_html=allow_html)
            return html.rstrip("\n")

        content = _text_content(markdown, await render(markdown), notice)
        content |= _conversation(relates_to, mention)
        return await self.send(room_id, await fit_text(content, markdown, render))

    async def react(self, room_id: RoomID, event_id: EventID, key: str) -> EventID:
        """Annotate ``event_id`` with the reaction ``key``."""
        content = ReactionEventContent(
            relates_to=RelatesTo(rel_type=RelationType.ANNOTATION, event_id=event_id, key=key)
        )
        return await self.send(room_id, content, EventType.REACTION)

    async def redact(
        self, room_id: RoomID, event_id: EventID, reason: str | None = None
    ) -> EventID:
        """Redact ``event_id`` (spec: "Redactions"), with the same retries as a send."""
        self._sender.check_room(room_id)
        txn_id = self._sender.txn_id()
        path = Path.v3.rooms[room_id].redact[event_id][txn_id]
        body: dict[str, Any] = {"reason": reason} if reason else {}
        resp = await self._sender.request(self.instance, "redact", Method.PUT, path, body)
        return EventID(resp["event_id"])

    async def upload(
        self, data: bytes, mime_type: str, filename: str, *, room_id: RoomID | None = None
    ) -> ContentURI:
        """Upload a file to the media repository; returns its ``mxc://`` URI.

        With ``room_id`` of an encrypted room (and encryption on), the file is
        uploaded encrypted, and a message sent there with this ``url`` carries the
        key (as ``file``, see :mod:`botkit.crypto.media`).
        """
        encryption = self._sender.encryption
        if encryption is not None and room_id is not None:
            url = await encryption.upload(self.api, room_id, data, mime_type, filename)
            if url is not None:
                return url
        return await self.api.upload_media(data, mime_type=mime_type, filename=filename)

    async def download(self, url: ContentURI) -> bytes:
        """Download media with the authenticated media API where the server has it.

        An encrypted room's attachment comes decrypted (see :mod:`botkit.crypto.media`).
        """
        data = await self.api.download_media(url)
        encryption = self._sender.encryption
        return data if encryption is None else await encryption.download(url, data)


def _text_content(text: str, html: str | None, notice: bool) -> dict[str, Any]:
    content: dict[str, Any] = {
        "msgtype": (MessageType.NOTICE if notice else MessageType.TEXT).value
    }
    content["body"] = text
    if html is not None:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = html
    return content


def _conversation(relates_to: dict[str, Any] | None, mention: Iterable[str]) -> dict[str, Any]:
    """The ``m.mentions`` (and ``m.relates_to``, if any) of a text message."""
    keys: dict[str, Any] = {"m.mentions": mentions(mention)}
    if relates_to:
        keys["m.relates_to"] = relates_to
    return keys


def _safe_formatting(content: dict[str, Any]) -> dict[str, Any]:
    """``content`` with unsafe URLs dropped from its HTML (and that of an edit's new content)."""
    html = content.get("formatted_body")
    if isinstance(html, str) and (safe := safe_html(html)) != html:
        content = content | {"formatted_body": safe}
    new = content.get("m.new_content")
    if isinstance(new, dict) and new and (checked := _safe_formatting(new)) is not new:
        content = content | {"m.new_content": checked}
    return content
