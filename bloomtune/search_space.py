"""The one search space declared in params.yaml, and each framework's thin adapter to it."""

from __future__ import annotations


def suggest_optuna(trial, space: dict) -> dict:
    """Ask an Optuna trial for one value of every dimension."""
    values = {}
    for name, dim in space.items():
        if dim["type"] == "categorical":
            values[name] = trial.suggest_categorical(name, dim["choices"])
        elif dim["type"] == "int":
            step = dim.get("step", 1)
            values[name] = trial.suggest_int(
                name, dim["low"], dim["high"], step=step, log=dim.get("log", False)
            )
        else:
            values[name] = trial.suggest_float(
                name, float(dim["low"]), float(dim["high"]), log=dim.get("log", False)
            )
    return values


def suggest_keras_tuner(hp, space: dict) -> dict:
    """Declare every dimension on a Keras Tuner HyperParameters object and return its values."""
    values = {}
    for name, dim in space.items():
        if dim["type"] == "categorical":
            values[name] = hp.Choice(name, dim["choices"])
        elif dim["type"] == "int":
            values[name] = hp.Int(
                name,
                dim["low"],
                dim["high"],
                step=None if dim.get("log") else dim.get("step", 1),
                sampling="log" if dim.get("log") else "linear",
            )
        else:
            values[name] = hp.Float(
                name,
                float(dim["low"]),
                float(dim["high"]),
                sampling="log" if dim.get("log") else "linear",
            )
    return values


def optuna_distributions(space: dict) -> dict:
    """The space as Optuna distributions (to rebuild a study from a ledger)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for name, dim in space.items():
        if dim["type"] == "categorical":
            out[name] = CategoricalDistribution(dim["choices"])
        elif dim["type"] == "int":
            step = 1 if dim.get("log") else dim.get("step", 1)
            out[name] = IntDistribution(
                dim["low"], dim["high"], step=step, log=dim.get("log", False)
            )
        else:
            out[name] = FloatDistribution(
                float(dim["low"]), float(dim["high"]), log=dim.get("log", False)
            )
    return out
