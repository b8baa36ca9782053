"""Read the jobs of both orchestrators in one shape: name -> command, inputs, outputs."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import snakemake


def parse_snakemake_dry_run(text: str) -> dict[str, dict]:
    """Jobs of `snakemake -n -p` output, named like DVC stages (rule or rule@tuner)."""
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
                tuner = current["wildcards"].get("tuner")
                name = f"{current['rule']}@{tuner}" if tuner else current["rule"]
                jobs[name] = current
            current = None
    return jobs


def snakemake_jobs(cwd: Path, extra: list[str] = ()) -> dict[str, dict]:
    result = snakemake(["-n", "-p", "--cores", "2", *extra], cwd)
    return parse_snakemake_dry_run(result.stdout + result.stderr)


def dvc_stages(cwd: Path) -> dict[str, dict]:
    """Expanded dvc.yaml stages: command, file deps, params keys and outs."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    stages = {}
    with Repo(str(cwd)) as repo:
        for stage in repo.index.stages:
            params = [p for d in stage.deps if isinstance(d, ParamsDependency) for p in d.params]
            stages[stage.name] = {
                "cmd": " ".join(stage.cmd.split()),
                "deps": [d.def_path for d in stage.deps if not isinstance(d, ParamsDependency)],
                "params": params,
                "outs": [o.def_path for o in stage.outs],
            }
    return stages
