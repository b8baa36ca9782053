"""Process set-up shared by the stage scripts: logging, thread limits, seeding, atomic writes."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger("bloomtune")


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class NoTraceback(logging.Formatter):
    """Formats a record without its traceback: the console gets one line, the log file all."""

    def format(self, record):
        saved = record.exc_info, record.exc_text
        record.exc_info = record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


def setup_logging(log_file: str | Path | None, *, append: bool = False, tag: str = "") -> None:
    """Log to stderr and, when given, to the job's log file (truncated: one run per log; a
    worker process appends to its job's, its lines marked with `tag`).

    With a log file, tracebacks go to the file only; without one, to stderr."""
    fmt = FORMAT.replace("%(name)s", f"[{tag}] %(name)s") if tag else FORMAT
    console = logging.StreamHandler(sys.stderr)
    handlers: list[logging.Handler] = [console]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="a" if append else "w"))
        console.setFormatter(NoTraceback(fmt, datefmt="%H:%M:%S"))
    logging.basicConfig(
        level=logging.INFO, format=fmt, datefmt="%H:%M:%S", handlers=handlers, force=True
    )


def thread_budget() -> int:
    """Threads this job may use: what the orchestrator granted (Snakemake sets OMP_NUM_THREADS
    to the rule's threads), else every core."""
    granted = os.environ.get("OMP_NUM_THREADS", "")
    if granted.isdigit() and int(granted) > 0:
        return int(granted)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def configure_tensorflow(threads: int) -> None:
    """Size TensorFlow's thread pools to the budget and quieten its start-up chatter.

    Must run before TensorFlow creates its first op."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1 if threads <= 2 else 2)
    # Same params, same numbers: deterministic kernels cost little for this small CNN.
    tf.config.experimental.enable_op_determinism()
    tf.get_logger().setLevel("ERROR")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (Keras' own helper does all three)."""
    import keras

    keras.utils.set_random_seed(seed)


def derive_seed(seed: int, *parts: int | str) -> int:
    """A seed for one sub-task (trial k, image i) derived from the global seed."""
    import hashlib

    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


@contextlib.contextmanager
def atomic_path(path: str | Path, *, directory: bool = False):
    """Yield a temporary sibling path; move it onto `path` only if the block succeeds.

    A crash or error leaves the previous content (or nothing), never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "" if directory else "".join(path.suffixes)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp if directory else tmp / f"out{suffix}"
    try:
        yield target
        if directory:
            if path.exists():
                shutil.rmtree(path)
            os.replace(target, path)
        else:
            os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


LOCK = ".lock"


class Busy(OSError):
    """Another process holds the lock: the message is one line naming the folder and holder."""


@contextlib.contextmanager
def exclusive(folder: str | Path, what: str):
    """Hold folder/.lock for the block, or fail at once if another process holds it.

    An advisory lock (flock) that the kernel releases when its process ends, even by SIGKILL, so
    a crashed job never leaves a stale lock; it binds every process, whichever orchestrator
    started it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise Busy(
                f"{folder}: {holder} is already running {what} (Snakemake and DVC in one "
                "project at once?); wait for it to finish or stop it"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_json(path: str | Path, value) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: str | Path):
    with open(path) as fh:
        return json.load(fh)


def available_memory() -> int:
    """Bytes available to new allocations (MemAvailable), or all physical memory if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, MB (what Snakemake's benchmark calls max_rss;
    memory-mapped image pages it has read count)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class Stopwatch:
    """Wall and CPU seconds of a block (CPU counts every thread of this process)."""

    def __enter__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall_s = time.perf_counter() - self.wall0
        self.cpu_s = time.process_time() - self.cpu0
        return False
