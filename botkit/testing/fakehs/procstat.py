"""What a process costs, read from ``/proc`` (Linux): CPU time, memory, age.

See proc(5): ``/proc/<pid>/stat`` fields 14-15 (utime, stime) and 22 (starttime)
are in clock ticks; ``/proc/<pid>/status`` has VmRSS and VmHWM (peak RSS) in kB.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["ProcSample", "process_age", "sample", "system_busy"]

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcSample:
    """One reading of a process: CPU seconds used so far, RSS and peak RSS in MB."""

    cpu_s: float
    rss_mb: float
    peak_rss_mb: float


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    # The command name (field 2) may hold spaces and parentheses: split after it.
    return text[text.rindex(")") + 2 :].split()


def sample(pid: int) -> ProcSample | None:
    """CPU (user + system) and memory of ``pid``, or None when it is gone."""
    try:
        fields = _stat_fields(pid)
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
    except OSError:
        return None
    memory = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            memory[key] = int(value.split()[0]) / 1024
    cpu = (int(fields[11]) + int(fields[12])) / _TICK
    return ProcSample(cpu, memory.get("VmRSS", 0.0), memory.get("VmHWM", 0.0))


def process_age(pid: int) -> float | None:
    """Seconds since ``pid`` started (to 1/CLK_TCK), or None when it is gone."""
    try:
        started = int(_stat_fields(pid)[19]) / _TICK
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
    except OSError:
        return None
    return uptime - started


def system_busy() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from the first line of /proc/stat."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return sum(ticks) - idle, sum(ticks)
