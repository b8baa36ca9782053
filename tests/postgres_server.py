"""A throwaway PostgreSQL server on 127.0.0.1 (Debian's PostgreSQL 15), for the database test.

initdb makes a cluster in a temporary folder, the server listens on a free port of 127.0.0.1
only, with trust authentication for its one user, and is stopped by pid; every wait has a
timeout. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user the
Debian package creates."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import free_port

USER = "bloomtune"


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def why_not() -> str | None:
    """Why this machine cannot host the test server, or None."""
    if _bin() is None:
        return "PostgreSQL is not installed (apt-get install postgresql-15: .ci/run does)"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "the psycopg2 driver is not installed (make setup installs it)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no postgres user to run the server as"
    return None


def _as_owner(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server(password: str | None = None):
    """Start a server; yield its SQLAlchemy URL (never with the password: with one, the server
    asks for it, scram-sha-256); stop it by pid and remove its folder."""
    if reason := why_not():
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="bloomtune-pg-"))  # not under a root-only folder
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data, port, bindir = folder / "data", free_port(), _bin()
    pid = None
    try:
        auth = ["--auth=trust"]
        if password is not None:
            (folder / "pw").write_text(password + "\n")
            if os.geteuid() == 0:
                os.chown(folder / "pw", owner.pw_uid, owner.pw_gid)
            auth = ["--auth=scram-sha-256", f"--pwfile={folder / 'pw'}"]
        subprocess.run(
            _as_owner([str(bindir / "initdb"), "-D", str(data), "-U", USER, *auth, "--no-sync"]),
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        (folder / "pw").unlink(missing_ok=True)
        subprocess.run(
            _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"),
                       "-w", "-t", "30", "start", "-o",
                       f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off"]),
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield f"postgresql+psycopg2://{USER}@127.0.0.1:{port}/postgres"
    finally:
        if pid is not None:
            _stop(pid)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(pid: int, timeout: float = 20) -> None:
    """Fast shutdown (SIGINT), then SIGKILL if it does not end in time."""
    for sig in (signal.SIGINT, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
