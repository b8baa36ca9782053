"""Read the jobs of both orchestrators in one shape: name -> command, inputs, outputs."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import snakemake


def parse_snakemake_dry_run(text: str) -> dict[str, dict]:
    """Jobs of `snakemake -n -p` output, named like DVC stages: rule, or rule@ and its wildcards'
    values joined by '-' (rule@tuner-seed for a tuner's repetition, tabulate@shard,
    replay@tuner)."""
    jobs: dict[str, dict] = {}
    current: dict | None = None
    for line in text.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):$", line):
            current = {"rule": match[1], "input": [], "output": [], "wildcards": {}, "cmd": ""}
            continue
        if current is None:
            continue
        if match := re.match(r"^\s+(input|output|wildcards): (.*)$", line):
            key, value = match[1], match[2]
            if key == "wildcards":
                current["wildcards"] = dict(p.split("=", 1) for p in value.split(", "))
            else:
                current[key] = [v.strip() for v in value.split(", ") if v.strip()]
        elif line.startswith("Shell command: ") or (line and not line.startswith((" ", "["))):
            if line.startswith("Shell command: "):
                current["cmd"] = " ".join(line[len("Shell command: ") :].split())
            if current["rule"] != "all":
                wildcards = current["wildcards"]
                name = current["rule"]
                if wildcards:
                    name += "@" + "-".join(wildcards.values())
                jobs[name] = current
            current = None
    return jobs


def snakemake_jobs(cwd: Path, extra: list[str] = ()) -> dict[str, dict]:
    result = snakemake(["-n", "-p", "--cores", "2", *extra], cwd)
    return parse_snakemake_dry_run(result.stdout + result.stderr)


# DVC cannot make a stage conditional, so the replay's stages are expanded over the one-element
# list replay.tables ([grid]); the element is in their names (tabulate@grid-1), not Snakemake's.
GATE = re.compile(r"@grid(?:-|$)")


def dvc_stages(cwd: Path) -> dict[str, dict]:
    """Expanded dvc.yaml stages: command, file deps, params keys and outs (named as in
    parse_snakemake_dry_run)."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    stages = {}
    with Repo(str(cwd)) as repo:
        for stage in repo.index.stages:
            params = [p for d in stage.deps if isinstance(d, ParamsDependency) for p in d.params]
            stages[GATE.sub("@", stage.name).rstrip("@")] = {
                "cmd": " ".join(stage.cmd.split()),
                "deps": [d.def_path for d in stage.deps if not isinstance(d, ParamsDependency)],
                "params": params,
                "outs": [o.def_path for o in stage.outs],
            }
    return stages


def _covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def dag_differences(jobs: dict[str, dict], stages: dict[str, dict], sections) -> list[str]:
    """Every way the Snakemake jobs and the DVC stages disagree (empty: the same DAG).

    `sections(stage, tuner)` gives the params keys a stage must declare."""
    problems = []
    if sorted(jobs) != sorted(stages):
        problems.append(f"jobs {sorted(set(jobs) ^ set(stages))} are in one orchestrator only")
    for name in sorted(set(jobs) & set(stages)):
        job, stage = jobs[name], stages[name]
        if job["cmd"] != stage["cmd"]:
            problems.append(f"{name}: commands differ:\n  {job['cmd']}\n  {stage['cmd']}")
        if sorted(job["output"]) != sorted(stage["outs"]):
            problems.append(f"{name}: outputs differ: {job['output']} vs {stage['outs']}")
        # Every Snakemake input is a DVC dep (or lies in a DVC dep folder), and every DVC dep
        # covers at least one Snakemake input.
        for path in job["input"]:
            if not _covered(path, stage["deps"]):
                problems.append(f"{name}: {path} is not a dvc.yaml dep")
        for dep in stage["deps"]:
            if not any(_covered(p, [dep]) for p in job["input"]):
                problems.append(f"{name}: {dep} is not a Snakemake input")
        stage_name = name.partition("@")[0]
        tuner = job["wildcards"].get("tuner")
        if sorted(stage["params"]) != sorted(sections(stage_name, tuner)):
            problems.append(f"{name}: params {stage['params']} are not the declared sections")
    return problems
