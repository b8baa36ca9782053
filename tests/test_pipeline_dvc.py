"""The whole DAG on config/smoke.yaml under DVC: the stages a change flags, its metrics and plots,
a Snakemake run recorded for DVC, and its numbers against Snakemake's (the tests that need only
DVC's run come first, while another test worker may still be making Snakemake's)."""

from __future__ import annotations

import json
import os
import sys

import pytest
from conftest import clone, dvc, run
from dag import snakemake_jobs
from smoke import EDITS, PER_TUNER, SEED, SMOKE, TUNERS, edit, jobs_of, run_name, run_path

pytestmark = pytest.mark.pipeline


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "tuners.kt_bayesian.num_initial_points",
            2,
            {run_name(s, "kt_bayesian") for s in PER_TUNER[:3]} | {"report"},
        ),
        ("report.title", "Another title", {"report"}),
        ("standardise.image_size", 24, {"standardise"}),
        ("tuning.max_trials", 3, {run_name("tune", t) for t in TUNERS}),
        (
            "model",
            {"family": "custom", "builder": "examples.small_cnn:build"},
            {"weights"} | {run_name(s, t) for s in PER_TUNER[:3] for t in TUNERS},
        ),
        (
            "seeds",
            [SEED, SEED + 1],
            {run_name(s, t, SEED + 1) for s in PER_TUNER for t in TUNERS} | {"report"},
        ),
    ],
)
def test_dvc_status_flags_exactly_the_stages_that_read_a_change(
    dvc_project, tmp_path, key, value, expected
):
    project = clone(dvc_project, tmp_path / "project")
    assert json.loads(dvc(["status", "--json"], project).stdout) == {}
    edit(project / "params.yaml", key, value)
    assert set(json.loads(dvc(["status", "--json"], project).stdout)) == expected


@pytest.mark.parametrize("module", list(EDITS))
def test_dvc_status_flags_the_stage_whose_code_changed(dvc_project, tmp_path, module):
    stage, _ = EDITS[module]
    project = clone(dvc_project, tmp_path / "project")
    path = project / module
    path.write_text(path.read_text() + "# edited\n")
    assert set(json.loads(dvc(["status", "--json"], project).stdout)) == jobs_of([stage])


def test_dvc_metrics_and_plots_list_every_tuner(dvc_project, tmp_path):
    project = clone(dvc_project, tmp_path / "project")  # DVC takes its repository's lock
    # `dvc metrics show`: one row per run and one per tuner, under the same column names.
    table = dvc(["metrics", "show"], project).stdout.splitlines()
    header, rows = table[0].split(), [line.split()[0] for line in table[1:] if line.strip()]
    runs = [f"results/evaluation/{t}/seed_{SEED}/metrics.json" for t in TUNERS]
    assert sorted(rows) == sorted(runs + [f"results/report/metrics/{t}.json" for t in TUNERS])
    assert header == ["Path", "anytime_area", "anytime_mean_rank", "best_validation",
                      "epochs_consumed", "mean_rank", "repetitions", "seed", "test_accuracy",
                      "test_loss", "test_top5_accuracy", "total_s", "tuner"]  # fmt: skip
    shown = json.loads(dvc(["metrics", "show", "--json"], project).stdout)
    values = {
        path: data["data"] for entry in shown.values() for path, data in entry["data"].items()
    }
    for tuner in TUNERS:
        run = values[f"results/evaluation/{tuner}/seed_{SEED}/metrics.json"]
        full = json.loads(run_path(project / "results/metrics", tuner, ".json").read_text())
        assert run["test_accuracy"] == full["test_accuracy"] and run["seed"] == SEED
        assert values[f"results/report/metrics/{tuner}.json"]["repetitions"] == 1
    # Against the commit before the run (no metrics): a row per run and measure, old and new.
    diff = dvc(["metrics", "diff"], project).stdout.splitlines()
    assert diff[0].split() == ["Path", "Metric", "HEAD", "workspace", "Change"]
    run = f"results/evaluation/kt_random/seed_{SEED}/metrics.json"
    assert any(line.split()[:3] == [run, "test_accuracy", "-"] for line in diff[1:]), diff
    # The aggregates over repetitions with the report's statistics, a file beside them.
    aggregates = json.loads((project / "results/report/aggregates.json").read_text())
    assert aggregates["repetitions"] == 1
    assert set(aggregates) == {"repetitions", "statistics", "independence", *TUNERS}
    assert set(aggregates["independence"]) == set(TUNERS)
    assert aggregates["statistics"]["repetitions_needed"] == 9  # 5 tuners, every pair
    plots = dvc(["plots", "show", "--json"], project).stdout
    assert f"results/best_epoch/kt_random/seed_{SEED}/history.csv" in plots


def test_recording_a_snakemake_run_with_dvc_leaves_both_up_to_date(snakemake_project, tmp_path):
    project = clone(snakemake_project, tmp_path / "project")
    # The README's sequence: merge the overlay into params.yaml (DVC reads only that), dvc commit,
    # then refresh Snakemake's view of the relinked files; bloomtune.record does all three.
    record = [sys.executable, "-m", "bloomtune.record", "--configfile", "config/smoke.yaml"]
    result = run(record, project)
    assert "both up to date" in result.stdout
    assert "up to date" in dvc(["status"], project).stdout
    # Snakemake's marker inside its directory outputs is not data to DVC (.dvcignore).
    marker = project / "data/raw/.snakemake_timestamp"
    times = marker.stat()
    marker.write_text("rewritten by Snakemake")
    os.utime(marker, ns=(times.st_atime_ns, times.st_mtime_ns))  # Snakemake reads its time
    assert "up to date" in dvc(["status"], project).stdout
    repro = dvc(["repro"], project)
    assert "Running stage" not in repro.stdout, repro.stdout
    assert snakemake_jobs(project, SMOKE) == {}


def test_recording_refuses_a_run_that_is_not_finished(project):
    record = [sys.executable, "-m", "bloomtune.record", "--configfile", "config/smoke.yaml"]
    result = run(record, project, check=False)
    assert result.returncode != 0
    assert "Snakemake has jobs to run" in result.stderr
    assert not (project / ".dvc" / "cache").exists()  # nothing was committed


def test_dvc_repro_matches_snakemake_numbers(dvc_project, snakemake_project):
    for tuner in TUNERS:
        by_dvc = json.loads(run_path(dvc_project / "results/metrics", tuner, ".json").read_text())
        by_smk = json.loads(
            run_path(snakemake_project / "results/metrics", tuner, ".json").read_text()
        )
        for key in ("test_loss", "test_accuracy", "hyperparameters", "best_epoch"):
            assert by_dvc[key] == by_smk[key], (tuner, key)
