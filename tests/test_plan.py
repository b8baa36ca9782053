"""`python -m bloomtune.plan`: the cost of the run Snakemake would start, before it starts."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT, copy_project, tool_env

from bloomtune.checks import load_params
from bloomtune.costs import StageCost, image_counts, wall_times
from bloomtune.dry_run import parse_dry_run
from bloomtune.slurm_fit import parse_sinfo, unfit


def test_the_plan_of_a_fresh_smoke_run_counts_every_job_and_its_epochs(tmp_path):
    project = copy_project(tmp_path / "project")
    result = subprocess.run(
        [sys.executable, "-m", "bloomtune.plan", "--configfile", "config/smoke.yaml"],
        cwd=project, env=tool_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    found = re.finditer(r"^(\w+)\s+(\d+)\s+(\S+)\s+(\S+)", out, re.M)
    rows = {m[1]: m.groups()[1:] for m in found}
    # 5 tuners x 1 seed; smoke's budget binds at 2 trials x 2 epochs; best_epoch 2 epochs.
    assert rows["tune"][:2] == ("5", "20") and rows["best_epoch"][:2] == ("5", "10")
    assert rows["retrain"][:2] == ("5", "10") and rows["evaluate"][0] == "5"
    assert "images: 52 train / 12 validation / 16 test, 4 classes, 32 px" in out
    assert "repetitions: 1 configured; 9 needed" in out and "too few" in out
    assert re.search(r"model shapes: 12, an epoch", out)
    # Nothing from the libraries on the console: it is in the plan's log.
    assert "I0000" not in result.stderr and "absl" not in result.stderr
    assert (project / "results/plan/calibration.json").exists()


def test_image_counts_follow_each_source_and_split():
    params = load_params([ROOT / "params.yaml"])
    # Oxford 102, the blog split: 7,169 train (1,434 of them carved for validation), 1,020 test.
    assert image_counts(params) == {"train": 5735, "validation": 1434, "test": 1020,
                                    "classes": 102}  # fmt: skip
    params["standardise"]["split"] = "official"
    assert image_counts(params) == {"train": 1020, "validation": 1020, "test": 6149,
                                    "classes": 102}  # fmt: skip
    demo = load_params([ROOT / "params.yaml", ROOT / "config/demo.yaml"])
    # 60 a class: 12 trnid, 12 valid (the blog's test), 36 tstid; 48 x 0.2 = 10 a class held out.
    assert image_counts(demo) == {"train": 304, "validation": 80, "test": 96, "classes": 8}


def test_wall_time_side_by_side_never_beats_one_chain():
    stages = [StageCost("tune", 4, 40, 1.0, 40.0, 8.0), StageCost("report", 1, 0, 0, 0, 1.0)]
    serial, four = wall_times(stages, 4)
    assert serial == 49.0 and four == 1.0 + 48.0 / 4  # one chain: 12 s, the pool: 12 s
    assert wall_times(stages, 100)[1] == 1.0 + 12.0  # no faster than one tune job


def test_a_job_no_node_can_take_is_named_with_what_is_over():
    # The cluster: one node of 2 cores and 2 GB; standardise asks 8 threads, 8,000 MB.
    listing = """
rule standardise:
    output: data/standardised
    resources: tmpdir=/tmp, mem_mb=8000, mem=8 GB, slurm_partition=, slurm_account=, runtime=60
rule tune:
    wildcards: tuner=kt_random, seed=1
    resources: tmpdir=/tmp, mem_mb=1500, slurm_partition=, runtime=30
"""
    jobs = parse_dry_run(listing)
    assert [(j.rule, j.wildcards, j.resources["mem_mb"]) for j in jobs] == [
        ("standardise", {}, "8000"),
        ("tune", {"tuner": "kt_random", "seed": "1"}, "1500"),
    ]
    partitions = parse_sinfo("debug*|2|2000|(null)|infinite\n")
    lines = unfit(jobs, partitions, {"standardise": 8, "tune": 2})
    assert lines == ["standardise (partition debug): 8 threads > 2 CPUs; mem_mb 8000 > 2000 MB"]
    gpu = parse_sinfo("gpu|64|512000|gpu:a100:4|2-00:00:00\n")["gpu"]
    assert (gpu.gpus, gpu.time_limit_min) == (4, 2880)


def test_a_broken_overlay_is_named_before_anything_runs(tmp_path):
    # Snakemake itself says only "Config file is not valid JSON or YAML"; the plan names it.
    project = copy_project(tmp_path / "project")
    broken = project / "broken.yaml"
    broken.write_text("tuning:\n  max_trials: [1\n")
    result = subprocess.run(
        [sys.executable, "-m", "bloomtune.plan", "--configfile", str(broken)],
        cwd=project, env=tool_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"params: {broken}: not valid YAML" in line and "line 2" in line


def test_a_duration_reads_alike_in_the_logs_and_the_plan():
    # One formatter (stopwatch.hms): the logs' ETAs to the second, the plan's columns coarser.
    from bloomtune.plan import span
    from bloomtune.stopwatch import hms

    assert [hms(s) for s in (5, 125, 3723)] == ["0m05s", "2m05s", "1h02m03s"]
    assert [span(s) for s in (125, 3723, 90000)] == ["2m05s", "1h02m", "1.0 d"]
