"""Optuna adapter: sampler, pruner and journal storage from params, one Keras fit per trial."""

from __future__ import annotations

import logging

import optuna
from optuna.trial import TrialState

from bloomtune.ledger import OBJECTIVES
from bloomtune.model import ModelTooLargeError
from bloomtune.pruners import make_pruner
from bloomtune.search_space import suggest_optuna

log = logging.getLogger(__name__)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class TrialFailed(Exception):
    """A trial that cannot train (too large, out of memory, NaN loss); the search goes on."""


def make_sampler(name: str, seed: int):
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    if name == "gp":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ValueError(
                "sampler gp needs PyTorch: pip install torch (or choose tpe, random, cmaes, qmc)"
            ) from None
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(f"unknown Optuna sampler {name!r}")


def storage_for(search):
    url = search.options.get("storage")
    if url:
        return url
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(search.state_dir / "optuna.journal")))


def _close_interrupted(study, search) -> None:
    """Close the trials a killed process left RUNNING; the budget counts them.

    One the journal holds finished (killed after journalling, before Optuna's tell) is closed as
    it finished, so the sampler learns from it; any other is recorded failed."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        row = search.recorder.recorded_row(trial.number)
        if row is None:
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            search.recorder.begin(trial.number, trial.params)
            search.recorder.end("failed", "interrupted: the tuning process stopped mid-trial")
        elif row["status"] == "complete":
            study._storage.set_trial_state_values(
                trial._trial_id, TrialState.COMPLETE, [row["score"]]
            )
        else:
            state = TrialState.PRUNED if row["status"] == "pruned" else TrialState.FAIL
            study._storage.set_trial_state_values(trial._trial_id, state)


def run_optuna(search) -> None:
    options = search.options
    objective_name = search.objective
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        # The state folder's name fingerprints params and data: a changed search gets a fresh
        # study even in a shared RDB storage.
        study_name=f"bloomtune-{search.name}-{search.state_dir.name}",
        storage=storage_for(search),
        sampler=make_sampler(options.get("sampler", "tpe"), search.seed),
        pruner=make_pruner(
            options.get("pruner", "none"),
            search.budget["max_epochs"],
            options.get("pruner_options"),
        ),
        direction="maximize" if OBJECTIVES[objective_name] == "max" else "minimize",
        load_if_exists=True,
    )
    _close_interrupted(study, search)
    done = len(study.get_trials(deepcopy=False, states=FINISHED))
    remaining = search.budget["max_trials"] - done
    reason = search.exhausted()
    if remaining <= 0 or reason:
        log.info("%s: budget already spent (%s)", search.name, reason or "max_trials")
        return

    def stop_when_spent(study, trial) -> None:
        reason = search.exhausted()
        if reason:
            log.info("%s: %s reached, search ends", search.name, reason)
            study.stop()

    def objective(trial: optuna.Trial) -> float:
        hp = suggest_optuna(trial, search.space)
        search.recorder.begin(trial.number, hp)
        search.seed_trial(trial.number)
        callbacks = []
        if options.get("pruner", "none") != "none":
            from optuna_integration import KerasPruningCallback

            callbacks.append(KerasPruningCallback(trial, objective_name))
        try:
            model = search.build(hp)
            search.fit(model, callbacks)
        except optuna.TrialPruned:
            search.recorder.end("pruned")
            raise
        except (ModelTooLargeError, MemoryError) as exc:
            search.recorder.end("failed", f"{type(exc).__name__}: {exc}")
            raise TrialFailed(str(exc)) from exc
        except Exception as exc:  # e.g. TensorFlow's ResourceExhaustedError
            if "ResourceExhausted" not in type(exc).__name__:
                raise
            search.recorder.end("failed", f"out of memory: {exc}")
            raise TrialFailed(str(exc)) from exc
        row = search.recorder.end("complete")
        if row["status"] == "failed":
            raise TrialFailed(row["failure_reason"])
        return row["score"]

    study.optimize(
        objective, n_trials=remaining, catch=(TrialFailed,), callbacks=[stop_when_spent]
    )
