"""Process set-up shared by the stage scripts: logging, thread limits, seeding, atomic writes."""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bloomtune.errors import UserError

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


CONSOLE = "BLOOMTUNE_CONSOLE"  # where a job's worker processes find the job's console
WARNING_LINE = re.compile(r" WARNING (\[[^]]*\] )?py\.warnings: ")  # a worker's are tagged
LIBRARY_LINE = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl)")
_console: dict = {}  # this process's console stream, once fd 2 has gone to the log file


def setup_logging(log_file: str | Path | None, *, append: bool = False, tag: str = "") -> None:
    """Log to the console and, when given, to the job's log file (truncated: one run per log;
    a worker process appends to its job's, its lines marked with `tag`).

    With a log file the console gets bloomtune's own lines only, tracebacks and everything the
    libraries print go to the file: the process's stderr (file descriptor 2, where TensorFlow's
    C++ log and Python's own messages write) is pointed at the log file, Python warnings are
    logged to the file only, and at exit one console line says how many library lines the
    log holds. Without a log file, all of it goes to stderr as usual."""
    fmt = FORMAT.replace("%(name)s", f"[{tag}] %(name)s") if tag else FORMAT
    if not log_file:
        logging.basicConfig(level=logging.INFO, format=fmt, datefmt="%H:%M:%S", force=True)
        return
    try:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        if not append:
            open(log_file, "w").close()
        # Appending, as the library lines that fd 2 now writes do, so neither overwrites.
        file = LogFile(log_file, mode="a")
        stream = _console_stream(log_file)
    except OSError as exc:  # a read-only or full disk: the user's to fix, in one line
        raise UserError(f"{log_file}: cannot write the job's log: {exc.strerror}") from None
    console = logging.StreamHandler(stream)
    console.setFormatter(NoTraceback(fmt, datefmt="%H:%M:%S"))
    console.addFilter(lambda record: record.name != "py.warnings")
    logging.captureWarnings(True)
    logging.basicConfig(
        level=logging.INFO, format=fmt, datefmt="%H:%M:%S", handlers=[console, file], force=True
    )
    if _console.get("saved") and not _console.get("summing"):
        _console["summing"] = True  # the job's own process sums up its log at exit
        atexit.register(_sum_up, Path(log_file))


class LogFile(logging.FileHandler):
    """The job's log file. A line it cannot write (a full or read-only disk) is not printed to
    stderr, which points at the same file: its error is kept, and the stage fails saying so
    (`log_write_error`) instead of ending well with an empty log."""

    error: OSError | None = None

    def handleError(self, record):  # noqa: N802 (logging's name)
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            LogFile.error = LogFile.error or exc
        else:
            super().handleError(record)


def log_write_error() -> OSError | None:
    """The first error writing this process's log file, if a line was lost."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LogFile):
            with contextlib.suppress(OSError):
                handler.flush()
    return LogFile.error


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def no_space(exc: OSError, folders) -> str | None:
    """For a write that found its disk full, one line naming where (the file, or the folders
    given whose disk has nothing left) and what to do; None for any other error."""
    if exc.errno not in NO_SPACE:
        return None
    where = [str(exc.filename)] if exc.filename else []
    for folder in [] if where else [Path(f) for f in folders if f]:
        probe = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if probe is not None and shutil.disk_usage(probe).free < 1 << 20:
            where.append(str(folder))
    place = ", ".join(where) or "one of its output folders"
    return f"no space left on device writing {place}; free some space and rerun"


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


def check_writable(folders) -> None:
    """UserError naming the first of the existing `folders` no file can be written in (a
    read-only mount or a full disk), before any job: a job would fail there with its
    orchestrator's traceback."""
    for folder in map(Path, folders):
        if not folder.is_dir():
            continue
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".bloomtune-probe-"):
                pass
        except OSError as exc:
            raise UserError(f"{folder}: cannot write there ({exc.strerror}); jobs write their "
                            "outputs and logs there") from None  # fmt: skip


