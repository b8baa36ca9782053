"""The common trial ledger: one row per trial, the same columns for every tuner, kept in an
append-only journal or in memory; the best trial of a search and its best-so-far curve."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from bloomtune.objective import higher_is_better, is_better
from bloomtune.stopwatch import utc_now

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
        "curve",
    ]


def curve_text(history: list[dict], objective: str) -> str:
    """A trial's objective at every epoch it trained, as `epoch:value` pairs ("1:0.25 2:0.31";
    a continued trial's start at its first epoch, not 1): what a replay's fidelity is measured
    on, epoch by epoch."""
    return " ".join(f"{h['epoch']}:{_number(h.get(objective))}" for h in history)


def _number(value) -> str:
    return "nan" if value is None else repr(float(value))


def curve_values(text) -> dict[int, float]:
    """A ledger row's curve read back: epoch -> objective (empty for a row without one)."""
    if not isinstance(text, str) or not text.strip():
        return {}
    pairs = (item.split(":") for item in text.split())
    return {int(epoch): float(value) for epoch, value in pairs}


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
        history: list[dict] = (),
    ) -> dict:
        """A ledger row; `best` is the epoch record where the objective peaked, if any;
        `peak_rss_mb` the process's peak memory when the trial ended (None: not measured);
        `history` the epochs it trained (its curve)."""
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
            "start_time": start_time or utc_now(),
            "end_time": utc_now(),
            "wall_s": round(wall_s, 3),
            "cpu_s": round(cpu_s, 3),
            "overhead_s": round(overhead_s, 3),
            "peak_rss_mb": peak_rss_mb,
            "failure_reason": " ".join(reason.split())[:300] if status == "failed" else "",
            "curve": curve_text(history, self.objective),
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


def ledger_frame(rows: list[dict], hp_names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=ledger_columns(hp_names))
    return frame.sort_values("trial", kind="stable").reset_index(drop=True)


def best_row(rows: list[dict], objective: str) -> dict | None:
    """The search's best trial so far: the first row with the best score (a failed row has
    none)."""
    best = None
    for row in rows:
        if row["status"] != "failed" and row["score"] is not None:
            if best is None or is_better(row["score"], best["score"], objective):
                best = row
    return best


def best_so_far(trials: pd.DataFrame, objective: str) -> pd.DataFrame:
    """Cumulative epochs and wall seconds against the best score found so far, trial by trial."""
    ordered = trials.sort_values("trial")
    scores = ordered["score"].astype(float)
    if higher_is_better(objective):
        best = scores.fillna(-np.inf).cummax().replace(-np.inf, np.nan)
    else:
        best = scores.fillna(np.inf).cummin().replace(np.inf, np.nan)
    return pd.DataFrame(
        {
            "epochs": ordered["epochs_run"].cumsum().to_numpy(),
            "wall_s": ordered["wall_s"].cumsum().to_numpy(),
            "best": best.to_numpy(),
        }
    )
