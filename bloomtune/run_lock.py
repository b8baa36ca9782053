"""The project's run lock: one orchestrator at a time runs a project's stages.

Snakemake and DVC each delete a stage's outputs before running it (and Snakemake those of a
job that failed), so two of them in one project destroy each other's work. The orchestrator
takes the lock before any job starts (the Snakefile's `onstart`; for DVC, `python -m
bloomtune.repro`, which then runs `dvc repro`) and holds it while it runs; the stages it
starts carry its token in the environment (Slurm's sbatch exports it to cluster jobs). A stage
started by anything else (a plain `dvc repro`, a script run by hand) shares the lock for its
own run (stages run by hand may run side by side: each stage's own lock keeps one run of a
stage at a time), so an orchestrator is refused while it works, and is itself refused, in one
line, while an orchestrator holds it. The lock is the kernel's (flock): a killed holder leaves
none."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from pathlib import Path

from bloomtune.files import Busy

LOCK = ".bloomtune-run.lock"  # at the project root (the orchestrators' working folder)
ENV = "BLOOMTUNE_RUN"  # the holding run's token, in the environment of the stages it starts
_held: list = []  # the open lock files this process holds for its whole life


def _token(what: str) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"{what} (pid {os.getpid()} on {socket.gethostname()}, since {stamp})"


def _refusal(path: Path, holder: str, what: str) -> Busy:
    return Busy(
        f"{path}: this project's stages are held by {holder or 'another run'}, so {what} "
        "would delete or reuse their outputs; wait for it to finish or stop it (Snakemake and "
        "DVC cannot run one project at once)"
    )


def _try_lock(path: Path, mode: int = fcntl.LOCK_EX):
    """The open lock file with its lock taken, or (the file, False) when another holds it."""
    fh = open(path, "a+")
    try:
        fcntl.flock(fh, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return fh, False
    return fh, True


def _holder(fh) -> str:
    fh.seek(0)
    return fh.read().strip()


def _claim(fh, token: str) -> None:
    fh.seek(0)
    fh.truncate()
    fh.write(token + "\n")
    fh.flush()


def hold(orchestrator: str, root: str | Path = ".") -> str:
    """Take the project's run lock for the rest of this process's life (an orchestrator),
    or raise Busy naming the run that holds it. Its token goes into the environment, for the
    stages it starts. Returns the token."""
    path = Path(root) / LOCK
    fh, taken = _try_lock(path)
    if not taken:
        holder = _holder(fh)
        fh.close()
        if holder and holder == os.environ.get(ENV):
            return holder  # started by the run that holds it (e.g. DVC under bloomtune.repro)
        raise _refusal(path, holder, f"this {orchestrator} run")
    token = _token(orchestrator)
    _claim(fh, token)
    _held.append(fh)
    os.environ[ENV] = token
    return token


@contextlib.contextmanager
def stage_run(stage: str, root: str | Path = "."):
    """Hold the block as one stage of the project's run: under the run whose token this
    process carries, or, when no orchestrator holds the lock, sharing it with the other stages
    run by hand; Busy (one line naming the holder) when another run holds it."""
    path = Path(root) / LOCK
    fh, taken = _try_lock(path, fcntl.LOCK_SH)
    try:
        holder = _holder(fh)
        mine = bool(holder) and holder == os.environ.get(ENV)
        if not taken and not mine:
            raise _refusal(path, holder, f"the {stage} stage")
        if taken and not mine:
            # Shared: the file names the latest of them, which may have ended since.
            _claim(fh, f"stages run outside an orchestrator (the latest: {_token(f'{stage}')})")
        if taken and mine:  # its run's lock is not visible here (another node): let it go
            fcntl.flock(fh, fcntl.LOCK_UN)
        yield
    finally:
        fh.close()
