"""Optimiser overhead: the seconds a search spends outside training (its sampler's or oracle's
suggestions and updates, the framework's bookkeeping) beside the seconds its trials train.

Each ledger row's `overhead_s` is the time its process spent between its previous trial's end
(or the search's start) and this trial's start. A tuner's share is its overhead over overhead plus
training, pooled over its repetitions; one over LIMIT is flagged: its search time is then partly
the optimiser's own, which a larger model or data set would dilute."""

from __future__ import annotations

LIMIT = 0.05


def overhead_shares(runs) -> dict[str, float | None]:
    """tuner -> share of its search time spent outside training (None: a ledger from before
    overhead was recorded, or no time at all)."""
    spent: dict[str, dict] = {}
    for run in runs:
        entry = spent.setdefault(run.tuner, {"overhead": 0.0, "training": 0.0, "recorded": True})
        if "overhead_s" not in run.ledger:
            entry["recorded"] = False
            continue
        entry["overhead"] += float(run.ledger["overhead_s"].fillna(0).sum())
        entry["training"] += float(run.ledger["wall_s"].fillna(0).sum())
    return {
        tuner: e["overhead"] / (e["overhead"] + e["training"])
        if e["recorded"] and e["overhead"] + e["training"] > 0
        else None
        for tuner, e in spent.items()
    }


def overhead_text(shares: dict[str, float | None]) -> tuple[str, bool]:
    """The report's sentence on overhead, and whether any tuner is flagged."""
    known = {t: s for t, s in shares.items() if s is not None}
    if not known:
        return "Optimiser overhead was not recorded for these runs.", False
    listed = ", ".join(f"{t} {s:.1%}" for t, s in known.items())
    flagged = [t for t, s in known.items() if s > LIMIT]
    text = (
        "Share of each tuner's search time spent outside training (suggesting and updating, "
        f"bookkeeping), over all its repetitions: {listed}."
    )
    if flagged:
        text += (
            f" Over {LIMIT:.0%}: {', '.join(flagged)}; its search seconds are partly the "
            "optimiser's own, which a larger model or data set would make a smaller part."
        )
    return text, bool(flagged)
