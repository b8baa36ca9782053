"""Time as the stages measure and print it: a stopwatch, one duration formatter, the clock's
timestamp."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_now() -> str:
    """Now, as the ledgers write it (UTC, ISO 8601, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def hms(seconds: float, *, coarse: bool = False) -> str:
    """A duration for people: "2m03s", "1h02m03s"; `coarse` (a plan's columns) drops the
    seconds from an hour up and says days from a day up ("1h02m", "3.2 d")."""
    seconds = int(round(seconds))
    if coarse and seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if not hours:
        return f"{minutes}m{secs:02d}s"
    return f"{hours}h{minutes:02d}m" if coarse else f"{hours}h{minutes:02d}m{secs:02d}s"


class Stopwatch:
    """Wall and CPU seconds of a block (CPU counts every thread of this process)."""

    def __enter__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall_s = time.perf_counter() - self.wall0
        self.cpu_s = time.process_time() - self.cpu0
        return False
