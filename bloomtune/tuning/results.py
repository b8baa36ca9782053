"""A finished search's files, live or replayed: trials.csv (its ledger) and best.json (its best
trial's configuration and score, its totals, its settings and what its stage adds)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bloomtune.errors import TuningError
from bloomtune.files import atomic_path, write_json
from bloomtune.model_settings import TuneSettings
from bloomtune.tuning.ledger import STATUSES, best_row, ledger_frame


def totals(rows: list[dict]) -> dict:
    """A search's totals, from its ledger rows."""
    return {
        "trials": len(rows),
        **{status: sum(r["status"] == status for r in rows) for status in STATUSES},
        "epochs_consumed": sum(r["epochs_run"] for r in rows),
        "wall_s": round(sum(r["wall_s"] for r in rows), 3),
        "cpu_s": round(sum(r["cpu_s"] for r in rows), 3),
        "overhead_s": round(sum(r.get("overhead_s", 0.0) for r in rows), 3),
    }


def check_budget(name: str, rows: list[dict], budget) -> None:
    """A search may pass its epoch budget only inside its last trial (the budget stops a trial at
    an epoch boundary); more than that means the budget did not hold, and no result is written."""
    if not budget.max_total_epochs or not rows:
        return
    consumed = sum(r["epochs_run"] for r in rows)
    last = max(rows, key=lambda r: r["end_time"])["epochs_run"]
    if consumed - budget.max_total_epochs > last:
        raise TuningError(
            f"{name}: consumed {consumed} epochs, over tuning.max_total_epochs "
            f"({budget.max_total_epochs}) by more than its last trial ({last})"
        )


def write_results(
    settings: TuneSettings,
    rows: list[dict],
    out_dir: Path,
    facts: Callable[[dict], dict],
    settings_facts: dict | None = None,
) -> dict:
    """Write `out_dir`/trials.csv and `out_dir`/best.json of a finished search; return best.json's
    content. TuningError, and nothing written, if every trial failed or the epoch budget did not
    hold. best.json: the tuner, its options, the objective, the best score and trial, the best
    trial's hyperparameters, what `facts(best_row)` adds (the stage's own: a live search's model
    and machine, a replay's table record of the chosen configuration), the totals, and the
    settings (with `settings_facts` added: a live search's image counts)."""
    name, objective = settings.tuner.name, settings.budget.objective
    best = best_row(rows, objective)
    if best is None:
        reasons = sorted({r["failure_reason"] for r in rows if r["failure_reason"]})
        raise TuningError(
            f"{name}: every one of {len(rows)} trials failed"
            + (f" ({'; '.join(reasons)[:300]})" if reasons else "")
        )
    check_budget(name, rows, settings.budget)
    record = settings.record()
    result = {
        "tuner": name,
        "framework": settings.tuner.framework,
        "options": record.pop("tuner"),
        "objective": objective,
        "score": best["score"],
        "trial": best["trial"],
        "hyperparameters": {k: best[k] for k in settings.space.names},
        **facts(best),
        "totals": totals(rows),
        "settings": {**record, **(settings_facts or {})},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "trials.csv") as tmp:
        ledger_frame(rows, settings.space.names).to_csv(tmp, index=False)
    write_json(out_dir / "best.json", result)
    return result
