"""Benchmark: each stage's start-up, what it costs before any work (issue 24, part 4).

For every stage script: the wall time of `python scripts/<stage>.py --help` in a fresh process
(Python, every module the script imports, argument parsing: what each job pays before its
first line of work, TensorFlow's own set-up excepted), the median of --repeats runs; and which
top-level packages that import time goes to (`python -X importtime`). With a finished run's
directory, the job-seconds each stage spent outside its own work: Snakemake's benchmark
seconds less the stage's "done in" seconds, per job.

    .venv/bin/python bench/startup.py --repeats 3 [--run /path/to/finished/project]
"""

from __future__ import annotations

import argparse
import csv
import glob
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["download", "weights", "standardise", "tune", "best_epoch", "retrain", "evaluate",
          "report", "tabulate_shard", "table", "replay", "replay_report"]  # fmt: skip
DONE = re.compile(r"INFO bloomtune: (\w+) done in ([0-9.]+) s")


def wall(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, cwd=ROOT, capture_output=True, check=True, timeout=300)
    return time.perf_counter() - began


def import_shares(script: str) -> Counter:
    """Seconds of import by top-level package (cumulative time of depth-1 imports)."""
    result = subprocess.run([sys.executable, "-X", "importtime", script, "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    shares = Counter()
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        name = parts[2]
        if len(name) - len(name.lstrip()) == 1:  # imported by the script itself
            shares[name.strip().split(".")[0]] += int(parts[1]) / 1e6
    return shares


def outside_work(run: Path) -> dict[str, tuple[int, float]]:
    """Per stage: jobs and mean seconds per job outside the stage's own work."""
    total, jobs, inside = defaultdict(float), Counter(), defaultdict(float)
    for path in glob.glob(str(run / "results/benchmarks/**/*.tsv"), recursive=True):
        stage = Path(path).relative_to(run / "results/benchmarks").parts[0].split(".")[0]
        for row in csv.DictReader(open(path), delimiter="\t"):
            total[stage] += float(row["s"])
            jobs[stage] += 1
    for path in glob.glob(str(run / "results/logs/**/*.log"), recursive=True):
        for line in Path(path).read_text(errors="replace").splitlines():
            if found := DONE.search(line):
                inside[found[1]] += float(found[2])
    return {s: (jobs[s], (total[s] - inside[s]) / jobs[s]) for s in total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run", type=Path, help="a finished project, for its job-seconds")
    args = parser.parse_args()
    python = [sys.executable, "-c", "pass"]
    bare = statistics.median(wall(python) for _ in range(args.repeats))
    tf = statistics.median(wall([sys.executable, "-c", "import tensorflow"])
                           for _ in range(args.repeats))  # fmt: skip
    print(f"python alone {bare:.2f} s; import tensorflow {tf:.2f} s (medians of {args.repeats})")
    print(f"{'stage':<16}{'start-up s':>11}  largest imports")
    for stage in STAGES:
        script = f"scripts/{stage}.py"
        seconds = statistics.median(wall([sys.executable, script, "--help"])
                                    for _ in range(args.repeats))  # fmt: skip
        top = ", ".join(f"{k} {v:.2f}" for k, v in import_shares(script).most_common(3))
        print(f"{stage:<16}{seconds:>11.2f}  {top}")
    if args.run:
        print("job-seconds outside each stage's work in", args.run)
        for stage, (n, per_job) in sorted(outside_work(args.run).items()):
            print(f"  {stage:<14}{n:>4} jobs {per_job:>6.2f} s a job")


if __name__ == "__main__":
    main()
