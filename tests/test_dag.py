"""The Snakefile and dvc.yaml describe the same DAG: stages, commands, deps, outs and params;
each stage's code deps are its script's import closure."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
from conftest import ROOT, snakemake
from dag import dag_differences, dvc_stages, snakemake_jobs

from bloomtune.checks import load_params
from bloomtune.codedeps import closure, stage_code
from bloomtune.params import STAGE_SECTIONS, stage_sections

REPLAY_STAGES = {"tabulate", "table", "replay", "replay_report"}


def replay_on(project, shards="[1, 2]"):
    """Turn the table and the replay on in a copy's params.yaml (DVC reads no overlay)."""
    params = project / "params.yaml"
    text = params.read_text()
    for old, new in (("tables: []", "tables: [grid]"), ("shards: [1]", f"shards: {shards}")):
        assert old in text, old
        text = text.replace(old, new, 1)
    params.write_text(text)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    from conftest import copy_project

    project = copy_project(tmp_path_factory.mktemp("dag") / "project")
    off = dvc_stages(project)
    replay_on(project)
    return snakemake_jobs(project, ["--forceall"]), dvc_stages(project), off


def test_snakefile_and_dvc_yaml_define_the_same_dag(both):
    jobs, stages, off = both
    assert dag_differences(jobs, stages, stage_sections) == []
    assert {name.partition("@")[0] for name in stages} == set(STAGE_SECTIONS)
    # One key: replay.tables [grid] adds the shards, the merge, a replay per tuner and its page;
    # [] (params.yaml's default) none of them.
    replayed = {n for n in stages if n.partition("@")[0] in REPLAY_STAGES}
    params = load_params([ROOT / "params.yaml"])
    assert replayed == {"tabulate@1", "tabulate@2", "table", "replay_report"} | {
        f"replay@{t}" for t in params["tuners"]
    }
    assert set(off) == set(stages) - replayed
    # One chain per tuner and repetition seed of params.yaml.
    params = load_params([ROOT / "params.yaml"])
    runs = {f"{t}-{s}" for t in params["tuners"] for s in params["seeds"]}
    assert len(params["seeds"]) >= 5
    for stage in ("tune", "best_epoch", "retrain", "evaluate"):
        assert {n.partition("@")[2] for n in stages if n.startswith(stage + "@")} == runs


def _differ(jobs, stages, what):
    """Make one deliberate difference between the two orchestrators; return the expected
    problem's start."""
    if what == "command":
        jobs["tune@kt_random-2"]["cmd"] += " --extra"
        return "tune@kt_random-2: commands differ"
    if what == "output":
        stages["retrain@kt_random-2"]["outs"].pop()
        return "retrain@kt_random-2: outputs differ"
    if what == "dvc dep":
        stages["report"]["deps"].remove("bloomtune/reporting/report.py")
        return "report: bloomtune/reporting/report.py is not a dvc.yaml dep"
    if what == "snakemake input":
        jobs["best_epoch@kt_random-2"]["input"].remove("scripts/best_epoch.py")
        return "best_epoch@kt_random-2: scripts/best_epoch.py is not a Snakemake input"
    if what == "params":
        stages["tune@kt_random-2"]["params"].remove("seed")
        return "tune@kt_random-2: params"
    jobs.pop("evaluate@kt_random-2")
    return "jobs ['evaluate@kt_random-2'] are in one orchestrator only"


@pytest.mark.parametrize(
    "what", ["command", "output", "dvc dep", "snakemake input", "params", "stage"]
)
def test_the_dag_check_fails_a_differing_pair(both, what):
    jobs, stages = copy.deepcopy(both[:2])
    expected = _differ(jobs, stages, what)
    problems = dag_differences(jobs, stages, stage_sections)
    assert any(p.startswith(expected) for p in problems), problems


def test_code_deps_are_each_stages_import_closure(both):
    stages = both[1]
    for name, stage in stages.items():
        declared = [d for d in stage["deps"] if d.startswith(("scripts/", "bloomtune/"))]
        assert declared == stage_code(name.partition("@")[0]), (
            f"{name}: dvc.yaml code deps are not the import closure; "
            "`python -m bloomtune.dvc_yaml --write` puts them there"
        )


def test_the_committed_dvc_yaml_is_the_one_the_stage_table_generates(tmp_path):
    # dvc.yaml is generated from bloomtune/stages.py (and each stage's import closure): a table
    # edit without `python -m bloomtune.dvc_yaml --write` fails here, and --check says so.
    from bloomtune import dvc_yaml

    assert (ROOT / "dvc.yaml").read_text() == dvc_yaml.render(), (
        "dvc.yaml is stale: `python -m bloomtune.dvc_yaml --write` regenerates it"
    )
    result = subprocess.run([sys.executable, "-m", "bloomtune.dvc_yaml", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout


def test_each_rule_names_its_own_paths_in_its_command():
    # A path a stage reads or writes is spelled once, in the table: the rule's command refers
    # to it by name, so the orchestrators cannot disagree on it.
    from bloomtune.stages import STAGES, snakemake_shell

    tune = snakemake_shell(STAGES["tune"])
    assert "--data {input.data} --weights {input.weights}" in tune
    assert "--out results/tuning/{wildcards.tuner}/seed_{wildcards.seed}" in tune
    assert snakemake_shell(STAGES["retrain"]).endswith(
        "--model {output.model} --out {output.record} --log {log}"
    )
    for stage in STAGES.values():
        shell = snakemake_shell(stage)
        for out in stage.outputs.values():
            assert f" {out.path} " not in f"{shell} ", (stage.name, out.path)


def test_the_closure_follows_imports_inside_functions(tmp_path):
    # tune imports its frameworks' adapters only when it runs them; they are still its code.
    code = stage_code("tune")
    for module in (
        "tuning/optuna_adapter.py",
        "tuning/keras_tuner_adapter.py",
        "tuning/runner.py",
    ):
        assert f"bloomtune/{module}" in code
    assert "bloomtune/tuning/runner.py" not in stage_code("download")
    from bloomtune import codedeps

    script = codedeps.ROOT / "scripts" / "report.py"
    assert "bloomtune/reporting/blog_reference.yaml" in closure(script)


def test_snakemake_lint_is_clean(project):
    result = snakemake(["--lint"], project, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


@pytest.mark.parametrize("stage", ["download", "standardise", "weights", "report"])
def test_a_stage_that_does_not_train_does_not_import_tensorflow(stage):
    # Importing every module of the stage's code, as its job does, must not start TensorFlow
    # (seconds of start-up and memory in every such job).
    modules = [p[:-3].replace("/", ".") for p in stage_code(stage)
               if p.startswith("bloomtune/") and p.endswith(".py")]  # fmt: skip
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", (stage, result.stdout)


def test_a_replay_job_depends_on_no_training_code_and_imports_no_tensorflow():
    # The evaluator seam (tuning/protocol.py) imports no Keras: a change to the training code
    # does not rerun the replays, and an Optuna replay starts without TensorFlow.
    import subprocess
    import sys

    code = stage_code("replay")
    assert "bloomtune/tuning/protocol.py" in code
    assert not [c for c in code if c.startswith(("bloomtune/training/", "bloomtune/data/dataset"))
                or c.endswith("keras_evaluator.py")], code  # fmt: skip
    from conftest import ROOT

    probe = (
        "import sys; import bloomtune.replay.search; from bloomtune.tuning.frameworks "
        "import framework; framework('optuna').adapter(); print('tensorflow' in sys.modules)"
    )

    said = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True).stdout  # fmt: skip
    assert said.strip() == "False"
