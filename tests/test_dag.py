"""The Snakefile and dvc.yaml describe the same DAG: stages, commands, deps, outs and params."""

from __future__ import annotations

from conftest import snakemake
from dag import dvc_stages, parse_snakemake_dry_run, snakemake_jobs

from bloomtune.params import load_params, stage_sections


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def test_snakefile_and_dvc_yaml_define_the_same_dag(project):
    jobs = snakemake_jobs(project, ["--forceall"])
    stages = dvc_stages(project)
    assert sorted(jobs) == sorted(stages)
    tuners = load_params([project / "params.yaml"])["tuners"]
    assert len(tuners) == 5
    assert len(stages) == 2 + 4 * len(tuners) + 1  # download, standardise, 4 per tuner, report
    for name, stage in stages.items():
        job = jobs[name]
        assert job["cmd"] == stage["cmd"], name
        assert sorted(job["output"]) == sorted(stage["outs"]), name
        # Every Snakemake input is a DVC dep (or lies in a DVC dep folder), and every DVC dep
        # covers at least one Snakemake input.
        for path in job["input"]:
            assert _covered(path, stage["deps"]), f"{name}: {path} is not a dvc.yaml dep"
        for dep in stage["deps"]:
            assert any(_covered(p, [dep]) for p in job["input"]), f"{name}: {dep} not an input"
        stage_name, _, tuner = name.partition("@")
        assert sorted(stage["params"]) == sorted(stage_sections(stage_name, tuner or None)), name


def test_dag_check_notices_a_differing_command():
    text = (
        "rule tune:\n    input: a\n    output: b\n    wildcards: tuner=x\n"
        "Shell command: python scripts/tune.py --tuner x\n\n"
    )
    jobs = parse_snakemake_dry_run(text)
    assert jobs["tune@x"]["cmd"] == "python scripts/tune.py --tuner x"
    assert jobs["tune@x"]["output"] == ["b"]


def test_snakemake_lint_is_clean(project):
    result = snakemake(["--lint"], project, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr
