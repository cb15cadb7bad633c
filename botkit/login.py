"""Logging in: the configured or stored access token, or a password login, checked with
``whoami`` and renewed with its refresh token; waiting for the homeserver as long as it takes."""

from __future__ import annotations

import logging
from collections.abc import Callable

from mautrix.client import ClientAPI
from mautrix.errors import MatrixRequestError, MUnknownToken
from mautrix.types import DeviceID, UserID

from .client import BotHTTPAPI
from .config import BotConfig
from .connecting import until_answered
from .errors import BotkitError
from .registration import read_tokens
from .state import StateStore
from .tokens import LoginTokens, TokenRefresher, password_login, store_login, stored_login

__all__ = ["Login"]

log = logging.getLogger("botkit")


class Login:
    """The bot's session with its homeserver: how it gets and keeps a working token."""

    def __init__(self, config: BotConfig, store: StateStore, waiting: Callable[[str], None]):
        self._config = config
        self._store = store
        self._waiting = waiting
        #: Why the bot's token no longer works (a device logged out), for the health page.
        self.token_problem: str | None = None

    async def connect(self) -> ClientAPI:
        """Log in, or check the configured token, waiting for the homeserver as long as it takes.

        A service may start before its homeserver (a reboot, a Synapse upgrade),
        so an unreachable homeserver, a 5xx or a 429 answer is retried with
        capped, jittered backoff. A token or password the homeserver refuses
        is fatal: retrying cannot fix it.
        """
        hs = self._config.homeserver
        api = ClientAPI(UserID(hs.user_id), api=BotHTTPAPI(hs.url))
        try:
            await self._authenticate(api)
        except BaseException:
            await api.api.session.close()
            raise
        return api

    async def _authenticate(self, api: ClientAPI) -> None:
        hs = self._config.homeserver
        token, device_id = hs.access_token, ""
        if self._config.appservice.enabled:
            token = read_tokens(self._config).as_token  # the appservice's sender: no login
        elif not token:
            stored = await stored_login(self._store)
            token = stored.access_token if stored else None
            device_id = await self._store.get("device_id") or ""
            if stored is not None:
                self._refresh_with(api, stored)
        # A token stored by an earlier password login may have been logged out
        # since; with the password at hand, botkit logs in again.
        may_log_in = not (hs.access_token or self._config.appservice.enabled) and bool(hs.password)
        if not token and not hs.password:
            raise BotkitError(
                f"no access token for {hs.user_id}: run `botkit login -c {self._config.path}`, "
                "or set homeserver.access_token (BOTKIT_HOMESERVER__ACCESS_TOKEN)"
            )
        if not token:
            token, device_id = await self._password_login(api)
            may_log_in = False
        api.api.token = token
        while True:
            try:
                whoami = await until_answered(
                    api.whoami, "check the access token", hs.url, self._waiting
                )
                break
            except MUnknownToken as e:
                if not may_log_in:
                    raise BotkitError(
                        f"the homeserver {hs.url} does not accept the access token of "
                        f"{hs.user_id} ({e.errcode}: {e.message}); "
                        "set a valid homeserver.access_token"
                    ) from e
                log.warning("the stored access token is no longer valid; logging in again")
                api.api.token, device_id = await self._password_login(api)
                may_log_in = False
            except MatrixRequestError as e:
                raise BotkitError(f"the homeserver {hs.url} refused whoami: {e}") from e
        if whoami.user_id != hs.user_id:
            raise BotkitError(
                f"the access token belongs to {whoami.user_id}, not to {hs.user_id} "
                "(homeserver.user_id)"
            )
        api.device_id = whoami.device_id or DeviceID(device_id)

    async def _password_login(self, api: ClientAPI) -> tuple[str, str]:
        """Log in with ``homeserver.password`` (spec: "Login"), keeping the new tokens."""
        hs = self._config.homeserver
        assert hs.password is not None  # only called with one
        password = hs.password
        log.info("logging in as %s with the configured password", hs.user_id)
        try:
            tokens, device_id = await until_answered(
                lambda: password_login(api.api, hs.user_id, password, hs.device_name),
                "log in",
                hs.url,
                self._waiting,
            )
        except MatrixRequestError as e:
            raise BotkitError(f"the homeserver {hs.url} refused to log in {hs.user_id}: {e}") from e
        await store_login(self._store, tokens, device_id)
        self.token_problem = None
        self._refresh_with(api, tokens)
        return tokens.access_token, device_id

    def _refresh_with(self, api: ClientAPI, tokens: LoginTokens) -> None:
        """Renew ``tokens`` when they expire (if the homeserver gave a refresh token)."""
        http = api.api
        if isinstance(http, BotHTTPAPI) and tokens.refresh_token:
            http.refresher = TokenRefresher(http, self._store, tokens, on_revoked=self.revoked)

    def revoked(self, reason: str) -> None:
        """The homeserver no longer accepts the bot's token: say so on health and in the log."""
        if self.token_problem is None:
            self.token_problem = (
                f"the homeserver logged the bot's device out ({reason}); run "
                f"`botkit login -c {self._config.path}` or set a new homeserver.access_token"
            )
            log.error("%s", self.token_problem)
