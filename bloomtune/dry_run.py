"""The jobs `snakemake` would run now, from its dry run (`snakemake -n`)."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bloomtune.errors import UserError

DRY_RUN_S = 300  # a dry run that takes longer than this is stuck


@dataclass
class Job:
    rule: str
    wildcards: dict
    threads: int
    resources: dict


def pending_jobs(configfiles: list[str], profile: str | None = None, targets: list[str] = (),
                 everything: bool = False, cwd: Path | None = None) -> list[Job]:  # fmt: skip
    """The jobs `snakemake` would run now with these overlays (and profile) in the project at
    `cwd` (here by default), from its dry run (`everything`: as if nothing had run yet)."""
    command = [sys.executable, "-m", "snakemake", "-n", "--cores", "all", *targets]
    if everything:
        command.append("--forceall")
    if profile:
        command += ["--workflow-profile", profile]
    if configfiles:
        command += ["--configfile", *configfiles]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=DRY_RUN_S,
                                cwd=cwd)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise UserError(f"snakemake -n did not finish in {DRY_RUN_S} s") from None
    text = result.stdout + result.stderr
    if result.returncode != 0:
        last = [line for line in text.splitlines() if line.strip()][-3:]
        raise UserError("snakemake -n failed: " + " / ".join(last))
    return parse_dry_run(text)


def parse_dry_run(text: str) -> list[Job]:
    """Jobs of a `snakemake -n` listing (rule blocks with threads and resources)."""
    jobs, current = [], None
    for line in text.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):$", line):
            current = Job(match[1], {}, 1, {})
            jobs.append(current)
        elif current is not None and (match := re.match(r"^\s+(\w+): (.*)$", line)):
            key, value = match[1], match[2]
            if key == "wildcards":
                current.wildcards = dict(p.split("=", 1) for p in value.split(", "))
            elif key == "threads":
                current.threads = int(value)
            elif key == "resources":
                current.resources = dict(
                    p.split("=", 1) for p in re.split(r", (?=\w+=)", value) if "=" in p
                )
        elif line and not line.startswith(" "):
            current = None
    return [job for job in jobs if job.rule != "all"]
