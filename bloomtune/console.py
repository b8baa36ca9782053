"""Logging for the stage scripts: the job's log file, bloomtune's lines on the console."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import sys
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
