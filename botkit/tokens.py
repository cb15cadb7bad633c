"""Refresh tokens: access tokens that expire, renewed before they do and when refused.

A homeserver may issue access tokens that expire (spec: client-server API,
"Refreshing access tokens"); matrix.org's authentication service rotates
them. botkit asks for a refresh token at password login (``refresh_token:
true``) and keeps the pair, with the expiry, in its database (never in logs or
the config file). :class:`TokenRefresher` renews the pair shortly before it
expires and when the homeserver answers ``M_UNKNOWN_TOKEN`` with ``soft_logout:
true``; the request is then sent again with the new token, so no sync batch and
no send is lost or repeated. A refresh token the homeserver refuses means the
device was really logged out: that is fatal, and said once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mautrix.api import HTTPAPI, Method, Path

from .state import StateStore

__all__ = ["LoginTokens", "TokenRefresher", "password_login", "store_login", "stored_login"]

log = logging.getLogger("botkit.tokens")
# Renew this long before the expiry, or a fifth of the lifetime if that is shorter.
_MARGIN_S = 60.0


@dataclass(frozen=True, slots=True)
class LoginTokens:
    """What a login or a refresh answered."""

    access_token: str
    refresh_token: str | None
    expires_at: float | None
    """Wall-clock time (seconds) the access token expires at; None: it does not."""
    renew_at: float | None

    @classmethod
    def from_response(cls, resp: Any, previous_refresh: str | None = None) -> LoginTokens:
        """Read a ``/login`` or ``/refresh`` answer; a refresh may keep the old refresh token."""
        access = resp.get("access_token") if isinstance(resp, dict) else None
        if not isinstance(access, str) or not access:
            raise ValueError("the answer holds no access_token")
        refresh = resp.get("refresh_token")
        expires_ms = resp.get("expires_in_ms")
        now = time.time()
        if isinstance(expires_ms, int) and expires_ms > 0:
            lifetime = expires_ms / 1000
            expires_at: float | None = now + lifetime
            renew_at: float | None = now + lifetime - min(_MARGIN_S, lifetime / 5)
        else:
            expires_at = renew_at = None
        return cls(
            access,
            refresh if isinstance(refresh, str) and refresh else previous_refresh,
            expires_at,
            renew_at,
        )


async def password_login(
    http: HTTPAPI, user_id: str, password: str, device_name: str
) -> tuple[LoginTokens, str]:
    """Log in with a password asking for a refresh token (spec: "Login"); tokens and device."""
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
        "initial_device_display_name": device_name,
        "refresh_token": True,
    }
    request: Callable[..., Awaitable[Any]] = HTTPAPI.request
    resp = await request(http, Method.POST, Path.v3.login, body, sensitive=True)
    device_id = resp.get("device_id") if isinstance(resp, dict) else None
    return LoginTokens.from_response(resp), device_id if isinstance(device_id, str) else ""


async def store_login(store: StateStore, tokens: LoginTokens, device_id: str | None) -> None:
    """Keep the pair (and the device) in the database, for the next start.

    In one transaction: a refresh token is used up by its refresh, so a new access
    token stored without its refresh token would lose the device at the next one.
    """
    values = {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token or "",
        "token_expires_at": str(tokens.expires_at or ""),
        "token_renew_at": str(tokens.renew_at or ""),
    }
    if device_id is not None:
        values["device_id"] = device_id
    await store.put_many(values)


async def stored_login(store: StateStore) -> LoginTokens | None:
    """The pair a login or refresh stored, None without one."""
    access = await store.get("access_token")
    if not access:
        return None
    expires, renew = await store.get("token_expires_at"), await store.get("token_renew_at")
    return LoginTokens(
        access,
        await store.get("refresh_token") or None,
        float(expires) if expires else None,
        float(renew) if renew else None,
    )


class TokenRefresher:
    """Renews the access token of ``http`` with its refresh token, one renewal at a time."""

    def __init__(
        self,
        http: HTTPAPI,
        store: StateStore,
        tokens: LoginTokens,
        *,
        on_revoked: Callable[[str], None],
    ) -> None:
        self.http = http
        self.store = store
        self.tokens = tokens
        self.on_revoked = on_revoked
        self.refreshes = 0
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        """Whether there is a refresh token to renew with."""
        return self.tokens.refresh_token is not None

    def due(self) -> bool:
        """Whether the access token is about to expire."""
        renew_at = self.tokens.renew_at
        return self.active and renew_at is not None and time.time() >= renew_at

    async def refresh(self, refused: str | None = None) -> bool:
        """Renew the pair (spec: ``POST /refresh``); False when the homeserver refuses.

        ``refused`` is the access token a request was refused with: when another
        request renewed it meanwhile, nothing more is done.
        """
        async with self._lock:
            if refused is not None and refused != self.tokens.access_token:
                return True
            if refused is None and not self.due():
                return True
            refresh_token = self.tokens.refresh_token
            if refresh_token is None:
                return False
            request: Callable[..., Awaitable[Any]] = HTTPAPI.request
            try:
                # The plain request: the refresh must not itself wait for a refresh.
                resp = await request(
                    self.http, Method.POST, Path.v3.refresh, {"refresh_token": refresh_token}
                )
            except Exception as e:
                errcode = getattr(e, "errcode", None)
                if errcode in ("M_UNKNOWN_TOKEN", "M_FORBIDDEN"):
                    self.on_revoked(f"{errcode}: {getattr(e, 'message', e)}")
                    return False
                raise
            tokens = LoginTokens.from_response(resp, refresh_token)
            await store_login(self.store, tokens, None)
            self.tokens = tokens
            self.http.token = tokens.access_token
            self.refreshes += 1
            log.info("renewed the access token (refresh %d)", self.refreshes)
            return True
