"""`python -m bloomtune.repro [dvc repro options]`: DVC's run of the pipeline under the
project's run lock (bloomtune/run_lock.py), so that it never runs while Snakemake does: DVC
deletes a stage's outputs before running it, before any stage could refuse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from bloomtune.files import Busy
from bloomtune.run_lock import hold


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        hold("dvc repro")
    except Busy as exc:
        print(f"dvc repro refused: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    dvc = shutil.which("dvc") or os.path.join(os.path.dirname(sys.executable), "dvc")
    return subprocess.call([dvc, "repro", *argv])


if __name__ == "__main__":
    sys.exit(main())
