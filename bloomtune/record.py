"""Record a finished Snakemake run with DVC and leave both tools up to date.

`dvc commit` relinks the files it caches (a copy from the cache, or a new hard link; empty files
are always recreated), which gives them new modification times, so Snakemake afterwards would
plan evaluate and the report again. This runs the whole documented sequence:

1. check that Snakemake has nothing to do (a stale run must be finished first, not recorded);
2. merge the overlays into params.yaml (DVC reads only params.yaml);
3. `dvc commit --force`;
4. `snakemake --touch`: refresh the outputs' times in DAG order, running nothing;
5. check that `snakemake -n` and `dvc status` both have nothing to do.

    python -m bloomtune.record --configfile config/demo.yaml
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bloomtune.files import Busy
from bloomtune.overlay import apply_overlay
from bloomtune.run_lock import hold

TIMEOUT_S = 600


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)


def _overlays(configfiles: list[str]) -> list[str]:
    return ["--configfile", *configfiles] if configfiles else []


def _snakemake_idle(configfiles: list[str]) -> bool:
    result = _run(["snakemake", "-n", *_overlays(configfiles)])
    if result.returncode != 0:
        raise SystemExit(f"record: snakemake -n failed: {result.stderr.strip()[-300:]}")
    return "Nothing to be done" in result.stdout + result.stderr


def record(configfiles: list[str]) -> None:
    try:  # no Snakemake or DVC run may start while DVC commits and Snakemake touches
        hold("record")
    except Busy as exc:
        raise SystemExit(f"record refused: {' '.join(str(exc).split())}") from None
    if not _snakemake_idle(configfiles):
        raise SystemExit(
            "record: Snakemake has jobs to run (snakemake -n lists them); finish the run first, "
            "so that DVC records results that match the params"
        )
    if configfiles:
        apply_overlay(Path("params.yaml"), [Path(p) for p in configfiles])
    touch = ["snakemake", "--touch", "--cores", "1", *_overlays(configfiles)]
    for command in (["dvc", "commit", "--force", "--quiet"], touch):
        result = _run(command)
        if result.returncode != 0:
            raise SystemExit(f"record: {' '.join(command)} failed: {result.stderr[-300:]}")
    status = _run(["dvc", "status"])
    if not _snakemake_idle(configfiles) or "up to date" not in status.stdout:
        raise SystemExit(f"record: not up to date afterwards: {status.stdout.strip()[-300:]}")
    print("recorded: Snakemake and DVC are both up to date")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--configfile", nargs="*", default=[], help="the overlays the Snakemake run used"
    )
    record(parser.parse_args(argv).configfile)


if __name__ == "__main__":
    sys.exit(main())
