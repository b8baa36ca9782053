"""The common trial ledger: one row per trial, the same columns for every tuner."""

from __future__ import annotations

import json
import math
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import keras
import pandas as pd

from bloomtune.runtime import peak_rss_mb
from bloomtune.settings import OBJECTIVES

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


def best_epoch_of(history: list[dict], objective: str) -> dict | None:
    """The epoch record where the objective peaks (earliest on ties), or None if there is none."""
    scored = [h for h in history if h.get(objective) is not None and math.isfinite(h[objective])]
    if not scored:
        return None
    sign = 1 if OBJECTIVES[objective] == "max" else -1
    return max(scored, key=lambda h: (sign * h[objective], -h["epoch"]))


def is_better(score: float, best: float | None, objective: str) -> bool:
    if best is None:
        return True
    return score > best if OBJECTIVES[objective] == "max" else score < best


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class TrialRecorder(keras.callbacks.Callback):
    """Records every trial of one search into an append-only journal (JSON lines).

    Used as a Keras callback for per-epoch values; the same instance serves every trial. The
    journal survives a crash: written rows are kept. Several worker processes may append to it;
    each reads what the others added since its last look (the budget is checked every epoch)."""

    def __init__(self, tuner: str, objective: str, hp_names: list[str], journal: Path, log):
        super().__init__()
        self.tuner, self.objective, self.hp_names = tuner, objective, hp_names
        self.journal, self.log = Path(journal), log
        self.total_trials: int | None = None
        self.current: dict | None = None
        self._rows: list[dict] = []
        self._read = 0  # bytes of the journal read so far
        self.sink = self.append  # where a finished row goes (a shared budget adds its lock)

    def rows(self) -> list[dict]:
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

    def begin(self, trial: int, hp: dict, overhead_s: float = 0.0) -> None:
        """Start timing trial `trial`; `overhead_s` is what the search spent outside training
        since this process's previous trial (the optimiser's suggestion and update)."""
        self.current = {
            "overhead_s": overhead_s,
            "trial": int(trial),
            "hp": {k: hp.get(k) for k in self.hp_names},
            "history": [],
            "start_time": _now(),
            "wall0": time.perf_counter(),
            "cpu0": time.process_time(),
        }

    def on_epoch_end(self, epoch, logs=None):
        if self.current is None:
            return
        logs = logs or {}
        self.current["history"].append(
            {
                "epoch": epoch + 1,
                "val_accuracy": _float(logs.get("val_accuracy")),
                "val_loss": _float(logs.get("val_loss")),
                "loss": _float(logs.get("loss")),
            }
        )

    @property
    def current_history(self) -> list[dict]:
        return self.current["history"] if self.current else []

    @property
    def current_cpu_s(self) -> float:
        return time.process_time() - self.current["cpu0"] if self.current else 0.0

    def end(self, status: str, reason: str = "") -> dict:
        """Close the current trial with its status and append its ledger row."""
        cur, self.current = self.current, None
        best = best_epoch_of(cur["history"], self.objective)
        losses = [h["loss"] for h in cur["history"]]
        if status == "complete" and (
            best is None or any(x is not None and not math.isfinite(x) for x in losses)
        ):
            status, reason = "failed", reason or "NaN or infinite loss"
        row = self.closed_row(
            cur["trial"],
            cur["hp"],
            status,
            reason,
            best=best,
            epochs_run=len(cur["history"]),
            start_time=cur["start_time"],
            wall_s=time.perf_counter() - cur["wall0"],
            cpu_s=time.process_time() - cur["cpu0"],
            overhead_s=cur["overhead_s"],
            peak_rss_mb=peak_rss_mb(),
        )
        self.sink(row)
        return row

    def closed_row(
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
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with open(self.journal, "ab") as fh:  # one write of a whole line: appends never mix
            fh.write((json.dumps(row) + "\n").encode())
            fh.flush()
            os.fsync(fh.fileno())
        self._progress(row)

    def _progress(self, row: dict) -> None:
        rows = self.rows()
        scores = [r["score"] for r in rows if r["score"] is not None]
        best = None
        for s in scores:
            best = s if is_better(s, best, self.objective) else best
        elapsed = sum(r["wall_s"] for r in rows)
        score = "-" if row["score"] is None else f"{row['score']:.4f}"
        best_text = "-" if best is None else f"{best:.4f}"
        total = self.total_trials or "?"
        reason = f" ({row['failure_reason']})" if row["failure_reason"] else ""
        self.log.info(
            "%s trial %d/%s %s%s score %s best %s epochs %d elapsed %s",
            self.tuner,
            len(rows),
            total,
            row["status"],
            reason,
            score,
            best_text,
            row["epochs_run"],
            _clock(elapsed),
        )


def _float(value) -> float | None:
    return None if value is None else float(value)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


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
