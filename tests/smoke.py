"""What the pipeline tests share about config/smoke.yaml's run: its tuners, seed, job names and
paths, an overlay edit, and the modules whose edit reruns one stage."""

from __future__ import annotations

import yaml
from conftest import ROOT

from bloomtune.checks import load_params

TUNERS = list(load_params([ROOT / "params.yaml"])["tuners"])
PER_TUNER = ["tune", "best_epoch", "retrain", "evaluate"]
REPLAY_STAGES = {"tabulate", "table", "replay", "replay_report"}
SEED = load_params([ROOT / "params.yaml", ROOT / "config/smoke.yaml"])["seeds"][0]
SMOKE = ["--configfile", "config/smoke.yaml"]
# One module per stage that only that stage imports, and the stages after it.
EDITS = {
    "bloomtune/data/download.py": ("download", ["standardise", *PER_TUNER]),
    "bloomtune/data/standardise.py": ("standardise", PER_TUNER),
    "bloomtune/tuning/tune.py": ("tune", PER_TUNER[1:]),
    "bloomtune/training/best_epoch.py": ("best_epoch", PER_TUNER[2:]),
    "bloomtune/training/retrain.py": ("retrain", PER_TUNER[3:]),
    "bloomtune/evaluation/evaluate.py": ("evaluate", []),
    "bloomtune/reporting/live_page.py": ("report", []),
}


def run_name(stage: str, tuner: str, seed: int = SEED) -> str:
    """A repeated stage's job, as both orchestrators name it (DVC's matrix: stage@tuner-seed)."""
    return f"{stage}@{tuner}-{seed}"


def run_path(folder, tuner: str, suffix: str = "", seed: int = SEED):
    return folder / tuner / f"seed_{seed}{suffix}"


def jobs_of(stages) -> set[str]:
    return {run_name(s, t) if s in PER_TUNER else s for s in stages for t in TUNERS}


def edit(path, dotted: str, value) -> None:
    """Set one dotted key of a YAML file."""
    data = yaml.safe_load(path.read_text()) or {}
    node = data
    *parents, last = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
