"""Every search-space type translates to both frameworks: ranges, log scale, choices."""

from __future__ import annotations

import re

import keras_tuner as kt
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from bloomtune.space import SearchSpace

SPEC = {
    "filters": {"type": "categorical", "choices": [64, 128]},
    "activation": {"type": "categorical", "choices": ["relu", "tanh"]},
    "kernel_size": {"type": "int", "low": 3, "high": 7, "step": 2},
    "strides": {"type": "int", "low": 1, "high": 8, "log": True},
    "learning_rate": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True},
}
SPACE = SearchSpace.from_params(SPEC)


def test_optuna_adapter_declares_every_type():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(40):
        trial = study.ask()
        values = SPACE.suggest_optuna(trial)
        assert values["filters"] in (64, 128) and values["activation"] in ("relu", "tanh")
        assert values["kernel_size"] in (3, 5, 7)
        assert 1 <= values["strides"] <= 8
        assert 1e-5 <= values["learning_rate"] <= 1e-3
        study.tell(trial, 0.0)
    dists = trial.distributions
    assert isinstance(dists["filters"], CategoricalDistribution)
    assert dists["filters"].choices == (64, 128)
    assert dists["kernel_size"] == IntDistribution(3, 7, step=2)
    assert dists["strides"] == IntDistribution(1, 8, log=True)
    assert dists["learning_rate"] == FloatDistribution(1e-5, 1e-3, log=True)


def test_keras_tuner_adapter_declares_every_type():
    hp = kt.HyperParameters()
    values = SPACE.declare_keras_tuner(hp)
    declared = {p.name: p for p in hp.space}
    assert declared["filters"].values == [64, 128]
    assert declared["activation"].values == ["relu", "tanh"]
    kernel = declared["kernel_size"]
    assert (kernel.min_value, kernel.max_value, kernel.step) == (3, 7, 2)
    assert declared["strides"].sampling == "log"
    rate = declared["learning_rate"]
    assert (rate.min_value, rate.max_value, rate.sampling) == (1e-5, 1e-3, "log")
    assert set(values) == set(SPEC)
    for _ in range(40):
        sample = {p.name: p.random_sample() for p in hp.space}
        assert sample["kernel_size"] in (3, 5, 7)
        assert 1 <= sample["strides"] <= 8
        assert 1e-5 <= sample["learning_rate"] <= 1e-3


def test_optuna_distributions_match_what_a_trial_declares():
    study = optuna.create_study()
    trial = study.ask()
    SPACE.suggest_optuna(trial)
    assert SPACE.optuna_distributions() == trial.distributions


def test_the_report_describes_every_dimension():
    assert SPACE.describe() == (
        "filters in {64, 128}; activation in {relu, tanh}; kernel_size in [3, 7]; "
        "strides in [1, 8] log; learning_rate in [1e-05, 0.001] log"
    )
    assert SearchSpace.from_params(SPACE.as_params()) == SPACE


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "float", "low": 1.0, "high": 0.1}, "low (1.0) is greater than high (0.1)"),
        ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "needs low > 0"),
        ({"type": "int", "low": 1, "high": 9, "step": 2, "log": True}, "cannot have a step"),
        ({"type": "categorical", "choices": [1, 1]}, "choices repeat a value"),
    ],
)
def test_a_dimension_that_contradicts_itself_is_refused(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SearchSpace.from_params({"x": spec})


CONDITIONAL = SearchSpace.from_params(
    {
        "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
        "momentum": {"type": "float", "low": 0.5, "high": 0.99, "when": {"optimizer": "sgd"}},
        "dropout": {"type": "fixed", "value": 0.2},
        "unfreeze": {"type": "int", "low": 0, "high": 20, "step": 5},
    }
)


def test_optuna_asks_a_conditional_dimension_only_when_its_parent_allows_it():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        values = CONDITIONAL.suggest_optuna(trial)
        seen.add(values["optimizer"])
        assert ("momentum" in values) == (values["optimizer"] == "sgd")
        assert "momentum" in trial.params or values["optimizer"] == "adam"
        assert values["dropout"] == 0.2 and "dropout" not in trial.params  # never sampled
        assert values["unfreeze"] in (0, 5, 10, 15, 20)
        study.tell(trial, 0.0)
    assert seen == {"adam", "sgd"}


def test_keras_tuner_declares_a_conditional_dimension_in_its_parents_scope():
    hp = kt.HyperParameters()
    CONDITIONAL.declare_keras_tuner(hp)
    assert hp.get("dropout") == 0.2
    oracle = kt.oracles.RandomSearchOracle(
        objective=kt.Objective("score", "max"), max_trials=30, seed=0
    )
    oracle.hyperparameters = hp
    seen = set()
    for index in range(30):
        values = oracle.populate_space(f"{index:02d}")["values"]
        active = CONDITIONAL.active(values)
        seen.add(active["optimizer"])
        assert ("momentum" in active) == (active["optimizer"] == "sgd")
        if "momentum" in active:
            assert 0.5 <= active["momentum"] <= 0.99
    assert seen == {"adam", "sgd"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"momentum": {"type": "float", "low": 0, "high": 1, "when": {"optimizer": "sgd"}},
          "optimizer": {"type": "categorical", "choices": ["sgd"]}},
         "momentum: when names 'optimizer', which is not a dimension declared before it"),
        ({"lr": {"type": "float", "low": 0.1, "high": 1},
          "momentum": {"type": "float", "low": 0, "high": 1, "when": {"lr": 0.5}}},
         "momentum: when needs a categorical or fixed 'lr'"),
        ({"optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
          "momentum": {"type": "float", "low": 0, "high": 1, "when": {"optimizer": "nag"}}},
         "momentum: optimizer never takes ['nag']"),
    ],
)  # fmt: skip
def test_a_wrong_condition_is_refused_naming_the_dimension(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        SearchSpace.from_params(spec)


def test_a_space_without_conditions_keeps_its_params_form():
    # The search's key (a fingerprint of this form) is unchanged for existing spaces.
    assert SPACE.as_params()["filters"] == {"type": "categorical", "choices": [64, 128]}
    assert CONDITIONAL.as_params()["momentum"]["when"] == {"optimizer": ["sgd"]}
