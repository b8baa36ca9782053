"""The whole DAG on config/smoke.yaml under Snakemake and under DVC, and exact reruns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pandas as pd
import pytest
import yaml
from browser import Browser, find_browser
from conftest import ROOT, copy_project, dvc, free_port, run, snakemake
from dag import snakemake_jobs

from bloomtune.checks import load_params
from bloomtune.codedeps import stage_code
from bloomtune.params import STAGE_SECTIONS

pytestmark = pytest.mark.pipeline
TUNERS = list(load_params([ROOT / "params.yaml"])["tuners"])
PER_TUNER = ["tune", "best_epoch", "retrain", "evaluate"]
REPLAY_STAGES = {"tabulate", "table", "replay", "replay_report"}
SEED = load_params([ROOT / "params.yaml", ROOT / "config/smoke.yaml"])["seeds"][0]


def run_name(stage: str, tuner: str, seed: int = SEED) -> str:
    """A repeated stage's job, as both orchestrators name it (DVC's matrix: stage@tuner-seed)."""
    return f"{stage}@{tuner}-{seed}"


def run_path(folder, tuner: str, suffix: str = "", seed: int = SEED):
    return folder / tuner / f"seed_{seed}{suffix}"


@pytest.fixture(scope="module")
def snakemake_project(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("snakemake") / "project")
    snakemake(["--cores", "2", "--configfile", "config/smoke.yaml"], project)
    return project


@pytest.fixture(scope="module")
def dvc_project(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("dvc") / "project", overlay="config/smoke.yaml")
    dvc(["repro"], project)
    return project


def _keep_page(project, page) -> None:
    """A copy of a report page as a test left it, for test_the_pages_read_in_a_browser."""
    (project / "kept").mkdir(exist_ok=True)
    shutil.copy(page, project / "kept" / page.name)


def _edit(path, dotted: str, value) -> None:
    data = yaml.safe_load(path.read_text()) or {}
    node = data
    *parents, last = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


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


def test_the_optuna_dashboard_opens_a_finished_runs_study(snakemake_project):
    # The README's command: optuna-dashboard on the run's journal, read back over HTTP.
    results = snakemake_project / "results"
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
def test_snakemake_reruns_exactly_what_a_change_touches(snakemake_project, key, value, expected):
    assert snakemake_jobs(snakemake_project, ["--configfile", "config/smoke.yaml"]) == {}
    overlay = snakemake_project / "config" / "smoke.yaml"
    original = overlay.read_text()
    try:
        _edit(overlay, key, value)
        jobs = snakemake_jobs(snakemake_project, ["--configfile", "config/smoke.yaml"])
    finally:
        overlay.write_text(original)
    assert set(jobs) == expected | {"report"}


# One module per stage that only that stage imports, and the stages after it.
EDITS = {
    "bloomtune/data/synthetic.py": ("download", ["standardise", *PER_TUNER]),
    "bloomtune/data/oxford.py": ("standardise", PER_TUNER),
    "bloomtune/tuning/tune.py": ("tune", PER_TUNER[1:]),
    "bloomtune/training/best_epoch.py": ("best_epoch", PER_TUNER[2:]),
    "bloomtune/training/retrain.py": ("retrain", PER_TUNER[3:]),
    "bloomtune/evaluation/evaluate.py": ("evaluate", []),
    "bloomtune/reporting/report.py": ("report", []),
}


def _jobs(stages) -> set[str]:
    return {run_name(s, t) if s in PER_TUNER else s for s in stages for t in TUNERS}


@pytest.mark.parametrize("module", list(EDITS))
def test_snakemake_reruns_a_stage_whose_code_changed_and_those_after_it(snakemake_project, module):
    stage, after = EDITS[module]
    assert [s for s in STAGE_SECTIONS if module in stage_code(s)] == [stage]
    path = snakemake_project / module
    original = path.read_text()
    try:
        # Snakemake reruns on a newer input only if its content changed too.
        path.write_text(original + "# edited\n")
        jobs = snakemake_jobs(snakemake_project, ["--configfile", "config/smoke.yaml"])
    finally:
        path.write_text(original)
    assert set(jobs) == _jobs([stage, *after]) | {"report"}


def test_editing_the_search_space_module_reruns_no_data_stage(snakemake_project, dvc_project):
    # The space is read by the stages that build models and the report; the params check that
    # every stage runs reads it too, but a check changes no output (bloomtune/codedeps.py).
    module = "bloomtune/space.py"
    readers = [s for s in STAGE_SECTIONS if module in stage_code(s)]
    assert {"tune", "report"} <= set(readers) and not {"download", "standardise"} & set(readers)
    readers = [s for s in readers if s not in REPLAY_STAGES]  # the replay is off in smoke
    for project in (snakemake_project, dvc_project):
        path = project / module
        original = path.read_text()
        try:
            path.write_text(original + "# edited\n")
            if project is snakemake_project:
                jobs = set(snakemake_jobs(project, ["--configfile", "config/smoke.yaml"]))
                expected = _jobs([*readers, *PER_TUNER])  # and every job after them
            else:
                jobs = set(json.loads(dvc(["status", "--json"], project).stdout))
                expected = _jobs(readers)  # DVC names only the stages whose deps changed
        finally:
            path.write_text(original)
        assert jobs == expected, project


def test_a_new_repetition_runs_only_its_jobs_and_a_removed_one_leaves_the_report(
    snakemake_project,
):
    results = snakemake_project / "results" / "report"
    overlay = snakemake_project / "config" / "smoke.yaml"
    original = overlay.read_text()
    smoke = ["--configfile", "config/smoke.yaml"]
    try:
        _edit(overlay, "seeds", [SEED, SEED + 1])
        added = {run_name(s, t, SEED + 1) for s in PER_TUNER for t in TUNERS}
        assert set(snakemake_jobs(snakemake_project, smoke)) == added | {"report"}
        snakemake(["--cores", "2", *smoke], snakemake_project)
        runs = pd.read_csv(results / "repetitions.csv")
        assert sorted(runs["seed"].unique()) == [SEED, SEED + 1]
        assert len(runs) == 2 * len(TUNERS)
        summary = pd.read_csv(results / "summary.csv").set_index("tuner")
        assert (summary["repetitions"] == 2).all()
        means = runs.groupby("tuner")["test_accuracy"].mean()
        assert summary["test_accuracy"].to_dict() == pytest.approx(means.to_dict())
        html = (results / "report.html").read_text()
        assert "with 2 repetitions of the 9 this design needs" in html
        assert "no difference in test accuracy can be significant" in html
        table = html.split("<h2>Comparison</h2>")[1].split("<h2>")[0]
        assert "0.0" in table and "[" in table  # mean [interval]
        assert "<strong>" not in table  # 2 repetitions: nothing is significant
        assert "<h2>Every repetition</h2>" in html
        _keep_page(snakemake_project, results / "report.html")  # for the browser test
    finally:
        overlay.write_text(original)
    # Removing it again reruns only the report, which drops it.
    assert set(snakemake_jobs(snakemake_project, smoke)) == {"report"}
    snakemake(["--cores", "2", *smoke], snakemake_project)
    assert set(pd.read_csv(results / "repetitions.csv")["seed"]) == {SEED}
    assert "Nothing is shown: with one run per tuner" in (results / "report.html").read_text()


def test_recording_a_snakemake_run_with_dvc_leaves_both_up_to_date(snakemake_project):
    # The README's sequence: merge the overlay into params.yaml (DVC reads only that), dvc commit,
    # then refresh Snakemake's view of the relinked files; bloomtune.record does all three.
    record = [sys.executable, "-m", "bloomtune.record", "--configfile", "config/smoke.yaml"]
    result = run(record, snakemake_project)
    assert "both up to date" in result.stdout
    assert "up to date" in dvc(["status"], snakemake_project).stdout
    # Snakemake's marker inside its directory outputs is not data to DVC (.dvcignore).
    marker = snakemake_project / "data/raw/.snakemake_timestamp"
    times = marker.stat()
    marker.write_text("rewritten by Snakemake")
    os.utime(marker, ns=(times.st_atime_ns, times.st_mtime_ns))  # Snakemake reads its time
    assert "up to date" in dvc(["status"], snakemake_project).stdout
    repro = dvc(["repro"], snakemake_project)
    assert "Running stage" not in repro.stdout, repro.stdout
    assert snakemake_jobs(snakemake_project, ["--configfile", "config/smoke.yaml"]) == {}


def test_recording_refuses_a_run_that_is_not_finished(project):
    record = [sys.executable, "-m", "bloomtune.record", "--configfile", "config/smoke.yaml"]
    result = run(record, project, check=False)
    assert result.returncode != 0
    assert "Snakemake has jobs to run" in result.stderr
    assert not (project / ".dvc" / "cache").exists()  # nothing was committed


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
def test_dvc_status_flags_exactly_the_stages_that_read_a_change(dvc_project, key, value, expected):
    params = dvc_project / "params.yaml"
    original = params.read_text()
    try:
        assert json.loads(dvc(["status", "--json"], dvc_project).stdout) == {}
        _edit(params, key, value)
        changed = json.loads(dvc(["status", "--json"], dvc_project).stdout)
    finally:
        params.write_text(original)
    assert set(changed) == expected


@pytest.mark.parametrize("module", list(EDITS))
def test_dvc_status_flags_the_stage_whose_code_changed(dvc_project, module):
    stage, _ = EDITS[module]
    path = dvc_project / module
    original = path.read_text()
    try:
        path.write_text(original + "# edited\n")
        changed = json.loads(dvc(["status", "--json"], dvc_project).stdout)
    finally:
        path.write_text(original)
    assert set(changed) == _jobs([stage])


def test_snakemake_builds_its_browsable_report(snakemake_project):
    target = "results/report/snakemake.html"
    snakemake(
        ["--cores", "1", "--configfile", "config/smoke.yaml", "--report", target],
        snakemake_project,
    )
    built = (snakemake_project / target).read_text()
    for item in ("summary.csv", "repetitions.csv", "critical_difference.png", "anytime.png"):
        assert item in built, item


def test_dvc_metrics_and_plots_list_every_tuner(dvc_project):
    # `dvc metrics show`: one row per run and one per tuner, under the same column names.
    table = dvc(["metrics", "show"], dvc_project).stdout.splitlines()
    header, rows = table[0].split(), [line.split()[0] for line in table[1:] if line.strip()]
    runs = [f"results/evaluation/{t}/seed_{SEED}/metrics.json" for t in TUNERS]
    assert sorted(rows) == sorted(runs + [f"results/report/metrics/{t}.json" for t in TUNERS])
    assert header == ["Path", "anytime_area", "anytime_mean_rank", "best_validation",
                      "epochs_consumed", "mean_rank", "repetitions", "seed", "test_accuracy",
                      "test_loss", "test_top5_accuracy", "total_s", "tuner"]  # fmt: skip
    shown = json.loads(dvc(["metrics", "show", "--json"], dvc_project).stdout)
    values = {
        path: data["data"] for entry in shown.values() for path, data in entry["data"].items()
    }
    for tuner in TUNERS:
        run = values[f"results/evaluation/{tuner}/seed_{SEED}/metrics.json"]
        full = json.loads(run_path(dvc_project / "results/metrics", tuner, ".json").read_text())
        assert run["test_accuracy"] == full["test_accuracy"] and run["seed"] == SEED
        assert values[f"results/report/metrics/{tuner}.json"]["repetitions"] == 1
    # Against the commit before the run (no metrics): a row per run and measure, old and new.
    diff = dvc(["metrics", "diff"], dvc_project).stdout.splitlines()
    assert diff[0].split() == ["Path", "Metric", "HEAD", "workspace", "Change"]
    run = f"results/evaluation/kt_random/seed_{SEED}/metrics.json"
    assert any(line.split()[:3] == [run, "test_accuracy", "-"] for line in diff[1:]), diff
    # The aggregates over repetitions with the report's statistics, a file beside them.
    aggregates = json.loads((dvc_project / "results/report/aggregates.json").read_text())
    assert aggregates["repetitions"] == 1
    assert set(aggregates) == {"repetitions", "statistics", "independence", *TUNERS}
    assert set(aggregates["independence"]) == set(TUNERS)
    assert aggregates["statistics"]["repetitions_needed"] == 9  # 5 tuners, every pair
    plots = dvc(["plots", "show", "--json"], dvc_project).stdout
    assert f"results/best_epoch/kt_random/seed_{SEED}/history.csv" in plots


def test_dvc_repro_matches_snakemake_numbers(dvc_project, snakemake_project):
    for tuner in TUNERS:
        by_dvc = json.loads(run_path(dvc_project / "results/metrics", tuner, ".json").read_text())
        by_smk = json.loads(
            run_path(snakemake_project / "results/metrics", tuner, ".json").read_text()
        )
        for key in ("test_loss", "test_accuracy", "hyperparameters", "best_epoch"):
            assert by_dvc[key] == by_smk[key], (tuner, key)


REPLAY_OVERLAY = {  # the smoke space at one learning rate: 36 configurations, 1 seed, 2 shards
    "tabulate": {"shards": [1, 2], "seeds": 1, "grid": {"learning_rate": [1.0e-3]}},
    "replay": {"tables": ["grid"], "seeds": 2},
}
REPLAYED = {"tabulate@1", "tabulate@2", "table", "replay_report"} | {f"replay@{t}" for t in TUNERS}


def test_the_replay_runs_beside_the_live_runs_and_a_new_seed_reruns_only_replays(
    snakemake_project,
):
    # One key turns the table and the replay on: no live job reruns, only the report (which
    # links the replay's page); a replay seed more reruns the per-tuner replays and their page.
    results = snakemake_project / "results"
    overlay = snakemake_project / "config" / "smoke.yaml"
    original = overlay.read_text()  # edited in place: another overlay file changes the commands
    try:
        for key, value in REPLAY_OVERLAY.items():
            _edit(overlay, key, value)
        _replays_and_a_new_seed(snakemake_project, results, overlay)
    finally:
        overlay.write_text(original)


def _replays_and_a_new_seed(snakemake_project, results, overlay):
    both = ["--configfile", "config/smoke.yaml"]
    assert set(snakemake_jobs(snakemake_project, both)) == REPLAYED | {"report"}
    snakemake(["--cores", "2", *both], snakemake_project)
    table = pd.read_parquet(results / "table" / "table.parquet")
    assert table["config"].nunique() == 36 and set(table["seed"]) == {1}
    for tuner in TUNERS:
        for seed in (1, 2):
            folder = results / "replay" / tuner / f"seed_{seed}"
            best = json.loads((folder / "best.json").read_text())
            trials = pd.read_csv(folder / "trials.csv")
            assert (trials["learning_rate"] == 1.0e-3).all()  # snapped to the grid
            hp = best["hyperparameters"]
            row = table[(table["epoch"] == best["best_epoch"])
                        & (table[list(hp)] == pd.Series(hp)).all(axis=1)]  # fmt: skip
            assert best["test_accuracy"] == pytest.approx(row["test_accuracy"].item())
    page = (results / "report" / "replay" / "replay.html").read_text()
    assert "How far to trust the replay" in page and "Kendall" in page
    _keep_page(snakemake_project, results / "report" / "replay" / "replay.html")
    assert "over the 1 seed both have" in page  # live seed 1 is replayed too
    assert "replay/replay.html" in (results / "report" / "report.html").read_text()
    aggregates = json.loads((results / "report" / "replay" / "aggregates.json").read_text())
    assert aggregates["repetitions"] == 2 and set(aggregates["regret"]) == set(TUNERS)
    assert set(aggregates["independence"]) == set(TUNERS) and "Independent repetitions" in page
    _edit(overlay, "replay.seeds", 3)
    assert set(snakemake_jobs(snakemake_project, both)) == {f"replay@{t}" for t in TUNERS} | {
        "replay_report"
    }


@pytest.mark.skipif(find_browser() is None, reason="no Chromium (.ci/run installs Debian's)")
def test_the_pages_read_in_a_browser_at_1300_px(snakemake_project, tmp_path):
    # The report with every repetition's table, and the replay's page, as headless Chromium
    # shows them in a 1,300 px wide window: every figure decoded, nothing fetched but the page
    # itself (figures are inlined), nothing wider than the window, no interval split in a cell.
    kept = snakemake_project / "kept"
    with Browser(find_browser(), width=1300) as browser:
        for name in ("report.html", "replay.html"):
            seen = browser.open(kept / name, screenshot=tmp_path / f"{name}.png")
            figures = (kept / name).read_text().count("<img ")
            assert figures >= 4 and len(seen["images"]) == figures, name
            assert all(i["complete"] and i["width"] > 0 for i in seen["images"]), seen["images"]
            assert [u for u in seen["requests"] if not u.startswith("data:")] == [
                (kept / name).resolve().as_uri()
            ]
            assert seen["page_width"] <= 1300 and not seen["wide"] and not seen["scrolled"], (
                name, seen["page_width"], seen["wide"], seen["scrolled"]
            )  # fmt: skip
            assert not seen["wrapped"], (name, seen["wrapped"])
