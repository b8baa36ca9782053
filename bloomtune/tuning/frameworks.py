"""The tuning frameworks, each registered once: how its options are checked (light: before any
job runs), the adapter module that runs a search and one worker of a search, and what the report
can compute from its trials. Nothing else switches on a framework's name.

The registry stays light (the params check and the report read it): an adapter, which imports
the whole training stack, is loaded by its name when a search runs (codedeps counts the tune
stage's adapters from here)."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from types import ModuleType

from bloomtune.errors import ParamsError
from bloomtune.model_settings import Budget


@dataclass(frozen=True)
class OptunaOptions:
    """An Optuna tuner's own options, with bloomtune's defaults."""

    sampler: str = "tpe"
    pruner: str = "none"
    pruner_options: Mapping | None = None
    storage: str | None = None
    storage_password_env: str | None = None  # the variable holding the storage's password


@dataclass(frozen=True)
class KerasTunerOptions:
    """A Keras Tuner tuner's own options, with bloomtune's defaults (None: Keras Tuner's)."""

    algorithm: str
    num_initial_points: int | None = None
    alpha: float | None = None
    beta: float | None = None
    factor: int = 3
    hyperband_iterations: int | None = None  # None: as many as the shared budget allows


@dataclass(frozen=True)
class Framework:
    """`check(tuner, entry, budget)` raises ParamsError naming the key; `adapter()` imports
    the module whose `search(settings, runner, state_dir, workers)` runs the tune job's search
    and whose `worker(settings, runner, state_dir)` runs one worker process of it."""

    name: str
    check: Callable[[str, Mapping, Budget], None]
    adapter_module: str
    options_type: type
    importances: bool = False  # the report computes fANOVA importances from its trials

    def adapter(self) -> ModuleType:
        return importlib.import_module(self.adapter_module)

    def options(self, entry: Mapping):
        """A tuner entry's own options, typed, defaults filled in (the entry is checked)."""
        names = {f.name for f in fields(self.options_type)}
        return self.options_type(
            **{k: v for k, v in entry.items() if k in names and v is not None}
        )


def _check_optuna(tuner: str, entry: Mapping, budget: Budget) -> None:
    from bloomtune.tuning.pruners import tuner_pruner
    from bloomtune.tuning.storage import check_storage

    tuner_pruner(tuner, entry, budget.max_epochs)
    if url := entry.get("storage"):
        check_storage(tuner, url, entry.get("storage_password_env"))
    elif entry.get("storage_password_env"):
        raise ParamsError(
            f"tuners.{tuner}.storage_password_env: set, but tuners.{tuner}.storage is not (a "
            "journal file needs no password)"
        )


# Keras Tuner's options by algorithm: one left over from another algorithm (a `factor` on a
# tuner switched to bayesian) would be ignored without a word, so it is refused.
KERAS_TUNER_OPTIONS = {
    "random": (),
    "bayesian": ("num_initial_points", "alpha", "beta"),
    "hyperband": ("factor", "hyperband_iterations"),
}


def hyperband_iteration(max_epochs: int, factor: int) -> tuple[int, int]:
    """The trials and epochs one iteration of Keras Tuner's Hyperband runs: its oracle's
    brackets, rounds, sizes and epochs (keras_tuner HyperbandOracle._get_num_brackets,
    _get_size, _get_epochs; tests/test_tuning.py compares them), a promoted trial training
    only the epochs after its parent's."""
    brackets, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs, brackets = epochs / factor, brackets + 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    trials = trained = 0
    for bracket in range(brackets):
        before = 0
        for round_num in range(bracket + 1):
            size = math.ceil(end_size / (bracket + 1) * factor ** (bracket - round_num))
            upto = math.ceil(max_epochs / factor ** (bracket - round_num))
            trials, trained, before = trials + size, trained + size * (upto - before), upto
    return trials, trained


def _check_keras_tuner(tuner: str, entry: Mapping, budget: Budget) -> None:
    """The schema checks the options' values; here, that each suits the tuner's algorithm."""
    algorithm = entry["algorithm"]
    for other, options in KERAS_TUNER_OPTIONS.items():
        for key in options:
            if other != algorithm and entry.get(key) is not None:
                raise ParamsError(
                    f"tuners.{tuner}.{key}: an option of algorithm {other}, and this tuner's "
                    f"algorithm is {algorithm}: it would be ignored; remove it"
                )
    iterations = entry.get("hyperband_iterations")
    if algorithm != "hyperband" or iterations is None:
        return
    # Hyperband stops after its iterations: too few would leave the shared budget unspent
    # (at max_epochs 1 an iteration is one trial), a smaller search than the other tuners'.
    trials, epochs = hyperband_iteration(budget.max_epochs, entry.get("factor") or 3)
    total = budget.max_total_epochs
    if iterations * trials < budget.max_trials and (not total or iterations * epochs < total):
        spend = f"max_trials {budget.max_trials}" + (
            f", max_total_epochs {total}" if total else ""
        )
        raise ParamsError(
            f"tuners.{tuner}.hyperband_iterations: {iterations} iteration(s) of Hyperband at "
            f"max_epochs {budget.max_epochs} run {iterations * trials} trial(s) and "
            f"{iterations * epochs} epoch(s), less than the budget ({spend}): the search "
            "would stop before the other tuners'; raise it or remove it (by default Hyperband "
            "runs until the budget is spent)"
        )


FRAMEWORKS = {
    f.name: f
    for f in (
        Framework(
            "optuna",
            _check_optuna,
            "bloomtune.tuning.optuna_adapter",
            OptunaOptions,
            importances=True,
        ),
        Framework(
            "keras_tuner",
            _check_keras_tuner,
            "bloomtune.tuning.keras_tuner_adapter",
            KerasTunerOptions,
        ),
    )
}


def framework(name: str) -> Framework:
    try:
        return FRAMEWORKS[name]
    except KeyError:
        raise ParamsError(f"framework: {name!r} is not one of {', '.join(FRAMEWORKS)}") from None
