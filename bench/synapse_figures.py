"""The figures of a :mod:`bench.synapse_load` run, and the README table they make."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["LoadResult", "markdown_table", "percentile"]


@dataclass(frozen=True)
class LoadResult:
    """The figures of one run. Latencies in ms; ``None`` where nothing was measured."""

    n: int
    rate: float
    concurrency: int
    kill_at: tuple[int, ...]
    sent: int
    send_errors: int
    answered: int
    lost: int
    duplicated: int
    """Pings answered more than once."""
    stray_pongs: int
    """Pongs to pings that this run did not (knowingly) send."""
    latency_ms: dict[str, int | None]
    send_rate: float
    """Pings sent per second, first to last send (server clock)."""
    throughput: float
    """Pings answered per second, from the first ping to the last first answer."""
    cpu_ms_per_pong: float | None
    restart_cpu_s: float
    """CPU of restarted bots from exec to ready (start-up and any catch-up before it)."""
    restart_s: list[float]
    """Kill to ready, per restart, wall clock."""
    rss_mb: float | None
    peak_rss_mb: float | None
    """The highest VmHWM of any of the bot processes."""
    duration_s: float

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready figures."""
        return asdict(self)


def markdown_table(results: Sequence[LoadResult]) -> str:
    """One row per run, ready for the README."""
    headers = ["run", "sent", "answered", "lost", "dup", "p50 ms", "p90 ms", "p99 ms"]
    headers += ["max ms", "pongs/s", "CPU ms/pong", "RSS MB", "peak RSS MB"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in results:
        label = f"{r.n} @ {r.rate:g}/s" + (f" ×{r.concurrency}" if r.concurrency > 1 else "")
        if r.kill_at:
            label += ", kill at " + ",".join(map(str, r.kill_at))
        cells = [label, str(r.sent), str(r.answered), str(r.lost), str(r.duplicated)]
        cells += [_fmt(r.latency_ms[p]) for p in ("p50", "p90", "p99", "max")]
        cells += [f"{r.throughput:.1f}", _fmt(r.cpu_ms_per_pong, 2)]
        cells += [_fmt(r.rss_mb, 1), _fmt(r.peak_rss_mb, 1)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def percentile(values: Sequence[int], p: float) -> int | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    rank = max(1, -(-len(values) * p // 100))
    return values[min(len(values), int(rank)) - 1]
