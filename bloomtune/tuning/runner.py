"""The one trial runner every framework drives: an evaluator gives a configuration's results
epoch by epoch; the runner reports each epoch to the budget and the pruner, decides the trial's
status (the one place that does), and journals its ledger row.

Optuna (ask and tell) and Keras Tuner (its `run_trial`) only choose the hyperparameters and hear
the result; what a trial does, and what it costs, is here and the same for every tuner."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

from bloomtune.errors import ModelTooLargeError, NoSpaceError, TabulatedFailure, failure_reason
from bloomtune.files import no_space
from bloomtune.machine import peak_rss_mb
from bloomtune.model_settings import TuneSettings
from bloomtune.objective import best_epoch_of
from bloomtune.tuning.budget import SharedBudget
from bloomtune.tuning.clock import TrialClock
from bloomtune.tuning.ledger import Ledger, ledger_columns
from bloomtune.tuning.progress import Progress
from bloomtune.tuning.protocol import Evaluator, Request

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted: the tuning process stopped mid-trial"
LOST = "lost: its ledger row was cut short or deleted, and no copy of it is left"
LEDGER = "ledger.jsonl"  # a live search's, in its state folder
DIVERGED = "NaN or infinite loss"  # or no finite objective: failed by its curve, not a raise


def _is_row(copy, number: int, ledger: Ledger) -> bool:
    """Whether a framework's copy of a ledger row is one, for this trial and search."""
    return (
        isinstance(copy, dict)
        and list(copy) == ledger_columns(ledger.hp_names)
        and copy["trial"] == number
        and copy["tuner"] == ledger.tuner
    )


def _finite(value) -> bool:
    return value is None or math.isfinite(value)


