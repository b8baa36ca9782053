"""The one trial runner both frameworks drive: seed, build, fit, failure policy, ledger row.

Optuna (ask and tell) and Keras Tuner (its `run_trial`) only choose the hyperparameters and hear
the result; everything a trial does, and what it costs, is here and the same for every tuner."""

from __future__ import annotations

import gc
import logging
import math
import time
from pathlib import Path

import keras

from bloomtune.data.dataset import TrainingData
from bloomtune.runtime import derive_seed, seed_everything
from bloomtune.settings import TuneSettings
from bloomtune.training.execution import FitInputs, compiled_for, configure
from bloomtune.training.families import build
from bloomtune.training.model import ModelTooLargeError, auto_max_params
from bloomtune.tuning.budget import SharedBudget
from bloomtune.tuning.ledger import TrialRecorder

log = logging.getLogger(__name__)


def failure_reason(exc: BaseException) -> str:
    """The ledger's one-line reason for a trial that raised `exc`."""
    if isinstance(exc, ModelTooLargeError):
        return f"too large: {exc}"
    if isinstance(exc, MemoryError) or "ResourceExhausted" in type(exc).__name__:
        return f"out of memory: {type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}: {exc}"


class StopOnNaN(keras.callbacks.Callback):
    """Ends a trial whose epoch loss is NaN or infinite (the ledger records it failed).

    Checked once an epoch, not once a batch as Keras' TerminateOnNaN does: any per-batch hook
    makes Keras wait for every step's result before starting the next, which cost a trial
    about a tenth of its speed (docs/benchmarks.md). A diverged trial trains at most to the
    end of that epoch."""

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.model.stop_training = True


class BudgetStop(keras.callbacks.Callback):
    """Ends the running trial at an epoch boundary once the total-epoch or time budget is spent."""

    def __init__(self, runner: TrialRunner):
        super().__init__()
        self.runner = runner

    def on_epoch_end(self, epoch, logs=None):
        recorder = self.runner.recorder
        finished = len(recorder.current_history)
        if reason := self.runner.budget.next_epoch(finished, recorder.current_cpu_s):
            log.info("%s: %s reached, stopping the current trial", self.runner.name, reason)
            self.model.stop_training = True


class BestWeights(keras.callbacks.Callback):
    """Keeps, in memory, the weights of the epoch where the objective last strictly improved."""

    def __init__(self, objective: str, direction: str):
        super().__init__()
        self.objective, self.sign = objective, 1 if direction == "max" else -1
        self.best, self.weights = -math.inf, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.objective)
        if value is not None and math.isfinite(value) and self.sign * value > self.best:
            self.best, self.weights = self.sign * value, self.model.get_weights()


class TrialRunner:
    """Runs one search's trials on its data and records each in the ledger."""

    def __init__(
        self,
        settings: TuneSettings,
        data: TrainingData,
        recorder: TrialRecorder,
        state_dir: Path,
        worker: int = 0,
    ):
        self.settings, self.data, self.recorder = settings, data, recorder
        self.name, self.worker = settings.tuner.name, worker
        self.budget = SharedBudget(settings.budget, recorder, state_dir, worker)
        limit = settings.budget.max_model_params
        self.max_params = auto_max_params() if limit == "auto" else limit
        configure(settings.train)
        self.inputs = FitInputs(data.train, data.validation, settings.train)
        self.idle_since = time.perf_counter()  # outside training since: the optimiser's time

    @property
    def workers(self) -> int:
        return self.settings.tuner.option("workers", 1)

    def exhausted(self) -> str | None:
        """Which shared limit the search has reached, if any (trials, total epochs, time),
        counting every worker's running trial."""
        return self.budget.exhausted()

    def recorded(self, number: int) -> dict | None:
        """The ledger row of a trial that finished before a restart, if any."""
        return self.recorder.recorded_row(number)

    def record_interrupted(self, number: int, hp: dict) -> dict:
        """Close a trial a killed process left running: failed, the budget counts it."""
        reason = "interrupted: the tuning process stopped mid-trial"
        rows = self.budget.reap(self.worker, reason, number, hp)
        return rows[0] if rows else self.recorded(number)

    def run(
        self,
        number: int,
        hp: dict,
        *,
        epochs: int | None = None,
        initial_epoch: int = 0,
        callbacks: list = (),
        pruned: tuple[type[BaseException], ...] = (),
        warm_start: Path | None = None,
        keep_weights: Path | None = None,
    ) -> dict:
        """Train trial `number` with hyperparameters `hp`; return its ledger row.

        A trial that raises is recorded failed with its reason (too large, out of memory, NaN
        loss, anything else, with its traceback in the log) and the search goes on; one of
        `pruned` is recorded pruned. `warm_start` loads weights before training (Keras Tuner
        Hyperband's continued trials); `keep_weights` writes the best epoch's weights there once
        the trial's clock has stopped, so writing them is not timed."""
        self.recorder.begin(number, hp, overhead_s=time.perf_counter() - self.idle_since)
        self.budget.begin(number, hp)
        seed_everything(derive_seed(self.settings.seed, "trial", number))
        keras.backend.clear_session()  # free the previous trial's graph and memory
        gc.collect()
        budget = self.settings.budget
        best = BestWeights(budget.objective, budget.direction) if keep_weights else None
        shared = [self.recorder, StopOnNaN(), BudgetStop(self)]
        try:
            model = build(
                self.settings.model, hp, self.data.image_size, self.data.n_classes,
                self.max_params,
            )  # fmt: skip
            compiled_for(model, self.settings.train)
            if warm_start is not None:
                model.load_weights(warm_start)
            fit, validation = self.inputs.datasets()
            model.fit(
                fit,
                validation_data=validation,
                epochs=epochs or budget.max_epochs,
                initial_epoch=initial_epoch,
                callbacks=[*shared, *callbacks, *([best] if best else [])],
                shuffle=False,  # the input pipeline shuffles, as Keras would
                verbose=0,
            )
        except pruned:
            row = self.recorder.end("pruned")
        except Exception as exc:
            if not isinstance(exc, ModelTooLargeError):
                log.warning("%s trial %d raised", self.name, number, exc_info=True)
            row = self.recorder.end("failed", failure_reason(exc))
        else:
            row = self.recorder.end("complete")  # a NaN loss makes it failed
        if best is not None and best.weights is not None and row["status"] != "failed":
            keep_weights.parent.mkdir(parents=True, exist_ok=True)
            model.set_weights(best.weights)
            model.save_weights(keep_weights)
        self.idle_since = time.perf_counter()
        return row
