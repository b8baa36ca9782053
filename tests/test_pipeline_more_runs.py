"""Runs on from config/smoke.yaml's finished Snakemake run: a second repetition, the replay beside
the live runs, and both pages as a browser shows them."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from browser import Browser, find_browser
from conftest import clone, run_wide, snakemake
from dag import snakemake_jobs
from smoke import PER_TUNER, SEED, SMOKE, TUNERS, edit, run_name

pytestmark = pytest.mark.pipeline
SECOND = {"seeds": [SEED, SEED + 1]}
REPLAY = {  # the smoke space at one learning rate: 36 configurations, 1 seed, 2 shards
    "tabulate": {"shards": [1, 2], "seeds": 1, "grid": {"learning_rate": [1.0e-3]}},
    "replay": {"tables": ["grid"], "seeds": 2},
}
REPLAYED = {"tabulate@1", "tabulate@2", "table", "replay_report"} | {f"replay@{t}" for t in TUNERS}


def _edited(snakemake_project, folder, edits: dict):
    """A copy of the smoke run with its overlay edited in place (the overlay's path is part of
    every command, so another file would rerun everything)."""
    project = clone(snakemake_project, folder)
    for key, value in edits.items():
        edit(project / "config" / "smoke.yaml", key, value)
    return project


def _run_on(snakemake_project, edits: dict):
    return lambda folder: snakemake(
        ["--cores", "2", *SMOKE], _edited(snakemake_project, folder, edits)
    )


@pytest.fixture(scope="session")
def two_repetitions(snakemake_project, tmp_path_factory):
    """The smoke run with a second repetition seed run after it."""
    return run_wide(tmp_path_factory, "two_repetitions", _run_on(snakemake_project, SECOND))


@pytest.fixture(scope="session")
def replayed(snakemake_project, tmp_path_factory):
    """The smoke run with the replay turned on after it."""
    return run_wide(tmp_path_factory, "replayed", _run_on(snakemake_project, REPLAY))


def test_a_new_repetition_runs_only_its_jobs_and_a_removed_one_leaves_the_report(
    snakemake_project, two_repetitions, tmp_path
):
    planned = snakemake_jobs(_edited(snakemake_project, tmp_path / "planned", SECOND), SMOKE)
    added = {run_name(s, t, SEED + 1) for s in PER_TUNER for t in TUNERS}
    assert set(planned) == added | {"report"}
    results = two_repetitions / "results" / "report"
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
    # Removing it again reruns only the report, which drops it.
    project = clone(two_repetitions, tmp_path / "removed")
    edit(project / "config" / "smoke.yaml", "seeds", [SEED])
    assert set(snakemake_jobs(project, SMOKE)) == {"report"}
    snakemake(["--cores", "2", *SMOKE], project)
    results = project / "results" / "report"
    assert set(pd.read_csv(results / "repetitions.csv")["seed"]) == {SEED}
    assert "Nothing is shown: with one run per tuner" in (results / "report.html").read_text()


def test_the_replay_runs_beside_the_live_runs_and_a_new_seed_reruns_only_replays(
    snakemake_project, replayed, tmp_path
):
    # One key turns the table and the replay on: no live job reruns, only the report (which
    # links the replay's page and quotes its verdict); a replay seed more reruns the per-tuner
    # replays, their page and the report.
    planned = snakemake_jobs(_edited(snakemake_project, tmp_path / "planned", REPLAY), SMOKE)
    assert set(planned) == REPLAYED | {"report"}
    results = replayed / "results"
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
    assert "over the 1 seed both have" in page  # live seed 1 is replayed too
    assert "replay/replay.html" in (results / "report" / "report.html").read_text()
    # The main report quotes the replay's verdict (one training seed: never "within its noise")
    found = json.loads((results / "metrics" / "replay.json").read_text())
    assert found["verdict"] in ("ordering", "disagrees", None), found
    assert found["reason"] in (results / "report" / "report.md").read_text()
    assert found["reason"] in (results / "report" / "replay" / "replay.md").read_text()
    aggregates = json.loads((results / "report" / "replay" / "aggregates.json").read_text())
    assert aggregates["repetitions"] == 2 and set(aggregates["regret"]) == set(TUNERS)
    assert set(aggregates["independence"]) == set(TUNERS) and "Independent repetitions" in page
    project = clone(replayed, tmp_path / "more")
    edit(project / "config" / "smoke.yaml", "replay.seeds", 3)
    assert set(snakemake_jobs(project, SMOKE)) == {f"replay@{t}" for t in TUNERS} | {
        "replay_report",
        "report",  # the report quotes the replay's verdict
    }


@pytest.mark.skipif(find_browser() is None, reason="no Chromium (.ci/run installs Debian's)")
def test_the_pages_read_in_a_browser_at_1300_px(two_repetitions, replayed, tmp_path):
    # The report with every repetition's table, and the replay's page, as headless Chromium
    # shows them in a 1,300 px wide window: every figure decoded, nothing fetched but the page
    # itself (figures are inlined), nothing wider than the window, no interval split in a cell.
    pages = [
        two_repetitions / "results" / "report" / "report.html",
        replayed / "results" / "report" / "replay" / "replay.html",
    ]
    with Browser(find_browser(), width=1300) as browser:
        for page in pages:
            name = page.name
            seen = browser.open(page, screenshot=tmp_path / f"{name}.png")
            figures = page.read_text().count("<img ")
            assert figures >= 4 and len(seen["images"]) == figures, name
            assert all(i["complete"] and i["width"] > 0 for i in seen["images"]), seen["images"]
            assert [u for u in seen["requests"] if not u.startswith("data:")] == [
                page.resolve().as_uri()
            ]
            assert seen["page_width"] <= 1300 and not seen["wide"] and not seen["scrolled"], (
                name, seen["page_width"], seen["wide"], seen["scrolled"]
            )  # fmt: skip
            assert not seen["wrapped"], (name, seen["wrapped"])