class TrialRunner:
    """Runs one search's trials through its evaluator and records each in the ledger, under
    the search's shared budget."""

    def __init__(
        self,
        settings: TuneSettings,
        ledger: Ledger,
        state_dir: Path,
        evaluator: Evaluator,
        worker: int = 0,
    ):
        self.settings, self.ledger, self.evaluator = settings, ledger, evaluator
        self.name, self.worker = settings.tuner.name, worker
        self.folders = [state_dir] + ([ledger.journal.parent] if ledger.journal else [])
        # A search whose ledger is kept in memory (a replay's) runs in one process and resumes
        # nothing: its budget and its framework's state live in memory too (the adapters ask
        # `volatile`).
        self.volatile = ledger.journal is None
        self.budget = SharedBudget(settings.budget, ledger, state_dir, worker,
                                   shared=not self.volatile)  # fmt: skip
        self.progress = Progress(self.name, settings.budget.objective, settings.budget, log)
        self.idle_since = time.perf_counter()  # outside training since: the optimiser's time

    # The shared budget, for the adapters.
    def exhausted(self) -> str | None:
        """Which shared limit the search has reached, if any (trials, total epochs, time),
        counting every worker's running trial."""
        return self.budget.exhausted()

    def reserve(self, take: Callable[[], int] | None = None) -> str | None:
        """Take a trial slot for this process, or say which limit leaves none (`take` starts the
        trial under the budget's lock: see SharedBudget.reserve)."""
        return self.budget.reserve(take)

    def release(self) -> None:
        """Give back a slot no trial used."""
        self.budget.release()

    def close_stale(self) -> list[dict]:
        """Close the trials a stopped run's processes left running: failed, with the epochs
        they had trained, which the budget counts (the caller holds the search's lock). Every
        framework then hears of them as recorded: none is retrained."""
        rows = self.budget.close_stale(INTERRUPTED)
        for row in rows:
            self.progress.trial_done(row, self.ledger.rows())
        return rows

    # The ledger, for the adapters.
    def rows(self) -> list[dict]:
        return self.ledger.rows()

    def recorded(self, number: int) -> dict | None:
        """The ledger row of a trial that finished before a restart, if any."""
        return self.ledger.recorded_row(number)

    def reap(self, worker: int, reason: str, trial=None, hp=None, orphans=None) -> list[dict]:
        """Close the trial of a process that died: failed, the budget counts what it spent (see
        SharedBudget.reap); returns the rows written."""
        rows = self.budget.reap(worker, reason, trial, hp, orphans)
        for row in rows:
            self.progress.trial_done(row, self.ledger.rows())
        return rows

    def record_lost(self, records: dict[int, tuple[dict | None, int]]) -> list[dict]:
        """Trials the framework holds as finished that the ledger has no row for (a kill cut
        the row short and the rerun removed it, or the line was deleted). `records` maps each
        finished trial's number to the copy of its ledger row the framework keeps (Optuna's
        journal or database, Keras Tuner's trial folder), or None, and the epochs the
        framework knows it trained (or its epoch limit where it does not know: the budget
        then errs on the safe side). A copy is journalled again as it was; a trial without
        one is recorded failed, saying so, with those epochs, which the budget counts. So no
        trial leaves the ledger without a word and no epoch trained goes uncounted. Call
        before the search goes on (the budget must see them)."""
        known = {r["trial"] for r in self.rows()}
        rows = []
        for number, (copy, epochs) in sorted(records.items()):
            if int(number) in known:
                continue
            if _is_row(copy, int(number), self.ledger):
                row = copy
                log.warning("%s trial %d: its ledger row was lost; restored from the "
                            "framework's record of it", self.name, number)  # fmt: skip
            else:
                row = self.ledger.row(int(number), {}, "failed", LOST, epochs_run=int(epochs))
                log.warning("%s trial %d: %s (%d epochs counted)", self.name, number, LOST,
                            int(epochs))  # fmt: skip
            self.budget.record(row)
            rows.append(row)
        return rows

    def record_interrupted(self, number: int, hp: dict) -> dict:
        """Close a trial a killed process left running: failed, the budget counts it."""
        rows = self.reap(self.worker, INTERRUPTED, number, hp)
        return rows[0] if rows else self.recorded(number)

    def run(
        self,
        number: int,
        hp: dict,
        *,
        epochs: int | None = None,
        initial_epoch: int = 0,
        on_epoch: Callable[[dict], None] | None = None,
        pruned: tuple[type[BaseException], ...] = (),
        warm_start: Path | None = None,
        keep_weights: Path | None = None,
        parent: int | None = None,
    ) -> dict:
        """Evaluate trial `number` with hyperparameters `hp`; return its ledger row.

        After each epoch the trial stops if its loss is NaN or infinite or the budget is spent,
        and `on_epoch(record)` hears the epoch (a pruner: it raises one of `pruned` to prune the
        trial). A trial that raises anything else is recorded failed with its reason (too
        large, out of memory, anything else, with its traceback in the log), and one that ends
        with no finite objective or a NaN loss is failed too; the search goes on.
        `warm_start` loads weights before training (Keras Tuner Hyperband's continued trials);
        `keep_weights` writes the best epoch's weights there once the trial's clock has
        stopped, so writing them is not timed."""
        if resolve := getattr(self.evaluator, "resolve", None):
            hp = resolve(hp)  # the values it is evaluated at (a replay's grid point)
        clock = TrialClock(number, {k: hp.get(k) for k in self.settings.space.names},
                           overhead_s=time.perf_counter() - self.idle_since)  # fmt: skip
        self.budget.begin(number, hp)
        request = Request(number, hp, epochs or self.settings.budget.max_epochs, initial_epoch,
                          warm_start, keep_weights, parent)  # fmt: skip

        def epoch_done(record: dict) -> bool:
            clock.history.append(record)
            stop = not _finite(record.get("loss"))
            if reason := self.budget.next_epoch(len(clock.history), clock.cpu_s):
                log.info("%s: %s reached, stopping the current trial", self.name, reason)
                stop = True
            if on_epoch is not None:
                on_epoch(record)
            return stop

        reason = ""
        try:
            self.evaluator.evaluate(request, epoch_done)
        except pruned:
            status = "pruned"
        except Exception as exc:
            if isinstance(exc, OSError) and (full := no_space(exc, self.folders)):
                # The machine's fault, not the configuration's: the search stops with the trial
                # unrecorded, and the rerun closes it interrupted and tries it again.
                raise NoSpaceError(f"{self.name} trial {number}: {full}; the search resumes, "
                                   "trying this configuration again") from exc  # fmt: skip
            if not isinstance(exc, ModelTooLargeError | TabulatedFailure):
                log.warning("%s trial %d raised", self.name, number, exc_info=True)
            status, reason = "failed", failure_reason(exc)
        else:
            status = "complete"
        row = self._close(clock, status, reason)
        self.budget.finish(row)
        self.progress.trial_done(row, self.ledger.rows())
        if keep_weights is not None and row["status"] != "failed":
            self.evaluator.keep(request)
        self.idle_since = time.perf_counter()
        return row

    def _close(self, clock: TrialClock, status: str, reason: str) -> dict:
        """The trial's ledger row: a trial that completed with no finite objective or with a
        NaN or infinite loss in any epoch is failed. Its seconds are its epochs' (protocol.py)."""
        best = best_epoch_of(clock.history, self.settings.budget.objective)
        if status == "complete" and (
            best is None or not all(_finite(h.get("loss")) for h in clock.history)
        ):
            status, reason = "failed", reason or DIVERGED
        return self.ledger.row(
            clock.trial,
            clock.hp,
            status,
            reason,
            best=best,
            epochs_run=len(clock.history),
            start_time=clock.start_time,
            wall_s=clock.epoch_s,
            cpu_s=clock.cpu_s,
            overhead_s=clock.overhead_s,
            peak_rss_mb=peak_rss_mb(),
            history=clock.history,
        )


def make_runner(settings: TuneSettings, evaluator: Evaluator, state_dir: Path, worker: int = 0,
                *, journal: bool = True) -> TrialRunner:  # fmt: skip
    """The trial runner of one process of a search: its ledger (journalled in `state_dir`, or in
    memory without `journal`) and its share of the budget."""
    path = state_dir / LEDGER if journal else None
    ledger = Ledger(settings.tuner.name, settings.budget.objective, settings.space.names, path)
    return TrialRunner(settings, ledger, state_dir, evaluator, worker)
