"""The report's check of its own independence assumption: every test, interval and Bayesian
result treats a tuner's repetitions as independent draws, which they are not if two repetitions'
optimisers walk the same random stream shifted (Keras Tuner's seed advances by one per sampled
hyperparameter, so consecutive seeds once made overlapping copies). Per tuner: the share of its
trials whose configuration also occurs, at any position, in another of its repetitions; the share
that sit in a run of two or more consecutive, not all equal, configurations that another
repetition also tried in that order (at any shift: the mark of a shared stream); and what
independent uniform draws from a space of `size` configurations would give for each."""

from __future__ import annotations

import math

import pandas as pd

# Flagged: more than this share of a tuner's trials in shared runs, and more than RATIO times
# what independent uniform draws would give. An optimiser that converges repeats configurations
# (the first share), not sequences of different ones.
RUN_SHARE_FLAG = 0.1
RATIO = 3.0


def _value(value):
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.12g}")
    return value


def configurations(ledger: pd.DataFrame, names: list[str]) -> list[tuple]:
    """A ledger's configurations in trial order (floats to 12 significant digits, an inactive
    dimension as None)."""
    ordered = ledger.sort_values("trial")
    present = [n for n in names if n in ordered]
    return [tuple(_value(v) for v in row) for row in ordered[present].itertuples(index=False)]


def _pairs(sequence: list[tuple]) -> set[tuple[tuple, tuple]]:
    return {(a, b) for a, b in zip(sequence, sequence[1:], strict=False) if a != b}


def overlap(repetitions: list[list[tuple]], size: float) -> dict:
    """One tuner's repetitions (each its configurations in trial order) against each other;
    `size`: the number of configurations the space holds (math.inf with a continuous
    dimension)."""
    trials = shared = in_run = 0
    expected = expected_run = 0.0
    sets = [set(r) for r in repetitions]
    pairs = [_pairs(r) for r in repetitions]
    for i, mine in enumerate(repetitions):
        others = [j for j in range(len(repetitions)) if j != i]
        elsewhere = set().union(*(sets[j] for j in others))
        paired = set().union(*(pairs[j] for j in others))
        # Uniform independent draws: a configuration is in another repetition of m distinct
        # ones with probability m / size; a given ordered pair among its L - 1 with about
        # (L - 1) / size^2, and a trial has two pairs that could place it in a run.
        miss = math.prod(1 - min(1.0, len(sets[j]) / size) for j in others)
        miss_run = math.prod(
            1 - min(1.0, 2 * max(len(repetitions[j]) - 1, 0) / size**2) for j in others
        )
        for k, config in enumerate(mine):
            trials += 1
            shared += config in elsewhere
            before = k > 0 and (mine[k - 1], config) in paired
            after = k + 1 < len(mine) and (config, mine[k + 1]) in paired
            in_run += before or after
            expected += 1 - miss
            expected_run += 1 - miss_run
    if not trials:
        nothing = {k: math.nan for k in ("share", "expected_share", "run_share")}
        return {"trials": 0, **nothing, "expected_run_share": math.nan, "flagged": False}
    run_share, expected_run_share = in_run / trials, expected_run / trials
    return {
        "trials": trials,
        "share": shared / trials,
        "expected_share": expected / trials,
        "run_share": run_share,
        "expected_run_share": expected_run_share,
        "flagged": run_share > RUN_SHARE_FLAG and run_share > RATIO * expected_run_share,
    }


def independence(runs, names: list[str], size: float) -> dict[str, dict]:
    """Per tuner (in the runs' order): overlap of its repetitions' ledgers."""
    grouped: dict[str, list] = {}
    for run in runs:
        grouped.setdefault(run.tuner, []).append(configurations(run.ledger, names))
    return {tuner: overlap(reps, size) for tuner, reps in grouped.items()}


def flagged_text(found: dict[str, dict]) -> str | None:
    """The headline's warning where a tuner's repetitions share runs of trials; else None."""
    flagged = [t for t, f in found.items() if f["flagged"]]
    if not flagged:
        return None
    said = ", ".join(f"{t} {found[t]['run_share']:.0%}" for t in flagged)
    return (
        f"Warning: the repetitions are not independent for {', '.join(flagged)}: that share of "
        f"their trials ({said}) repeats a run of configurations another repetition tried in the "
        "same order, far more than independent draws would; their tests and intervals are "
        "overconfident."
    )


def describe(found: dict[str, dict], size: float) -> str:
    space = (
        "a continuous dimension, so independent draws practically never coincide"
        if math.isinf(size)
        else f"{size:,.0f} configurations"
    )
    return (
        "Independent repetitions, checked: every test, interval and Bayesian result here assumes "
        "a tuner's repetitions are independent. Per tuner: the share of its trials whose "
        "configuration occurs in another of its repetitions (at any position), and the share "
        "in a run of two or more consecutive, different configurations that another repetition "
        "tried in the same order (a shared random stream, at any shift), each beside what "
        f"independent uniform draws from the space would give (it has {space}). An optimiser "
        "that homes in on good configurations raises the first share by design; the second is "
        f"flagged above {RUN_SHARE_FLAG:.0%} and {RATIO:g} times the independent value. Tuners of "
        "one framework share each repetition's seed on purpose (common random numbers), so "
        "their first trials may coincide; that is not checked here."
    )


def table(found: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for tuner, f in found.items():
        rows.append({
            "tuner": tuner,
            "trials": str(f["trials"]),
            "in another repetition": f"{f['share']:.1%}",
            "expected if independent": f"{f['expected_share']:.1%}",
            "in a shared run": f"{f['run_share']:.1%}",
            "expected in a run if independent": f"{f['expected_run_share']:.1%}",
            "flagged": "yes" if f["flagged"] else "",
        })  # fmt: skip
    return pd.DataFrame(rows)


def aggregates(found: dict[str, dict]) -> dict[str, dict]:
    """aggregates.json's `independence`: the shares per tuner, rounded."""
    return {
        tuner: {k: (round(v, 6) if isinstance(v, float) else v) for k, v in f.items()}
        for tuner, f in found.items()
    }
