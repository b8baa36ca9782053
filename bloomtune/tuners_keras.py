"""Keras Tuner adapter: one HyperModel over the shared space, the oracle's trials recorded."""

from __future__ import annotations

import logging

import keras_tuner as kt

from bloomtune.ledger import OBJECTIVES
from bloomtune.model import ModelTooLargeError
from bloomtune.search_space import suggest_keras_tuner

log = logging.getLogger(__name__)


class SpaceHyperModel(kt.HyperModel):
    """Declares the shared search space and builds the shared model from its values."""

    def __init__(self, search):
        super().__init__()
        self.search = search
        self.in_trial = False

    def build(self, hp):
        values = suggest_keras_tuner(hp, self.search.space)
        if not self.in_trial:
            # Keras Tuner calls build once at start-up only to learn the space; building the
            # default model there could cost gigabytes (strides 1 at 300 px), so skip it.
            return None
        try:
            return self.search.build(values)
        except ModelTooLargeError as exc:
            raise kt.errors.FailedTrialError(str(exc)) from exc


def _recorded(base):
    """A tuner class of `base` that seeds each trial and records it in the ledger."""

    class Recorded(base):
        def run_trial(self, trial, *args, **kwargs):
            search = self.hypermodel.search
            number = int(trial.trial_id)
            done = search.recorder.recorded_row(number)
            if done is not None:
                # Finished and journalled, but the process died before Keras Tuner saved its
                # oracle: hand the oracle the journalled result instead of training it again.
                log.info("%s: trial %d finished before the restart; kept", search.name, number)
                if done["status"] == "failed":
                    raise kt.errors.FailedTrialError(done["failure_reason"])
                return {search.objective: done["score"]}
            self.hypermodel.in_trial = True
            search.recorder.begin(number, trial.hyperparameters.values)
            search.seed_trial(number)
            try:
                result = super().run_trial(trial, *args, **kwargs)
            except Exception as exc:
                search.recorder.end("failed", f"{type(exc).__name__}: {exc}")
                self._stop_if_spent(search)
                raise kt.errors.FailedTrialError(str(exc)) from exc
            row = search.recorder.end("complete")
            self._stop_if_spent(search)
            if row["status"] == "failed":
                raise kt.errors.FailedTrialError(row["failure_reason"])
            return result

        def _stop_if_spent(self, search) -> None:
            # The oracle hands out no further trial once it holds max_trials trials.
            reason = search.exhausted()
            if reason:
                log.info("%s: %s reached, search ends", search.name, reason)
                self.oracle.max_trials = len(self.oracle.trials)

    Recorded.__name__ = f"Recorded{base.__name__}"
    return Recorded


def make_tuner(search):
    options, budget = search.options, search.budget
    common = {
        "hypermodel": SpaceHyperModel(search),
        "objective": kt.Objective(search.objective, OBJECTIVES[search.objective]),
        "seed": search.seed,
        "directory": str(search.state_dir),
        "project_name": "keras_tuner",
        "overwrite": False,
        # Failed trials are recorded and the search goes on; the budget alone ends it.
        "max_consecutive_failed_trials": budget["max_trials"] + 1,
    }
    algorithm = options["algorithm"]
    if algorithm == "random":
        tuner = _recorded(kt.RandomSearch)(max_trials=budget["max_trials"], **common)
    elif algorithm == "bayesian":
        extra = {k: options[k] for k in ("num_initial_points", "alpha", "beta") if k in options}
        tuner = _recorded(kt.BayesianOptimization)(
            max_trials=budget["max_trials"], **extra, **common
        )
    else:
        tuner = _recorded(kt.Hyperband)(
            max_epochs=budget["max_epochs"],
            factor=options.get("factor", 3),
            hyperband_iterations=options.get("hyperband_iterations", 1),
            **common,
        )
        # Hyperband has no trial limit of its own; the shared budget caps it like the others.
        tuner.oracle.max_trials = budget["max_trials"]
    return tuner


def run_keras_tuner(search) -> None:
    reason = search.exhausted()
    if reason:
        log.info("%s: budget already spent (%s)", search.name, reason)
        return
    tuner = make_tuner(search)
    data = search.data
    tuner.search(
        data.train.x,
        data.train.y,
        validation_data=(data.validation.x, data.validation.y),
        epochs=search.budget["max_epochs"],
        batch_size=search.train["batch_size"],
        callbacks=search.callbacks(),
        verbose=0,
    )
