"""Which jobs a Slurm partition can never start: each job's request (threads from the
profile's set-threads, memory, wall time and GPUs from its resources, as the dry run lists
them) against the largest node of its partition (`sinfo`). Slurm itself would leave such a
job pending for ever (Reason=PartitionConfig) and the run would wait with it, saying nothing."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from bloomtune.errors import UserError

SINFO_S = 20


@dataclass(frozen=True)
class Partition:
    name: str
    default: bool
    cpus: int
    memory_mb: int
    gpus: int
    time_limit_min: float  # inf: none


def _minutes(text: str) -> float:
    """Slurm's time format ([days-]hours:minutes:seconds, minutes:seconds, minutes) in
    minutes; 'infinite' and 'UNLIMITED' are no limit."""
    if text.lower() in ("infinite", "unlimited", "n/a"):
        return float("inf")
    days, _, rest = text.rpartition("-")
    parts = [int(p) for p in rest.split(":")]
    if len(parts) == 3:
        hours, minutes, seconds = parts
    elif len(parts) == 2:
        hours, (minutes, seconds) = 0, parts
    else:
        hours, minutes, seconds = 0, parts[0], 0
    return (int(days or 0) * 24 + hours) * 60 + minutes + seconds / 60


def parse_sinfo(text: str) -> dict[str, Partition]:
    """`sinfo -h -o '%P|%c|%m|%G|%l'` (one line per partition and node kind): each
    partition's largest node."""
    found: dict[str, Partition] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, cpus, memory, gres, limit = line.split("|")
        default = name.endswith("*")
        name = name.rstrip("*")
        gpus = sum(int(m[1] or 1) for m in re.finditer(r"gpu(?::[\w.-]+)?(?::(\d+))?", gres))
        node = Partition(name, default, int(cpus.rstrip("+")), int(memory.rstrip("+")), gpus,
                         _minutes(limit))  # fmt: skip
        if name in found:
            old = found[name]
            node = Partition(name, default or old.default, max(node.cpus, old.cpus),
                             max(node.memory_mb, old.memory_mb), max(node.gpus, old.gpus),
                             max(node.time_limit_min, old.time_limit_min))  # fmt: skip
        found[name] = node
    return found


def sinfo() -> dict[str, Partition]:
    try:
        result = subprocess.run(["sinfo", "-h", "-o", "%P|%c|%m|%G|%l"], capture_output=True,
                                text=True, timeout=SINFO_S)  # fmt: skip
    except FileNotFoundError:
        raise UserError("sinfo: not found (is this a Slurm login node?)") from None
    except subprocess.TimeoutExpired:
        raise UserError(f"sinfo did not answer in {SINFO_S} s (is slurmctld up?)") from None
    if result.returncode != 0:
        raise UserError(f"sinfo failed: {' '.join(result.stderr.split())}")
    return parse_sinfo(result.stdout)


def profile_threads(profile: str) -> dict[str, int]:
    path = Path(profile) / "config.yaml"
    config = yaml.safe_load(path.read_text()) or {}
    return {rule: int(n) for rule, n in (config.get("set-threads") or {}).items()}


def unfit(jobs, partitions: dict[str, Partition], threads: dict[str, int]) -> list[str]:
    """One line per rule (and partition) whose jobs no node can take, naming what is over."""
    default = next((p for p in partitions.values() if p.default), None)
    said = {}
    for job in jobs:
        wanted = job.resources.get("slurm_partition") or ""
        partition = partitions.get(wanted) if wanted else default
        if partition is None:
            said[(job.rule, wanted)] = f"{job.rule}: partition {wanted or '(default)'} not found"
            continue
        over = []
        if job.rule in threads and threads[job.rule] > partition.cpus:
            over.append(f"{threads[job.rule]} threads > {partition.cpus} CPUs")
        mem = float(job.resources.get("mem_mb", 0) or 0)
        if mem > partition.memory_mb:
            over.append(f"mem_mb {mem:.0f} > {partition.memory_mb} MB")
        runtime = float(job.resources.get("runtime", 0) or 0)
        if runtime > partition.time_limit_min:
            over.append(
                f"runtime {runtime:.0f} min > the {partition.time_limit_min:.0f} min limit"
            )
        gpus = int(float(job.resources.get("gpu", 0) or 0))
        if gpus > partition.gpus:
            over.append(f"{gpus} GPUs > {partition.gpus}")
        if over:
            said[(job.rule, partition.name)] = (
                f"{job.rule} (partition {partition.name}): {'; '.join(over)}"
            )
    return list(said.values())


def check_requests(jobs, profile: str) -> str:
    partitions = sinfo()
    lines = unfit(jobs, partitions, profile_threads(profile))
    if not lines:
        names = ", ".join(sorted(partitions))
        return f"slurm: every job's request fits a node of its partition ({names})"
    return "\n".join(["slurm: these jobs can never start (Slurm would keep them pending):"]
                     + [f"  {line}" for line in lines])  # fmt: skip
