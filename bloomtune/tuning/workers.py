"""Parallel workers of one search: `workers: N` processes on the tune job's machine.

The tune job (the supervisor) prepares the shared search (Optuna: creates the study once, since
processes that create it at the same moment race; Keras Tuner: hosts the chief oracle), then
starts N workers, each running what it is handed (the framework's worker: the shared trial
runner under the shared budget) with its share of the job's threads. A worker that dies (a
crash, SIGKILL, out of memory) is noticed at once: its trial is recorded failed with the epochs
it spent, the framework hears of it, and the others go on. Workers die with the supervisor, so
a killed job leaves none behind."""

from __future__ import annotations

import copyreg
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from bloomtune.console import setup_logging
from bloomtune.errors import TuningError
from bloomtune.machine import configure_tensorflow, thread_budget
from bloomtune.model_settings import TuneSettings

log = logging.getLogger(__name__)


# Settings hold read-only params entries; a worker receives them pickled, as plain dicts.
def _read_only(entries: dict) -> MappingProxyType:
    return MappingProxyType(entries)


copyreg.pickle(MappingProxyType, lambda proxy: (_read_only, (dict(proxy),)))


def exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _die_with(parent: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent ends (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent ended before the request took effect
        os._exit(1)


def _log_file() -> str | None:
    handlers = logging.getLogger().handlers
    return next((h.baseFilename for h in handlers if isinstance(h, logging.FileHandler)), None)


def worker_main(target: Callable[[dict], None], job: dict) -> None:
    """A worker process: set up as its supervisor says, then run `target(job)` (trials of the
    search until its budget is spent)."""
    _die_with(job["parent"])
    os.environ.update(job["env"])
    setup_logging(job["log"], append=True, tag=f"worker {job['worker']}")
    configure_tensorflow(job["threads"])
    try:
        target(job)
    except Exception:
        log.exception("worker %d stopped by an error", job["worker"])
        sys.exit(1)


def gpu_share(worker: int, count: int) -> dict:
    """Worker k's own slice of the job's GPUs (CUDA_VISIBLE_DEVICES), as equal shares in order;
    nothing to set where the job has none."""
    devices = [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d]
    if not devices:
        return {}
    share = max(1, len(devices) // count)
    mine = devices[(worker - 1) * share : worker * share] or devices[-share:]
    return {"CUDA_VISIBLE_DEVICES": ",".join(mine)}


class Workers:
    """Starts a search's N workers and waits for them, reporting each one that dies.

    `target(job)` is what each worker process runs: a module-level function (it is pickled by
    name into each spawned process); `job` holds the worker's number, `settings`, `data` and
    `state` (the data and state folders) and its set-up."""

    def __init__(self, settings: TuneSettings, data_dir: Path, state_dir: Path,
                 target: Callable[[dict], None]):  # fmt: skip
        self.settings, self.data_dir, self.state_dir = settings, data_dir, state_dir
        self.target = target
        self.count = settings.tuner.workers
        self.threads = max(1, thread_budget() // self.count)

    def run(
        self,
        on_death: Callable[[int, str], None],
        env: Callable[[int], dict] = lambda worker: {},
        poll_s: float = 0.5,
    ) -> None:
        """Run workers 1..N to the end. `on_death(worker, reason)` is called for each that
        ends abnormally; if every one does, the search failed."""
        context = multiprocessing.get_context("spawn")  # TensorFlow is not fork-safe
        processes = {}
        for worker in range(1, self.count + 1):
            job = {
                "parent": os.getpid(),
                "worker": worker,
                "settings": self.settings,
                "data": str(self.data_dir),
                "state": str(self.state_dir),
                "threads": self.threads,
                "log": _log_file(),
                "env": {**gpu_share(worker, self.count), **env(worker)},
            }
            process = context.Process(
                target=worker_main, args=(self.target, job), name=f"worker {worker}"
            )
            process.start()
            processes[worker] = process
        log.info(
            "%s: %d workers started (%d threads each)",
            self.settings.tuner.name,
            self.count,
            self.threads,
        )
        failed = []
        try:
            while processes:
                time.sleep(poll_s)
                for worker, process in list(processes.items()):
                    if process.exitcode is None:
                        continue
                    del processes[worker]
                    if process.exitcode != 0:
                        reason = exit_reason(process.exitcode)
                        log.warning("%s: worker %d %s", self.settings.tuner.name, worker, reason)
                        failed.append(worker)
                        on_death(worker, f"interrupted: worker {worker} {reason}")
        finally:
            for process in processes.values():  # the supervisor is stopping: so do they
                process.kill()
                process.join()
        if len(failed) == self.count:
            raise TuningError(
                f"{self.settings.tuner.name}: every worker stopped abnormally "
                "(their errors are in the log above)"
            )
