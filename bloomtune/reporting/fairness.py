"""The fairness panel: the settings that must match for the runs to be comparable, per tuner, and
plain words for any that differ. Different repetition seeds are the design, not a difference, as
long as every tuner ran the same seeds (a paired comparison)."""

from __future__ import annotations

import pandas as pd

from bloomtune.machine import describe_kernels
from bloomtune.settings import workers_of
from bloomtune.space import SearchSpace

# Settings that must match across every run: label -> getter on best.json.
FAIRNESS = {
    "max trials": lambda b: b["settings"]["budget"]["max_trials"],
    "max epochs per trial": lambda b: b["settings"]["budget"]["max_epochs"],
    "max total epochs": lambda b: b["settings"]["budget"].get("max_total_epochs"),
    "timeout (s)": lambda b: b["settings"]["budget"].get("timeout_s"),
    # `auto` is resolved from the job's memory: tuners on machines of other sizes differ.
    "parameter limit": lambda b: (
        b.get("model_params_limit") or b["settings"]["budget"].get("max_model_params")
    ),
    "objective": lambda b: b["objective"],
    "batch size": lambda b: b["settings"]["train"]["batch_size"],
    "validation fraction": lambda b: b["settings"]["train"]["validation_fraction"],
    "validation images": lambda b: b["settings"]["validation_images"],
    # Both change the numbers (and the speed): 16-bit arithmetic, XLA's fused kernels.
    "mixed precision": lambda b: b["settings"]["train"].get("mixed_precision", False),
    "XLA": lambda b: b["settings"]["train"].get("jit_compile", False),
    "data seed": lambda b: b["settings"].get("data_seed"),
    # oneDNN's kernels follow the CPU's instruction set: their last bits differ between them.
    "CPU kernels": lambda b: describe_kernels(b["machine"]) if "machine" in b else "not recorded",
    # Trials run at once: a sequential optimiser then learns from fewer finished trials.
    "workers": lambda b: workers_of(b.get("options", {})),
    "search space": lambda b: SearchSpace.from_params(b["settings"]["search_space"]).describe(),
}


PARALLEL = (
    ": a tuner whose workers run trials at once chooses each from fewer finished trials than a "
    "sequential one, and its seconds are not a sequential search's"
)


NUMERICS = (
    ": 16-bit arithmetic or XLA's fused kernels give other numbers, and other speeds, than "
    "float32 TensorFlow kernels"
)
WHY = {"workers": PARALLEL, "mixed precision": NUMERICS, "XLA": NUMERICS, "CPU kernels": (
    ": kernels for another instruction set, or Eigen's instead of oneDNN's, round differently "
    "(docs/benchmarks.md: the trained weights differ)"
)}  # fmt: skip


def _one_or_range(values: list) -> object:
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:
        return distinct[0]
    if all(isinstance(v, int | float) for v in distinct):
        return f"{min(distinct)}–{max(distinct)}"
    return " | ".join(map(str, distinct))


def fairness(best: dict[tuple[str, int], dict]) -> tuple[pd.DataFrame, list[str]]:
    """Per-tuner settings over its runs ((tuner, seed) -> best.json) and the ways runs differ
    (empty: comparable)."""
    tuners = list(dict.fromkeys(tuner for tuner, _ in best))
    runs = {t: [b for (tuner, _), b in best.items() if tuner == t] for t in tuners}
    table = pd.DataFrame(
        {
            label: [_one_or_range([get(b) for b in runs[t]]) for t in tuners]
            for label, get in FAIRNESS.items()
        },
        index=tuners,
        dtype=object,
    )
    differences = []
    for label, get in FAIRNESS.items():
        if len({repr(get(b)) for b in best.values()}) > 1:
            listed = ", ".join(f"{t}: {v}" for t, v in table[label].items())
            why = WHY.get(label, "")
            differences.append(f"{label} differs ({listed}){why}")
    seeds = {t: sorted(seed for tuner, seed in best if tuner == t) for t in tuners}
    table["repetition seeds"] = [", ".join(map(str, seeds[t])) for t in tuners]
    if len({tuple(v) for v in seeds.values()}) > 1:
        listed = "; ".join(f"{t}: {', '.join(map(str, v))}" for t, v in seeds.items())
        differences.append(
            f"tuners ran different repetition seeds ({listed}), so runs are unpaired"
        )
    if "search space" not in " ".join(differences):
        table = table.drop(columns="search space")  # shown once beneath the table
    table["epochs consumed in tuning"] = [
        _one_or_range([b["totals"]["epochs_consumed"] for b in runs[t]]) for t in tuners
    ]
    return table, differences


def fairness_text(differences: list[str]) -> str:
    if not differences:
        return (
            "Every tuner searched the same space with the same budget, batch size, validation "
            "split, objective and data seed, and ran the same repetition seeds (repetition k of "
            "every tuner shares seed k; different seeds across repetitions are the design): the "
            "rows are comparable. Epochs consumed differ only by how each tuner spent that "
            "budget (pruning, Hyperband's short trials)."
        )
    return "The rows are not comparable: " + "; ".join(differences) + "."