def _console_stream(log_file):
    """The console for bloomtune's lines, after pointing fd 2 at `log_file`: the job's
    console itself in a worker (fd 2 already goes to the job's log), else a copy of fd 2 made
    before it moved, which workers reach through /proc."""
    if "stream" in _console:
        stream = _console["stream"]
    elif CONSOLE in os.environ and _reachable(os.environ[CONSOLE]):
        stream = _console["stream"] = open(os.environ[CONSOLE], "a", buffering=1)
    else:
        sys.stderr.flush()
        saved = os.dup(2)
        stream = _console["stream"] = os.fdopen(saved, "w", buffering=1)
        _console["saved"] = saved
        os.environ[CONSOLE] = f"/proc/{os.getpid()}/fd/{saved}"
    target = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    sys.stderr.flush()
    os.dup2(target, 2)
    os.close(target)
    return stream


def _reachable(path: str) -> bool:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
        return True
    except OSError:  # the job has ended, or its console is a socket
        return False


def library_lines(log_file: Path) -> tuple[int, int]:
    """(TensorFlow's C++ log lines, Python warnings) in a job's log."""
    native = warned = 0
    with open(log_file, errors="replace") as fh:
        for line in fh:
            native += bool(LIBRARY_LINE.match(line))
            warned += bool(WARNING_LINE.search(line))
    return native, warned


def _sum_up(log_file: Path) -> None:
    try:
        native, warned = library_lines(log_file)
    except OSError:
        return
    if native or warned:
        log.info(
            "%d library lines (TensorFlow's C++ log: %d, Python warnings: %d) are in %s",
            native + warned, native, warned, log_file,
        )  # fmt: skip


def thread_budget() -> int:
    """Threads this job may use: what the orchestrator granted (Snakemake sets OMP_NUM_THREADS
    to the rule's threads), else every core."""
    granted = os.environ.get("OMP_NUM_THREADS", "")
    if granted.isdigit() and int(granted) > 0:
        return int(granted)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


GPU_SLOTS = Path(tempfile.gettempdir()) / "bloomtune-gpus"  # one lock per device, machine-wide
_held_gpus: list = []  # the claimed devices' locks, held for this process's life


def gpu_count() -> int:
    """The machine's NVIDIA GPUs, from the driver, without starting TensorFlow."""
    return len(list(Path("/proc/driver/nvidia/gpus").glob("*")))


def claim_gpus(count: int, slots: Path = GPU_SLOTS) -> list[str]:
    """Give this process `count` GPUs of its own and show it only those (CUDA_VISIBLE_DEVICES,
    before TensorFlow starts): the scheduler's where it chose (Slurm sets the variable), else
    free devices, each claimed by a lock that its process holds until it ends, so two jobs side
    by side never share a device and neither takes every device's memory. Returns the devices."""
    if count <= 0:
        return []
    if "CUDA_VISIBLE_DEVICES" in os.environ:  # chosen by Slurm, or by this job's supervisor
        shown = os.environ["CUDA_VISIBLE_DEVICES"]
        devices = [d for d in shown.split(",") if d.strip()]
        # CUDA stops at the first invalid entry: "-1" (or nothing) hides every device.
        if not devices or devices[0].strip().startswith("-"):
            raise UserError(
                f"resources.gpus: this job needs {count} GPU(s) and CUDA_VISIBLE_DEVICES="
                f"{shown!r} hides every GPU, so it would train on the CPU; unset it, or set "
                "resources.gpus: 0 to train on the CPU"
            )
        return devices
    machine = gpu_count()
    if machine == 0:
        raise UserError(
            f"resources.gpus: this job needs {count} GPU(s) and this machine has none (no "
            "NVIDIA devices in /proc/driver/nvidia/gpus); set resources.gpus: 0 to train on "
            "the CPU"
        )
    slots.mkdir(parents=True, exist_ok=True)
    claimed = []
    for device in range(machine):
        fh = open(slots / f"gpu{device}.lock", "a")  # noqa: SIM115 (held for the process's life)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            continue
        _held_gpus.append(fh)
        claimed.append(str(device))
        if len(claimed) == count:
            break
    if len(claimed) < count:
        raise UserError(
            f"resources.gpus: this job needs {count} GPU(s) and {len(claimed)} of the machine's "
            f"{machine} are free (others are held by bloomtune jobs, see {slots})"
        )
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(claimed)
    return claimed


