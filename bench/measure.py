"""Run a command and keep its peak resident memory, as the kernel reports it to wait4 (what
Snakemake's benchmark files call max_rss)."""

from __future__ import annotations

import os
import subprocess
import time


class MeasuredPopen(subprocess.Popen):
    """Popen that keeps its child's peak RSS (MB) from the wait4 that reaps it."""

    peak_mb: float | None = None

    def _try_wait(self, wait_flags):
        pid, status, usage = os.wait4(self.pid, wait_flags)
        if pid:
            self.peak_mb = usage.ru_maxrss / 1024
        return pid, status


def run_measured(command: list[str], *, env: dict, timeout: float, cwd=None) -> dict:
    """{peak_mb, wall_s, returncode, stderr} of `command`; killed after `timeout` seconds."""
    start = time.perf_counter()
    with MeasuredPopen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as process:
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    return {
        "peak_mb": process.peak_mb,
        "wall_s": time.perf_counter() - start,
        "returncode": process.returncode,
        "stderr": stderr.decode(errors="replace"),
    }
