"""What of a configured bot others can reach: secret files they can read, a public web server.

``botkit check`` prints these as warnings, and the bot logs them when it starts.
"""

from __future__ import annotations

import ipaddress

from .config import BotConfig
from .private import exposure, sqlite_files

__all__ = ["exposures", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) is reachable from this machine only."""
    if host.strip().lower() in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name that may resolve to anything, or "" (every address)


def exposures(config: BotConfig) -> list[str]:
    """One sentence per thing of ``config`` that others may read or reach."""
    found = []
    files = [config.path, *sqlite_files(config.database_url)]
    if config.logging.file is not None:
        files.append(config.logging.file)
    for path in files:
        problem = exposure(path)
        if problem:
            found.append(problem)
    web = config.web
    if not web.public and not is_loopback(web.host):
        found.append(
            f"web.host is {web.host!r}, not a loopback address: health, metrics and every "
            "plugin page (the TWIM draft among them) are open to anyone who can reach it, "
            "without a password. Bind 127.0.0.1 behind a proxy, or set web.public: true"
        )
    return found
