"""One search per tuner and repetition at a time, whichever orchestrator starts it."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest
import yaml
from conftest import BIN, copy_project, snakemake, tool_env
from tuning_data import tiny_data, tune_settings

from bloomtune.runtime import Busy, exclusive
from bloomtune.tuning.tune import run_tuning


def test_a_second_search_of_the_same_run_is_refused_while_the_first_holds_it(tmp_path):
    data = tiny_data(tmp_path)
    settings = tune_settings("kt_random", max_trials=1, max_epochs=1)
    state = tmp_path / "state"
    with exclusive(state, "a search"):  # as a running tune job holds it
        with pytest.raises(Busy, match=r"state: pid \d+ is already running the kt_random search"):
            run_tuning(settings, data, tmp_path / "out", state)
    assert not (tmp_path / "out").exists()
    run_tuning(settings, data, tmp_path / "out", state)  # released: it runs
    assert len(pd.read_csv(tmp_path / "out" / "trials.csv")) == 1


@pytest.mark.pipeline
def test_snakemake_and_dvc_started_together_never_share_a_search(tmp_path):
    project = copy_project(tmp_path / "project", overlay="config/smoke.yaml")
    params = project / "params.yaml"
    values = yaml.safe_load(params.read_text())
    values["tuning"].update(max_trials=6, max_epochs=3)  # long enough to overlap
    params.write_text(yaml.safe_dump(values, sort_keys=False))
    snakemake(["--cores", "2", "data/standardised", "data/weights"], project)
    target = "results/tuning/kt_random/seed_1/trials.csv"
    jobs = [
        [str(BIN / "snakemake"), "--cores", "1", target],
        [str(BIN / "dvc"), "repro", "--single-item", "tune@kt_random-1"],
    ]
    started = [
        subprocess.Popen(j, cwd=project, env=tool_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for j in jobs
    ]  # fmt: skip
    outputs = [p.communicate(timeout=600)[0] for p in started]
    codes = [p.returncode for p in started]
    # Both start within a second or two and the search takes several: one of them runs it, the
    # other is refused in one line.
    assert sorted(codes) == [0, 1], (codes, outputs)
    (refused,) = [o for o, c in zip(outputs, codes, strict=True) if c]
    assert "is already running the kt_random search of seed 1" in refused, refused
    trials = pd.read_csv(project / target)
    assert len(trials) <= 6 and trials["trial"].is_unique


def test_the_data_stages_take_one_lock_beside_their_output(tmp_path):
    # Snakemake and DVC started together both ran download (and both wrote the same .part
    # file): now the second stops at once, naming the stage; the lock is beside the output.
    import sys

    from conftest import ROOT, run

    from bloomtune.runtime import lock_beside

    out = tmp_path / "data" / "raw"
    command = [sys.executable, "scripts/download.py", "--params", "params.yaml",
               "config/smoke.yaml", "--out", str(out)]  # fmt: skip
    with exclusive(lock_beside(out), "the download stage"):  # as a running download holds it
        busy = run(command, ROOT, check=False)
    assert busy.returncode == 1 and "is already running the download stage" in busy.stderr
    assert not out.exists()
    run(command, ROOT)  # released: it runs, and leaves nothing inside its output
    assert not list(out.rglob("*.lock*")) and (tmp_path / "data" / ".raw.lock").is_dir()
