"""Keras Tuner adapter: its oracle chooses the hyperparameters, the shared trial runner runs each
trial (Keras Tuner's own run_trial, and its checkpoint on every improving epoch, are not used)."""

from __future__ import annotations

import logging
from pathlib import Path

import keras_tuner as kt

from bloomtune.tuning.runner import TrialRunner

log = logging.getLogger(__name__)


class SpaceHyperModel(kt.HyperModel):
    """Declares the shared search space to the oracle; the runner builds the models."""

    def __init__(self, runner: TrialRunner):
        super().__init__()
        self.runner = runner

    def build(self, hp):
        # Keras Tuner calls build at start-up only to learn the space; building the default model
        # there could cost gigabytes (strides 1 at 300 px), so none is built.
        self.runner.settings.space.declare_keras_tuner(hp)
        return None


def _run_by(base, runner: TrialRunner, checkpoints: Path | None):
    """A tuner class of `base` whose trials the shared runner runs."""

    class Run(base):
        def run_trial(self, trial, *args, **kwargs):
            number = int(trial.trial_id)
            values = trial.hyperparameters.values
            row = runner.recorded(number)
            if row is not None:
                # Finished and journalled, but the process died before Keras Tuner saved its
                # oracle: hand the oracle the journalled result instead of training it again.
                log.info("%s: trial %d finished before the restart; kept", runner.name, number)
            else:
                parent = values.get("tuner/trial_id")
                row = runner.run(
                    number,
                    {name: values[name] for name in runner.settings.space.names},
                    epochs=values.get("tuner/epochs"),
                    initial_epoch=values.get("tuner/initial_epoch", 0),
                    warm_start=checkpoints / f"{int(parent)}.weights.h5" if parent else None,
                    keep_weights=checkpoints / f"{number}.weights.h5" if checkpoints else None,
                )
                if reason := runner.exhausted():
                    # The oracle hands out no further trial once it holds max_trials trials.
                    log.info("%s: %s reached, search ends", runner.name, reason)
                    self.oracle.max_trials = len(self.oracle.trials)
            if row["status"] == "failed":
                raise kt.errors.FailedTrialError(row["failure_reason"])
            return {runner.settings.budget.objective: row["score"]}

    Run.__name__ = f"Run{base.__name__}"
    return Run


def make_tuner(runner: TrialRunner, state_dir: Path):
    settings = runner.settings
    tuner, budget = settings.tuner, settings.budget
    common = {
        "hypermodel": SpaceHyperModel(runner),
        "objective": kt.Objective(budget.objective, budget.direction),
        "seed": settings.seed,
        "directory": str(state_dir),
        "project_name": "keras_tuner",
        "overwrite": False,
        # Failed trials are recorded and the search goes on; the budget alone ends it.
        "max_consecutive_failed_trials": budget.max_trials + 1,
    }
    algorithm = tuner.options["algorithm"]
    if algorithm == "random":
        return _run_by(kt.RandomSearch, runner, None)(max_trials=budget.max_trials, **common)
    if algorithm == "bayesian":
        own = ("num_initial_points", "alpha", "beta")
        extra = {k: tuner.options[k] for k in own if k in tuner.options}
        run_by = _run_by(kt.BayesianOptimization, runner, None)
        return run_by(max_trials=budget.max_trials, **extra, **common)
    # Hyperband continues a promoted trial from its parent's best-epoch weights: the runner writes
    # them after each trial's clock stops.
    hyperband = _run_by(kt.Hyperband, runner, state_dir / "checkpoints")(
        max_epochs=budget.max_epochs,
        factor=tuner.option("factor", 3),
        hyperband_iterations=tuner.option("hyperband_iterations", 1),
        **common,
    )
    # Hyperband has no trial limit of its own; the shared budget caps it like the others.
    hyperband.oracle.max_trials = budget.max_trials
    return hyperband


def run_keras_tuner(runner: TrialRunner, state_dir: Path) -> None:
    if reason := runner.exhausted():
        log.info("%s: budget already spent (%s)", runner.name, reason)
        return
    # The runner trains on the search's own data; Keras Tuner passes nothing to fit, and its
    # per-trial console table stays off (the runner logs one line per trial).
    make_tuner(runner, state_dir).search(verbose=0)
