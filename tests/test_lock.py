"""One search per tuner and repetition at a time, whichever orchestrator starts it."""

from __future__ import annotations

import subprocess
import time

import pandas as pd
import pytest
import yaml
from conftest import BIN, copy_project, snakemake, tool_env
from tuning_data import tiny_data, tune_settings

from bloomtune.files import Busy, exclusive
from bloomtune.run_lock import LOCK
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
def test_snakemake_and_dvc_started_together_never_share_a_project(tmp_path):
    # Both at once destroyed each other's outputs: Snakemake deleted the "output files of" its
    # refused job (DVC's just-written data), and a refused job had truncated the running job's
    # log. Now the project's run lock refuses the second before any job starts (the other way
    # round: tests/test_run_lock.py).
    project = copy_project(tmp_path / "project", overlay="config/smoke.yaml")
    params = project / "params.yaml"
    values = yaml.safe_load(params.read_text())
    values["tuning"].update(max_trials=6, max_epochs=3)  # long enough to overlap
    params.write_text(yaml.safe_dump(values, sort_keys=False))
    target = "results/tuning/kt_random/seed_1/trials.csv"
    dvc = subprocess.Popen(
        [str(BIN / "python"), "-m", "bloomtune.repro", "--single-item", "download",
         "standardise", "weights", "tune@kt_random-1"],
        cwd=project, env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lock = project / LOCK
    deadline = time.monotonic() + 60
    while "dvc repro" not in (lock.read_text() if lock.exists() else ""):
        assert time.monotonic() < deadline and dvc.poll() is None, "DVC never took the lock"
        time.sleep(0.1)
    # Snakemake while DVC runs the stages: refused in one line before any job starts.
    refused = snakemake(["--cores", "1", target], project, check=False)
    assert refused.returncode == 1, refused
    assert "this project's stages are held by dvc repro (pid " in refused.stderr, refused.stderr
    assert "Error in rule" not in refused.stderr, refused.stderr  # no job started, none failed
    output = dvc.communicate(timeout=600)[0]
    assert dvc.returncode == 0, output
    trials = pd.read_csv(project / target)
    assert len(trials) == 6 and trials["trial"].is_unique
    for output in ("data/raw/source.json", "data/standardised/manifest.json"):
        assert (project / output).is_file(), output  # nothing the winner made was deleted
    log = (project / "results/logs/standardise.log").read_text()
    assert "standardise done in" in log  # nor its log cut short by the refused run


def test_the_data_stages_take_one_lock_beside_their_output(tmp_path):
    # Snakemake and DVC started together both ran download (and both wrote the same .part
    # file): now the second stops at once, naming the stage; the lock is beside the output.
    import sys

    from conftest import ROOT, run

    from bloomtune.files import lock_beside

    out = tmp_path / "data" / "raw"
    command = [sys.executable, "scripts/download.py", "--params", "params.yaml",
               "config/smoke.yaml", "--out", str(out)]  # fmt: skip
    with exclusive(lock_beside(out), "the download stage"):  # as a running download holds it
        busy = run(command, ROOT, check=False)
    assert busy.returncode == 1 and "is already running the download stage" in busy.stderr
    assert not out.exists()
    run(command, ROOT)  # released: it runs, and leaves nothing inside its output
    assert not list(out.rglob("*.lock*")) and (tmp_path / "data" / ".raw.lock").is_dir()
