"""A web server open to others is warned about, at start as in ``botkit check``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from botkit.bot import Bot
from botkit.config import load_config
from botkit.errors import BotkitError
from botkit.exposure import is_loopback
from botkit.testing.botconfig import fakehs_account, write_bot_config
from botkit.testing.fakehs import FakeHomeserver

pytest_plugins = ["botkit.testing.fakehs_fixtures"]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.0.2.7", False),
        ("bot.example.org", False),
    ],
)
def test_only_loopback_addresses_count_as_private(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_a_public_web_host_is_a_warning_at_start(
    fakehs: FakeHomeserver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An address of no interface here (TEST-NET-1): the warning comes before the bind fails.
    config = write_bot_config(
        tmp_path / "config.yaml", account=fakehs_account(fakehs), web={"host": "192.0.2.7"}
    )
    bot = Bot(load_config(config))
    try:
        with pytest.raises(BotkitError, match=re.escape("cannot serve web.host 192.0.2.7")):
            await bot.start()
    finally:
        await bot.stop()
    [warning] = [
        r for r in caplog.records if "web.host" in r.getMessage() and r.levelname == "WARNING"
    ]
    assert "without a password" in warning.getMessage()
    assert "web.public: true" in warning.getMessage()
