"""The tuning objective: which way is better, and the best epoch of a history (the one place
that knows; everything else asks here)."""

from __future__ import annotations

import math

OBJECTIVES = {"val_accuracy": "max", "val_loss": "min"}


def direction(objective_or_way: str) -> str:
    """ "max" or "min": an objective's (val_accuracy, val_loss) or a way already given."""
    if objective_or_way in ("max", "min"):
        return objective_or_way
    return OBJECTIVES[objective_or_way]


def higher_is_better(objective_or_way: str) -> bool:
    return direction(objective_or_way) == "max"


def sign(objective_or_way: str) -> int:
    """+1 where higher is better, -1 where lower is: sign * value is then to be maximised."""
    return 1 if higher_is_better(objective_or_way) else -1


def optuna_direction(objective: str) -> str:
    return "maximize" if higher_is_better(objective) else "minimize"


def is_better(score: float, best: float | None, objective: str) -> bool:
    """`score` strictly beats `best` (anything beats None)."""
    return best is None or sign(objective) * score > sign(objective) * best


def best_epoch_of(history: list[dict], objective: str) -> dict | None:
    """The epoch record where the objective peaks (earliest on ties), or None if there is none."""
    scored = [h for h in history if h.get(objective) is not None and math.isfinite(h[objective])]
    if not scored:
        return None
    way = sign(objective)
    return max(scored, key=lambda h: (way * h[objective], -h["epoch"]))


def nothing_yet(objective: str, scores) -> float:
    """What a search counts as having scored before its first scored trial ends, in every
    any-time view (the any-time score and the ranks at each budget fraction): the measure's worst
    value, 0 for an accuracy; for a loss, which has no worst, the worst of `scores` (every trial
    the compared searches scored), so that nothing yet is never better than something."""
    if objective.endswith("accuracy"):
        return 0.0
    finite = [float(s) for s in scores if s is not None and math.isfinite(float(s))]
    worst = max if not higher_is_better(objective) else min
    return worst(finite) if finite else math.nan
