"""Waiting for a homeserver that does not answer yet (start-up: it may boot after the bot)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import ClientError
from mautrix.errors import MatrixConnectionError, MatrixRequestError

__all__ = ["until_answered"]

log = logging.getLogger("botkit")
T = TypeVar("T")
_CONNECT_FIRST_DELAY = 1.0
_CONNECT_MAX_DELAY = 60.0


async def until_answered(
    call: Callable[[], Awaitable[T]], what: str, url: str, waiting: Callable[[str], None]
) -> T:
    """``await call()`` until the homeserver gives an answer other than "try later".

    Transport errors, 5xx and 429 answers are retried with capped, jittered
    backoff (the server's ``retry_after_ms`` is honoured); one warning is
    logged when it starts failing and one info line once it answers, and
    ``waiting`` hears why the bot waits (for health). Any other error answer is raised.
    """
    delay, failing_since = _CONNECT_FIRST_DELAY, None
    while True:
        try:
            result = await call()
        except MatrixRequestError as e:
            if e.http_status < 500 and e.http_status != 429:
                raise
            retry_ms = getattr(e, "retry_after_ms", None)
            if isinstance(retry_ms, int):
                delay = max(delay, retry_ms / 1000)
            reason = f"HTTP {e.http_status} {e.message or ''}".strip()
        except (MatrixConnectionError, ClientError, OSError, TimeoutError) as e:
            reason = str(e) or type(e).__name__
        else:
            if failing_since is not None:
                waited = time.monotonic() - failing_since
                log.info("the homeserver %s answers again (after %.0f s)", url, waited)
            return result
        waiting(f"waiting for the homeserver {url}: cannot {what} ({reason})")
        if failing_since is None:
            failing_since = time.monotonic()
            log.warning(
                "cannot %s: the homeserver %s is not answering (%s); "
                "waiting for it, retrying with backoff up to %g s",
                what,
                url,
                reason,
                _CONNECT_MAX_DELAY,
            )
        else:
            log.debug("still waiting to %s at %s: %s", what, url, reason)
        await asyncio.sleep(delay * random.uniform(0.8, 1.2))
        delay = min(delay * 2, _CONNECT_MAX_DELAY)
