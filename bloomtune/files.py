"""Files the stages write: atomic writes, JSON, a cut JSON-lines journal mended, a full disk
named, one writer's locks."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from bloomtune.errors import DataError, UserError

log = logging.getLogger("bloomtune")


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


def _is_record(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def repair_journal(path: Path) -> str | None:
    """Mend a JSON-lines journal (the ledger, Optuna's journal) whose last line a killed process
    cut short: that line is removed (its trial is then closed as interrupted), and what was done
    is returned for the log. A bad line before the last cannot be mended: DataError naming the
    file, the line and what to do. Call only while no process writes it (the search's lock);
    None when there was nothing to mend."""
    if not path.exists() or not path.stat().st_size:
        return None
    data = path.read_bytes()
    ends = data.endswith(b"\n")
    records = data.split(b"\n")[: -1 if ends else None]
    bad = [i for i, line in enumerate(records) if line.strip() and not _is_record(line)]
    if any(i < len(records) - 1 for i in bad):
        raise DataError(
            f"{path} line {bad[0] + 1}: not a JSON record, and not the last line, so it cannot "
            f"be mended; delete {path.parent} to start this search afresh"
        )
    if bad:
        keep = len(data) - len(records[-1]) - (1 if ends else 0)
        with open(path, "r+b") as fh:
            fh.truncate(keep)
        return (
            f"{path} line {len(records)} was cut short (the process was killed while writing "
            "it) and is removed; its trial is closed as interrupted"
        )
    if not ends:  # a whole record whose newline was not written yet
        with open(path, "ab") as fh:
            fh.write(b"\n")
        return f"{path} line {len(records)} lacked its newline; the record is kept"
    return None
