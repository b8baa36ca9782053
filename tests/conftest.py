"""Shared test helpers: a throwaway copy of the project and orchestrator runners."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SHARED_OXFORD = ROOT.parent / "shared" / "data" / "oxford102"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tool_env() -> dict:
    """The environment the orchestrators get: this venv first on PATH, no analytics."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def run(cmd: list[str], cwd: Path, check: bool = True, timeout: int = 900):
    result = subprocess.run(
        cmd, cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-8000:]}"
        )
    return result


def snakemake(args: list[str], cwd: Path, **kw):
    return run([str(BIN / "snakemake"), *args], cwd, **kw)


def dvc(args: list[str], cwd: Path, **kw):
    return run([str(BIN / "dvc"), *args], cwd, **kw)


def project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [f for f in listed if (ROOT / f).is_file()]


def copy_project(dest: Path, overlay: str | None = None) -> Path:
    """A fresh git + DVC copy of the project's tracked files; with `overlay`, params.yaml is the
    defaults merged with it (how DVC runs an overlay)."""
    for name in project_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    run(["git", "init", "-q"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"], dest)
    if overlay:
        run([sys.executable, "-m", "bloomtune.overlay", overlay], dest)
    return dest


@pytest.fixture
def project(tmp_path) -> Path:
    return copy_project(tmp_path / "project")


def run_wide(tmp_path_factory, name: str, build) -> Path:
    """`build(folder)` done once for the whole test run, whichever pytest-xdist worker asks first
    (the others wait for it); a test reads the folder and never changes it: one that runs a
    tool in it, or edits it, works on its own `clone`."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this run
    folder, done = base / name, base / f"{name}.built"
    with FileLock(base / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed part way
            build(folder)
            done.touch()
    return folder


def clone(project: Path, dest: Path) -> Path:
    """A copy of a project as it stands: its results, their times and both orchestrators'
    records, so Snakemake and DVC see it as up to date as the original."""
    shutil.copytree(project, dest, symlinks=True)
    return dest


def _smoke_by_snakemake(folder: Path) -> None:
    project = copy_project(folder)
    snakemake(["--cores", "2", "--configfile", "config/smoke.yaml"], project)


def _smoke_by_dvc(folder: Path) -> None:
    project = copy_project(folder, overlay="config/smoke.yaml")
    dvc(["repro"], project)


@pytest.fixture(scope="session")
def snakemake_project(tmp_path_factory) -> Path:
    """The whole DAG on config/smoke.yaml, run by Snakemake (read it; `clone` it to change it)."""
    return run_wide(tmp_path_factory, "snakemake", _smoke_by_snakemake)


@pytest.fixture(scope="session")
def dvc_project(tmp_path_factory) -> Path:
    """The same, run by `dvc repro` on params.yaml merged with the overlay."""
    return run_wide(tmp_path_factory, "dvc", _smoke_by_dvc)


def shared_oxford() -> Path:
    if not (SHARED_OXFORD / "setid.mat").exists():
        pytest.skip(
            f"the real Oxford metadata is not at {SHARED_OXFORD} (a user's clone has none)"
        )
    return SHARED_OXFORD
