"""The whole DAG on config/smoke.yaml under Snakemake: what it writes, and exact reruns (DVC's
run of it: tests/test_pipeline_dvc.py; more repetitions and the replay beside it:
tests/test_pipeline_more_runs.py)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pandas as pd
import pytest
from conftest import ROOT, clone, dvc, free_port, snakemake
from dag import snakemake_jobs
from smoke import (
    EDITS,
    PER_TUNER,
    REPLAY_STAGES,
    SEED,
    SMOKE,
    TUNERS,
    edit,
    jobs_of,
    run_name,
    run_path,
)  # fmt: skip

from bloomtune.codedeps import stage_code
from bloomtune.params import STAGE_SECTIONS

pytestmark = pytest.mark.pipeline


def test_snakemake_runs_the_whole_dag(snakemake_project):
    results = snakemake_project / "results"
    summary = pd.read_csv(results / "report" / "summary.csv")
    assert summary["tuner"].tolist() == TUNERS
    html = (results / "report" / "report.html").read_text()
    assert "http://" not in html and "https://" not in html  # self-contained
    # The answer and its limit, then the figure of every repetition, before any table.
    assert 'class="headline"' in html and "Nothing is shown: with one run per tuner" in html
    assert html.index('class="headline"') < html.index("<img ") < html.index("<table")
    assert "ranks first" not in html and "tie for first" not in html
    assert "Optimiser overhead" in html and summary["overhead_share"].between(0, 1).all()
    assert html.count('src="data:image/png;base64,') == 6
    for tuner in TUNERS:
        assert f"<td>{tuner}</td>" in html
        metrics = json.loads(run_path(results / "metrics", tuner, ".json").read_text())
        assert metrics["seed"] == SEED
        row = summary.set_index("tuner").loc[tuner]
        for column in ("test_loss", "test_accuracy", "test_top5_accuracy", "epochs_consumed"):
            assert row[column] == pytest.approx(metrics[column]), (tuner, column)
        assert row["total_s"] == pytest.approx(metrics["seconds"]["total"])
        assert 0.0 <= metrics["test_accuracy"] <= 1.0
        history = pd.read_csv(run_path(results / "best_epoch", tuner) / "history.csv")
        chosen = json.loads(
            (run_path(results / "best_epoch", tuner) / "best_epoch.json").read_text()
        )
        assert chosen["best_epoch"] == history.loc[history["val_accuracy"].idxmax(), "epoch"]
        per_class = pd.read_csv(run_path(results / "evaluation", tuner) / "per_class.csv")
        assert per_class["images"].sum() == metrics["test_images"]
        assert run_path(results / "models", tuner, ".keras").stat().st_size > 0
        trials = pd.read_csv(run_path(results / "tuning", tuner) / "trials.csv")
        assert 1 <= len(trials) <= 2 and (trials["overhead_s"] >= 0).all()
        for stage in PER_TUNER:
            assert run_path(results / "logs" / stage, tuner, ".log").read_text().strip()
            assert run_path(results / "benchmarks" / stage, tuner, ".tsv").exists()
    # Each job sized its thread pools to what Snakemake granted it (--cores 2).
    download_log = (results / "logs" / "download.log").read_text()
    assert "download done in" in download_log and "(1 threads)" in download_log
    assert "(2 threads)" in run_path(results / "logs" / "tune", "kt_random", ".log").read_text()
    manifest = json.loads((snakemake_project / "data/standardised/manifest.json").read_text())
    assert manifest["image_size"] == 32 and manifest["source"]["source"] == "synthetic"


def test_the_optuna_dashboard_opens_a_finished_runs_study(snakemake_project, tmp_path):
    # The README's command: optuna-dashboard on the run's journal, read back over HTTP (on a
    # copy: reading a journal takes its lock there).
    results = clone(snakemake_project, tmp_path / "project") / "results"
    (journal,) = run_path(results / "state", "optuna_tpe").glob("*/optuna.journal")
    port = free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/optuna-dashboard"), "--port", str(port), "--quiet", str(journal)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        studies = _get_json(f"http://127.0.0.1:{port}/api/studies", server)["study_summaries"]
        assert [s["study_name"].split("-")[1] for s in studies] == ["optuna_tpe"]
        study = _get_json(f"http://127.0.0.1:{port}/api/studies/{studies[0]['study_id']}", server)
    finally:
        server.kill()
        server.wait(timeout=10)
    trials = pd.read_csv(run_path(results / "tuning", "optuna_tpe") / "trials.csv")
    shown = {t["number"]: t["values"][0] for t in study["trials"] if t["state"] == "Complete"}
    done = trials[trials["status"] == "complete"]
    assert shown == pytest.approx(dict(zip(done["trial"], done["score"], strict=True)))


def _get_json(url: str, server, within: float = 60.0):
    """GET url once the server answers (it takes a few seconds to start), never waiting past
    `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return json.loads(answer.read())
        except OSError:
            if server.poll() is not None:
                raise AssertionError(f"optuna-dashboard ended: {server.stderr.read()}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (  # an option of one tuner: only its chain (and the report)
            "tuners.kt_bayesian.num_initial_points",
            2,
            {run_name(s, "kt_bayesian") for s in PER_TUNER},
        ),
        ("report.title", "Another title", set()),
        ("best_epoch.patience", 2, {run_name(s, t) for s in PER_TUNER[1:] for t in TUNERS}),
        (
            "standardise.image_size",
            24,
            {"standardise"} | {run_name(s, t) for s in PER_TUNER for t in TUNERS},
        ),
        (  # another model family: the weights stage and every training job, no data stage
            "model",
            {"family": "custom", "builder": "examples.small_cnn:build"},
            {"weights"} | {run_name(s, t) for s in PER_TUNER for t in TUNERS},
        ),
    ],
)
def test_snakemake_reruns_exactly_what_a_change_touches(
    snakemake_project, tmp_path, key, value, expected
):
    project = clone(snakemake_project, tmp_path / "project")
    assert snakemake_jobs(project, SMOKE) == {}
    edit(project / "config" / "smoke.yaml", key, value)
    assert set(snakemake_jobs(project, SMOKE)) == expected | {"report"}


@pytest.mark.parametrize("module", list(EDITS))
def test_snakemake_reruns_a_stage_whose_code_changed_and_those_after_it(
    snakemake_project, tmp_path, module
):
    stage, after = EDITS[module]
    assert [s for s in STAGE_SECTIONS if module in stage_code(s)] == [stage]
    project = clone(snakemake_project, tmp_path / "project")
    path = project / module
    path.write_text(path.read_text() + "# edited\n")  # newer, and its content changed too
    assert set(snakemake_jobs(project, SMOKE)) == jobs_of([stage, *after]) | {"report"}


def test_editing_the_search_space_module_reruns_no_data_stage(
    snakemake_project, dvc_project, tmp_path
):
    # The space is read by the stages that build models and the report; the params check that
    # every stage runs reads it too, but a check changes no output (bloomtune/codedeps.py).
    module = "bloomtune/space.py"
    readers = [s for s in STAGE_SECTIONS if module in stage_code(s)]
    assert {"tune", "report"} <= set(readers) and not {"download", "standardise"} & set(readers)
    readers = [s for s in readers if s not in REPLAY_STAGES]  # the replay is off in smoke
    for name, shared in (("snakemake", snakemake_project), ("dvc", dvc_project)):
        project = clone(shared, tmp_path / name)
        path = project / module
        path.write_text(path.read_text() + "# edited\n")
        if name == "snakemake":
            jobs = set(snakemake_jobs(project, SMOKE))
            expected = jobs_of([*readers, *PER_TUNER])  # and every job after them
        else:
            jobs = set(json.loads(dvc(["status", "--json"], project).stdout))
            expected = jobs_of(readers)  # DVC names only the stages whose deps changed
        assert jobs == expected, name


def test_snakemake_builds_its_browsable_report(snakemake_project, tmp_path):
    project = clone(snakemake_project, tmp_path / "project")
    target = "results/report/snakemake.html"
    snakemake(["--cores", "1", *SMOKE, "--report", target], project)
    built = (project / target).read_text()
    for item in ("summary.csv", "repetitions.csv", "critical_difference.png", "anytime.png"):
        assert item in built, item
