"""The Slurm profile against a real one-node cluster on localhost: jobs run as Slurm jobs, give a
local run's numbers, and a failing job fails the run with its Slurm state."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from conftest import copy_project, snakemake
from slurm_cluster import one_node_cluster

from bloomtune.dry_run import pending_jobs
from bloomtune.slurm_fit import check_requests

pytestmark = [pytest.mark.pipeline, pytest.mark.cluster]
RUNS = ["kt_random", "optuna_tpe"]
TARGETS = [f"results/metrics/{t}/seed_1.json" for t in RUNS]
# Small asks for a 2-core node; one thread per training job, here and in the local run, so the
# numbers compare (thread count changes them).
SMALL = {
    "resources": {
        "training_threads": 1,
        "mem_mb": {"download": 500, "standardise": 1000, "training": 1500, "report": 500},
        "runtime": {"download": 10, "standardise": 10, "training": 10, "report": 10},
    }
}
# What a cluster user sets for their site (partition, account), plus quick status polling.
SITE = [
    "--slurm-no-account", "--slurm-init-seconds-before-status-checks", "1",
    "--seconds-between-status-checks", "2", "--jobs", "2",
    # the node has 2 cores: the profile's 8 and 4 would never be scheduled
    "--set-threads", "standardise=2", "tune=1", "best_epoch=1", "retrain=1", "evaluate=1",
]  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with one_node_cluster(tmp_path_factory.mktemp("slurm")) as partition:
        yield partition


def _project(folder, overlay: dict):
    project = copy_project(folder)
    (project / "cluster.yaml").write_text(yaml.safe_dump(overlay))
    return project


def _on_cluster(project, partition, targets, check=True):
    # targets first: --set-threads and --default-resources take every word after them
    return snakemake(
        [*targets, "--workflow-profile", "profiles/slurm", "--configfile", "config/smoke.yaml",
         "cluster.yaml", "--default-resources", f"slurm_partition={partition}", *SITE],
        project, check=check, timeout=600,
    )  # fmt: skip


def test_the_slurm_profile_runs_jobs_as_slurm_jobs_with_local_numbers(cluster, tmp_path):
    remote = _project(tmp_path / "remote", SMALL)
    result = _on_cluster(remote, cluster, TARGETS)
    output = result.stdout + result.stderr
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", output)
    # download, standardise, weights, then 4 jobs per run: every job, none run locally
    assert len(submitted) == 3 + 4 * len(RUNS), output[-3000:]
    slurm_logs = list((remote / "results" / "logs" / "slurm").rglob("*.log"))
    assert len(slurm_logs) == len(submitted)
    local = _project(tmp_path / "local", SMALL)
    snakemake(
        [*TARGETS, "--cores", "2", "--configfile", "config/smoke.yaml", "cluster.yaml"], local
    )
    for target in TARGETS:
        there, here = (json.loads((p / target).read_text()) for p in (remote, local))
        for key in ("test_loss", "test_accuracy", "hyperparameters", "best_epoch"):
            assert there[key] == here[key], (target, key)


def test_a_failing_job_fails_the_run_with_its_slurm_state(cluster, tmp_path):
    # A model of the user's own that fails to build: every trial fails, and so the tune job.
    unused = {"kernel_size": None, "strides": None, "activation": None}  # the blog CNN's
    broken = {**SMALL, "model": {"family": "custom", "builder": "broken_model:build"},
              "search_space": unused}  # fmt: skip
    project = _project(tmp_path / "broken", broken)
    (project / "broken_model.py").write_text(
        "def build(hp, image_size, n_classes):\n    raise RuntimeError('a broken model')\n"
    )
    result = _on_cluster(project, cluster, ["results/tuning/kt_random/seed_1/best.json"], False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Error in rule tune" in output and "SLURM status is: 'FAILED'" in output, output[-3000:]


def test_the_plan_names_the_jobs_the_partition_can_never_start(cluster, tmp_path):
    # The profile's own asks (standardise: 8 threads, 8,000 MB; 120 minutes for a download) on
    # the 4,000 MB node of a partition with a 60-minute limit: Slurm would keep those jobs
    # pending for ever; the plan's check (`--workflow-profile`, here without its estimate, which
    # tests/test_plan.py runs) names each from the dry run and `sinfo` before anything is
    # submitted. The report's 4,000 MB and 30 minutes fit.
    project = copy_project(tmp_path / "plan")
    jobs = pending_jobs(["config/smoke.yaml"], "profiles/slurm", cwd=project)
    lines = check_requests(jobs, str(project / "profiles/slurm")).splitlines()
    assert lines[0] == "slurm: these jobs can never start (Slurm would keep them pending):"
    named = {line.split()[0]: line for line in lines[1:]}
    training = {"tune", "best_epoch", "retrain", "evaluate"}
    assert set(named) == {"download", "weights", "standardise", *training}, named
    assert f"(partition {cluster}):" in named["standardise"]
    assert "mem_mb 8000 > 4000 MB" in named["standardise"]
    assert named["download"].endswith("runtime 120 min > the 60 min limit")
    assert "mem_mb 16000 > 4000 MB; runtime 720 min > the 60 min limit" in named["tune"]
