"""Optuna pruners by name with bloomtune's defaults, and the check of a tuner's pruner options."""

from __future__ import annotations

import inspect

import optuna

# bloomtune's defaults for each pruner; a tuner's `pruner_options` override them and are passed to
# the Optuna class as keyword arguments (its own names and meanings).
PRUNERS = {
    "median": ("MedianPruner", {"n_startup_trials": 2, "n_warmup_steps": 0}),
    "percentile": ("PercentilePruner", {"percentile": 50.0, "n_startup_trials": 2}),
    "hyperband": ("HyperbandPruner", {"min_resource": 1}),
    "successive_halving": ("SuccessiveHalvingPruner", {"min_resource": 1}),
}


def make_pruner(name: str, max_epochs: int, options: dict | None = None):
    """The Optuna pruner `name` with bloomtune's defaults overridden by `options`."""
    if name == "none":
        if options:
            raise ValueError(f"options {sorted(options)} given but pruner is none")
        return optuna.pruners.NopPruner()
    if name not in PRUNERS:
        raise ValueError(f"unknown Optuna pruner {name!r}")
    cls_name, defaults = PRUNERS[name]
    cls = getattr(optuna.pruners, cls_name)
    _check_resources(name, max_epochs, options or {})
    kwargs = {**defaults, **(options or {})}
    if name == "hyperband":
        kwargs.setdefault("max_resource", max_epochs)
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(
            f"{unknown} do not apply to pruner {name} "
            f"(optuna.pruners.{cls_name} takes {sorted(accepted)})"
        )
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: {exc}") from None


def _check_resources(name: str, max_epochs: int, options: dict) -> None:
    """Resources the user set that make a multi-fidelity pruner do nothing (its first rung at or
    after the last epoch a trial trains: it never prunes) or size it for epochs no trial trains."""
    low, high = options.get("min_resource"), options.get("max_resource")
    if isinstance(low, int) and not isinstance(low, bool) and low >= max_epochs:
        raise ValueError(
            f"min_resource {low} is not below max_epochs {max_epochs}: its first rung would come "
            "at or after a trial's last epoch, so it would never prune"
        )
    if name == "hyperband" and isinstance(high, int) and high > max_epochs:
        raise ValueError(
            f"max_resource {high} is above max_epochs {max_epochs}: its brackets would be sized "
            "for epochs no trial trains; leave it out (it is max_epochs)"
        )


def tuner_pruner(tuner: str, options, max_epochs: int):
    """The pruner a tuner's params entry names; ParamsError naming the key if its options are
    wrong (checked before any training)."""
    from bloomtune.errors import ParamsError

    try:
        return make_pruner(
            options.get("pruner", "none"), max_epochs, options.get("pruner_options")
        )
    except ValueError as exc:
        raise ParamsError(f"tuners.{tuner}.pruner_options: {exc}") from None
