"""A search's budget, shared by every process that runs its trials.

Finished trials are the ledger journal's rows; running ones are entries in `running.json` beside
it, one per worker: its trial, the epochs it has finished and when it began. Both change only
under one lock, so N workers together never pass the budget: a worker takes a trial slot before
asking for a trial, and an epoch before training it (each running trial holds the epoch it is
training). With one worker the decisions are exactly those of a plain sequential search.
A replay's budget (`shared=False`: one process, nothing to resume) keeps the entries in memory
and decides the same."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from bloomtune.model_settings import Budget
from bloomtune.tuning.ledger import Ledger

RUNNING = "running.json"


class SharedBudget:
    def __init__(self, budget: Budget, ledger: Ledger, folder: Path, worker: int = 0,
                 shared: bool = True):  # fmt: skip
        self.budget, self.ledger, self.worker = budget, ledger, str(worker)
        self.folder = Path(folder)
        self.path = self.folder / RUNNING
        self.memory: dict | None = None if shared else {}

    @contextlib.contextmanager
    def locked(self):
        """The running entries, under the lock; changes to the dict are written back."""
        if self.memory is not None:
            yield self.memory
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "budget.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                running = json.loads(self.path.read_text()) if self.path.exists() else {}
                before = json.dumps(running, sort_keys=True)
                yield running
                if json.dumps(running, sort_keys=True) != before:
                    tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
                    tmp.write_text(json.dumps(running))
                    os.replace(tmp, self.path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def clear(self) -> None:
        """Forget entries a stopped run left behind (its workers are gone: the caller holds the
        search's lock)."""
        if self.memory is not None:
            self.memory.clear()
        self.path.unlink(missing_ok=True)

    def close_stale(self, reason: str) -> list[dict]:
        """Record failed every trial a stopped run's processes left running, with the epochs,
        CPU and training seconds they had spent by their last epoch (the budget counts them),
        then forget their slots. The caller holds the search's lock: those processes are gone."""
        with self.locked() as running:
            workers = list(running)
        rows = [row for worker in workers for row in self.reap(worker, reason, stale=True)]
        self.clear()
        return rows

    def _spent(self, running: dict, own_epochs: int | None = None) -> tuple[int, int, float]:
        """Trials, epochs and seconds spent or held: finished rows plus running entries (each
        running trial holds the epoch it is training); `own_epochs` replaces this worker's."""
        rows, now = self.ledger.rows(), time.time()
        trials = len(rows) + len(running)
        epochs = sum(r["epochs_run"] for r in rows)
        wall = sum(r["wall_s"] for r in rows)
        for worker, entry in running.items():
            if entry["trial"] is None:
                continue
            if worker == self.worker and own_epochs is not None:
                epochs += own_epochs
            else:
                epochs += entry["epochs"] + 1
            wall += now - entry["started"]
        return trials, epochs, wall

    def _reason(self, trials: int, epochs: int, wall: float, *, new_trial: bool) -> str | None:
        b = self.budget
        if new_trial and trials >= b.max_trials:
            return f"max_trials ({b.max_trials})"
        if b.max_total_epochs and epochs >= b.max_total_epochs:
            return f"max_total_epochs ({b.max_total_epochs})"
        if b.timeout_s and wall >= b.timeout_s:
            return f"timeout_s ({b.timeout_s})"
        return None

    def exhausted(self) -> str | None:
        """Which limit the search has reached, counting every worker's running trial."""
        with self.locked() as running:
            others = {k: v for k, v in running.items() if k != self.worker}
            return self._reason(*self._spent(others), new_trial=True)

    def reserve(self, take: Callable[[], int] | None = None) -> str | None:
        """Take a trial slot for this worker, or say which limit leaves none. `take`, called
        under the lock, starts the trial and returns its number (Optuna's ask), so that no
        trial exists that the budget does not know of."""
        with self.locked() as running:
            if self.worker in running:
                return None  # still holds the slot it took (Keras Tuner's oracle was busy)
            trials, epochs, wall = self._spent(running)
            reason = self._reason(trials, epochs, wall, new_trial=True)
            if reason is None:
                entry = {"trial": None, "pid": os.getpid(), "epochs": 0}
                if take is not None:
                    entry.update(trial=int(take()), started=time.time())
                running[self.worker] = entry
            return reason

    def release(self) -> None:
        """Give back a slot no trial used (the oracle handed out no trial)."""
        with self.locked() as running:
            running.pop(self.worker, None)

    def begin(self, trial: int, hp: dict) -> None:
        with self.locked() as running:
            entry = running.setdefault(self.worker, {"pid": os.getpid()})
            entry.update(trial=int(trial), hp=hp, epochs=0, cpu_s=0.0, started=time.time())

    def next_epoch(self, finished: int, cpu_s: float) -> str | None:
        """After an epoch: record it; the epoch or time limit that forbids another, if any."""
        with self.locked() as running:
            entry = running.get(self.worker)
            if entry is not None:
                wall = round(time.time() - entry.get("started", time.time()), 3)
                entry.update(epochs=finished, cpu_s=round(cpu_s, 3), wall_s=wall)
            trials, epochs, wall = self._spent(running, own_epochs=finished)
            return self._reason(trials, epochs, wall, new_trial=False)

    def record(self, row: dict) -> None:
        """Journal a row that holds no slot (a trial closed after the fact)."""
        with self.locked():
            self.ledger.append(row)

    def finish(self, row: dict) -> None:
        """Journal a finished trial's row and free its slot, together."""
        with self.locked() as running:
            self.ledger.append(row)
            running.pop(self.worker, None)

    def reap(
        self,
        worker: int,
        reason: str,
        trial: int | None = None,
        hp: dict | None = None,
        orphans: Callable[[set[int]], list[tuple[int, dict]]] | None = None,
        stale: bool = False,
    ) -> list[dict]:
        """Close the trial of a worker that died: recorded failed (once), with the epochs and
        seconds it spent, which the budget counts. `orphans(live)` names the framework's open
        trials that no live worker holds (number, hyperparameters); they are closed too.
        Returns the rows written."""
        with self.locked() as running:
            entry = running.pop(str(worker), None) or {}
            number = entry.get("trial") if entry.get("trial") is not None else trial
            closing = {} if number is None else {number: entry.get("hp") or hp or {}}
            if orphans is not None:
                live = {e["trial"] for e in running.values() if e.get("trial") is not None}
                for open_trial, values in orphans(live):
                    closing[open_trial] = closing.get(open_trial) or values
            rows = []
            for open_trial, values in sorted(closing.items()):
                if self.ledger.recorded_row(open_trial) is not None:
                    continue
                spent = entry if open_trial == number else {}
                row = self.ledger.row(
                    open_trial,
                    values,
                    "failed",
                    reason,
                    epochs_run=spent.get("epochs", 0),
                    wall_s=spent.get("wall_s", 0.0)
                    if stale
                    else (time.time() - spent.get("started", time.time())),
                    cpu_s=spent.get("cpu_s", 0.0),
                )
                self.ledger.append(row)
                rows.append(row)
            return rows
