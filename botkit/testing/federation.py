"""Several Synapse homeservers federating with each other over loopback.

Server ``i`` lives on ``127.0.0.<i+1>`` (on Linux all of 127.0.0.0/8 answers on
the loopback interface) and is named by its federation address,
``127.0.0.<i+1>:<port>``. A server name that is an IP literal with a port is
contacted directly at that address (no ``.well-known``, no SRV), so each
server's TLS federation listener sits exactly there; its client API is plain
HTTP on another port of the same address.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Self

from .synapse import Synapse

__all__ = ["Federation"]


class Federation:
    """``count`` homeservers in ``work_dir``, each able to federate with the others.

    ``servers[0]`` is on 127.0.0.1, ``servers[1]`` on 127.0.0.2, and so on.
    ``default_ratelimits`` and ``log_level`` apply to every server.
    """

    def __init__(
        self,
        work_dir: Path | str,
        count: int = 3,
        *,
        default_ratelimits: bool = False,
        log_level: str = "WARNING",
        venv: Path | None = None,
    ) -> None:
        if not 1 <= count <= 254:
            raise ValueError(f"count must be between 1 and 254, not {count}")
        work_dir = Path(work_dir)
        self.servers = [
            Synapse(
                work_dir / f"hs{i + 1}",
                host=f"127.0.0.{i + 1}",
                federation_port=0,
                default_ratelimits=default_ratelimits,
                log_level=log_level,
                venv=venv,
            )
            for i in range(count)
        ]
        # With no IP blocklist (see synapse_config), this keeps every server
        # from reaching out to anything but its peers.
        peers = [server.server_name for server in self.servers]
        for server in self.servers:
            server.extra_config["federation_domain_whitelist"] = peers

    def __getitem__(self, index: int) -> Synapse:
        return self.servers[index]

    def __iter__(self) -> Iterator[Synapse]:
        return iter(self.servers)

    def __len__(self) -> int:
        return len(self.servers)

    def start(self) -> None:
        """Start every server; if one fails, stop them all and raise its error."""
        # Side by side: each start is mostly Synapse importing itself, on one core.
        with ThreadPoolExecutor(len(self.servers)) as pool:
            starts = [pool.submit(server.start) for server in self.servers]
        for start in starts:
            if (error := start.exception()) is not None:
                self.stop()
                raise error

    def stop(self) -> None:
        """Stop every server (their data is kept)."""
        for server in self.servers:
            server.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
