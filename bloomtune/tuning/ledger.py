"""The common trial ledger: one row per trial, the same columns for every tuner, kept in an
append-only journal; the running trial's clock; the progress line each finished trial logs."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from bloomtune.errors import DataError, TuningError
from bloomtune.objective import is_better
from bloomtune.stopwatch import hms

STATUSES = ("complete", "pruned", "failed")


def ledger_columns(hp_names: list[str]) -> list[str]:
    return [
        "tuner",
        "trial",
        "status",
        *hp_names,
        "score",
        "val_accuracy",
        "val_loss",
        "best_epoch",
        "epochs_run",
        "start_time",
        "end_time",
        "wall_s",
        "cpu_s",
        "overhead_s",
        "peak_rss_mb",
        "failure_reason",
    ]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _is_record(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def repair_journal(path: Path) -> str | None:
    """Mend a JSON-lines journal (the ledger, Optuna's journal) whose last line a killed process
    cut short: that line is removed (its trial is then closed as interrupted), and what was done
    is returned for the log. A bad line before the last cannot be mended: DataError naming the
    file, the line and what to do. Call only while no process writes it (the search's lock);
    None when there was nothing to mend."""
    if not path.exists() or not path.stat().st_size:
        return None
    data = path.read_bytes()
    ends = data.endswith(b"\n")
    records = data.split(b"\n")[: -1 if ends else None]
    bad = [i for i, line in enumerate(records) if line.strip() and not _is_record(line)]
    if any(i < len(records) - 1 for i in bad):
        raise DataError(
            f"{path} line {bad[0] + 1}: not a JSON record, and not the last line, so it cannot "
            f"be mended; delete {path.parent} to start this search afresh"
        )
    if bad:
        keep = len(data) - len(records[-1]) - (1 if ends else 0)
        with open(path, "r+b") as fh:
            fh.truncate(keep)
        return (
            f"{path} line {len(records)} was cut short (the process was killed while writing "
            "it) and is removed; its trial is closed as interrupted"
        )
    if not ends:  # a whole record whose newline was not written yet
        with open(path, "ab") as fh:
            fh.write(b"\n")
        return f"{path} line {len(records)} lacked its newline; the record is kept"
    return None


class Ledger:
    """One search's ledger: its rows' format and the journal (JSON lines) that holds them.

    The journal survives a crash: written rows are kept. Several worker processes may append to
    it (one write of a whole line each); each reads what the others added since its last look.
    Without a journal (`None`: a replay, which has nothing to resume) the rows live in memory."""

    def __init__(self, tuner: str, objective: str, hp_names: list[str], journal: Path | None):
        self.tuner, self.objective, self.hp_names = tuner, objective, hp_names
        self.journal = None if journal is None else Path(journal)
        self._rows: list[dict] = []
        self._read = 0  # bytes of the journal read so far

    def rows(self) -> list[dict]:
        if self.journal is None:
            return list(self._rows)
        if self.journal.exists() and self.journal.stat().st_size > self._read:
            with open(self.journal, "rb") as fh:
                fh.seek(self._read)
                text = fh.read()
            complete = text[: text.rfind(b"\n") + 1]  # a line still being written waits
            self._rows += [json.loads(line) for line in complete.splitlines() if line.strip()]
            self._read += len(complete)
        return list(self._rows)

    def recorded_row(self, trial: int) -> dict | None:
        """The journal's row for `trial`, if it finished before (e.g. before a crash)."""
        return next((row for row in self.rows() if row["trial"] == int(trial)), None)

    def row(
        self,
        trial: int,
        hp: dict,
        status: str,
        reason: str,
        *,
        best: dict | None = None,
        epochs_run: int = 0,
        start_time: str | None = None,
        wall_s: float = 0.0,
        cpu_s: float = 0.0,
        overhead_s: float = 0.0,
        peak_rss_mb: float | None = None,
    ) -> dict:
        """A ledger row; `best` is the epoch record where the objective peaked, if any;
        `peak_rss_mb` the process's peak memory when the trial ended (None: not measured)."""
        return {
            "tuner": self.tuner,
            "trial": int(trial),
            "status": status,
            **{k: hp.get(k) for k in self.hp_names},
            "score": best[self.objective] if best and status != "failed" else None,
            "val_accuracy": best["val_accuracy"] if best else None,
            "val_loss": best["val_loss"] if best else None,
            "best_epoch": best["epoch"] if best else None,
            "epochs_run": epochs_run,
            "start_time": start_time or _now(),
            "end_time": _now(),
            "wall_s": round(wall_s, 3),
            "cpu_s": round(cpu_s, 3),
            "overhead_s": round(overhead_s, 3),
            "peak_rss_mb": peak_rss_mb,
            "failure_reason": " ".join(reason.split())[:300] if status == "failed" else "",
        }

    def append(self, row: dict) -> None:
        if self.journal is None:
            self._rows.append(row)
            return
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with open(self.journal, "ab") as fh:  # one write of a whole line: appends never mix
            fh.write((json.dumps(row) + "\n").encode())
            fh.flush()
            os.fsync(fh.fileno())


class TrialClock:
    """The running trial: its number, hyperparameters and epoch history, the seconds its epochs
    cost and the CPU seconds it has taken since it began. `overhead_s` is what the search spent
    outside training before it (the optimiser's suggestion and update)."""

    def __init__(self, trial: int, hp: dict, overhead_s: float = 0.0):
        self.trial, self.hp, self.overhead_s = int(trial), hp, overhead_s
        self.history: list[dict] = []
        self.start_time = _now()
        self._cpu0 = time.process_time()

    @property
    def epoch_s(self) -> float:
        """The seconds its evaluator reported for the epochs it ran (the trial's cost)."""
        return sum(float(h.get("seconds") or 0.0) for h in self.history)

    @property
    def cpu_s(self) -> float:
        return time.process_time() - self._cpu0


class Progress:
    """One log line per finished trial: its number (the ledger's), status and score, the best so
    far and its trial, then the budget spent (trials and epochs of their limits), the search's
    seconds so far and an ETA from the budget, whichever limit is nearer."""

    def __init__(self, tuner: str, objective: str, budget, log):
        self.tuner, self.objective, self.budget, self.log = tuner, objective, budget, log

    def trial_done(self, row: dict, rows: list[dict]) -> None:
        best = None
        for r in rows:
            if r["score"] is not None and is_better(r["score"], best and best["score"],
                                                    self.objective):  # fmt: skip
                best = r
        elapsed = sum(r["wall_s"] for r in rows)
        epochs = sum(r["epochs_run"] for r in rows)
        score = "-" if row["score"] is None else f"{row['score']:.4f}"
        best_text = "-" if best is None else f"{best['score']:.4f} (trial {best['trial']})"
        reason = f" ({row['failure_reason']})" if row["failure_reason"] else ""
        b = self.budget
        spent = [len(rows) / b.max_trials]
        epochs_text = f"epochs {epochs}"
        if b.max_total_epochs:
            spent.append(epochs / b.max_total_epochs)
            epochs_text += f"/{b.max_total_epochs}"
        share = min(1.0, max(spent))
        eta = hms(elapsed * (1 - share) / share) if 0 < share < 1 else "0m00s"
        self.log.info(
            "%s trial %d %s%s score %s best %s | trials %d/%d, %s, elapsed %s, ETA %s",
            self.tuner,
            row["trial"],
            row["status"],
            reason,
            score,
            best_text,
            len(rows),
            b.max_trials,
            epochs_text,
            hms(elapsed),
            eta,
        )


def ledger_frame(rows: list[dict], hp_names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=ledger_columns(hp_names))
    return frame.sort_values("trial", kind="stable").reset_index(drop=True)


def summarise(rows: list[dict], objective: str) -> dict:
    """Best trial and totals of a search, from its ledger rows."""
    best = None
    for row in rows:
        if row["status"] != "failed" and row["score"] is not None:
            if best is None or is_better(row["score"], best["score"], objective):
                best = row
    totals = {
        "trials": len(rows),
        **{status: sum(r["status"] == status for r in rows) for status in STATUSES},
        "epochs_consumed": sum(r["epochs_run"] for r in rows),
        "wall_s": round(sum(r["wall_s"] for r in rows), 3),
        "cpu_s": round(sum(r["cpu_s"] for r in rows), 3),
        "overhead_s": round(sum(r.get("overhead_s", 0.0) for r in rows), 3),
    }
    return {"best": best, "totals": totals}


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


def search_record(settings, rows: list[dict]) -> tuple[dict, dict, dict]:
    """A finished search's best row, its totals and the start of its best.json (tuner, options,
    objective, best score and trial); TuningError if every trial failed or the epoch budget did
    not hold. Live and replayed searches (replay/search.py) both write theirs from it."""
    name, objective = settings.tuner.name, settings.budget.objective
    summary = summarise(rows, objective)
    if summary["best"] is None:
        reasons = sorted({r["failure_reason"] for r in rows if r["failure_reason"]})
        raise TuningError(
            f"{name}: every one of {len(rows)} trials failed"
            + (f" ({'; '.join(reasons)[:300]})" if reasons else "")
        )
    best, totals = summary["best"], summary["totals"]
    check_budget(name, rows, settings.budget)
    record = settings.record()
    result = {
        "tuner": name,
        "framework": settings.tuner.framework,
        "options": record.pop("tuner"),
        "objective": objective,
        "score": best["score"],
        "trial": best["trial"],
        "settings": record,
    }
    return best, totals, result
