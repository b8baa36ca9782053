"""Hyperparameter importances (Optuna's fANOVA) from a tuner's complete trials."""

from __future__ import annotations

import pandas as pd

from bloomtune.objective import optuna_direction
from bloomtune.space import SearchSpace


def optuna_importances(ledger: pd.DataFrame, space: SearchSpace, objective: str) -> dict | None:
    """fANOVA importances of the hyperparameters, from a tuner's complete trials."""
    import optuna

    complete = ledger[(ledger["status"] == "complete") & ledger["score"].notna()]
    # fANOVA needs every trial to have a value: a conditional dimension inactive in some is left
    # out, as is any that never varied.
    varying = [n for n in space.names if complete[n].notna().all() and complete[n].nunique() > 1]
    if len(complete) < 3 or not varying:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=optuna_direction(objective))
    distributions = {n: d for n, d in space.optuna_distributions().items() if n in varying}
    for _, row in complete.iterrows():
        params = {}
        for name, dist in distributions.items():
            value = row[name]
            if isinstance(dist, optuna.distributions.CategoricalDistribution):
                value = next(c for c in dist.choices if str(c) == str(value))
            params[name] = value
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=distributions, value=float(row["score"])
            )
        )
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    return optuna.importance.get_param_importances(study, evaluator=evaluator)