def configure_tensorflow(threads: int) -> None:
    """Size TensorFlow's thread pools to the budget and quieten its start-up chatter.

    Must run before TensorFlow creates its first op."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1 if threads <= 2 else 2)
    # Same params, same numbers: deterministic kernels cost little for this small CNN.
    tf.config.experimental.enable_op_determinism()
    for gpu in tf.config.list_physical_devices("GPU"):  # what it uses, not all of it at once
        tf.config.experimental.set_memory_growth(gpu, True)
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


def optimiser_seed(seed: int, *parts: int | str) -> int:
    """The seed an optimiser's sampler or oracle starts from, derived from the repetition seed by
    hash, in [1, 2**31 - 1]: never 0 (Keras Tuner reads 0 as "no seed"), never past what NumPy and
    scikit-learn accept. Consecutive repetition seeds would not do: Keras Tuner advances its seed
    by one per hyperparameter it samples, so with D dimensions seed s + D draws seed s's trials
    shifted by one, and the repetitions would be overlapping copies of each other."""
    return derive_seed(seed, "optimiser", *parts) % (2**31 - 1) + 1


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
        try:
            yield target
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) and not exc.filename:
                raise OSError(exc.errno, exc.strerror, str(path)) from exc  # name the output
            raise
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


def keyed_state(state_root: Path, key: str, what: str) -> Path:
    """The state folder `state_root/key`, made fresh: folders of other keys (a change of
    params or data) are discarded, so a run never resumes an unrelated one."""
    import shutil

    for stale in state_root.glob("*") if state_root.exists() else []:
        if stale.name not in (key, LOCK):
            log.info("params or data changed: discarding the old %s state %s", what, stale)
            shutil.rmtree(stale, ignore_errors=True)
    path = state_root / key
    path.mkdir(parents=True, exist_ok=True)
    return path


def lock_beside(output: str | Path) -> Path:
    """The lock folder of a stage's output: a hidden sibling (data/.raw.lock for data/raw), so
    no orchestrator finds it inside the other's outputs."""
    output = Path(output)
    return output.parent / f".{output.name}.lock"


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


def job_memory() -> int:
    """Bytes this job is given: the machine's memory (MemTotal), or its cgroup's limit where
    lower (a Slurm job, a container). Not what is free now, which changes with what else runs."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


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


# The widest instruction set a CPU offers, by its /proc/cpuinfo flag: oneDNN picks its kernels
# by it at run time (ONEDNN_MAX_CPU_ISA caps the choice), so it can change the last bits.
INSTRUCTION_SETS = [("amx_tile", "AMX"), ("avx512f", "AVX-512"), ("avx2", "AVX2"),
                    ("avx", "AVX"), ("sse4_2", "SSE4.2")]  # fmt: skip


def cpu_info() -> tuple[str | None, set[str], int]:
    """The CPU's model name (None if unknown), its flags and its logical cores, from
    /proc/cpuinfo (one entry per logical core)."""
    names, flags = [], set()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    names.append(value.strip())
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return (names[0] if names else None), flags, len(names)


def cpu_kernels() -> dict:
    """What a training process's numbers depend on beyond params: the CPU, the widest
    instruction set it offers, whether TensorFlow's oneDNN kernels are on (its default on x86;
    TF_ENABLE_ONEDNN_OPTS=0 turns them off), any cap on their instruction set, and the threads
    the job was given."""
    model, flags, _ = cpu_info()
    model = model or "unknown"
    widest = next((name for flag, name in INSTRUCTION_SETS if flag in flags), "unknown")
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower() not in ("0", "false")
    return {
        "cpu": model,
        "instruction_set": widest,
        "onednn": onednn,
        "onednn_max_isa": os.environ.get("ONEDNN_MAX_CPU_ISA") or None,
        "threads": thread_budget(),
    }


def describe_kernels(kernels: dict) -> str:
    """cpu_kernels() in a few words, for the report."""
    if not kernels.get("onednn"):
        return "Eigen kernels (oneDNN off)"
    cap = f", capped at {kernels['onednn_max_isa']}" if kernels.get("onednn_max_isa") else ""
    return f"oneDNN kernels on {kernels['instruction_set']}{cap}"
