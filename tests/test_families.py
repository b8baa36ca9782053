"""Model families: a user's own builder and a pretrained backbone tuned like the blog's CNN, each
checked against its search space; a builder that fails or returns something else fails its trial
with the reason, and the parameter limit counts the real model."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import ROOT
from tuning_data import tune_settings

from bloomtune.checks import check_params as check
from bloomtune.checks import load_params
from bloomtune.data.standardise import standardise
from bloomtune.data.synthetic import write_synthetic
from bloomtune.errors import ModelTooLargeError, ParamsError
from bloomtune.model_spec import ModelSpec
from bloomtune.params import merge
from bloomtune.settings import StandardiseSettings
from bloomtune.training.families import build
from bloomtune.tuning.tune import run_tuning

BUILDERS = '''
import keras

CALLS = []


def flaky(hp, image_size, n_classes):
    """Trial k: a string, an uncompiled model, an error, then a good model."""
    CALLS.append(1)
    model = keras.Sequential([
        keras.Input((image_size, image_size, 3), dtype="uint8"),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Flatten(),
        keras.layers.Dense(n_classes, activation="softmax"),
    ])
    if len(CALLS) == 1:
        return "a model, honestly"
    if len(CALLS) == 2:
        return model
    if len(CALLS) == 3:
        raise RuntimeError("builder broke")
    model.compile(optimizer=keras.optimizers.Adam(hp["learning_rate"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''
CUSTOM = {
    "model": {"family": "custom", "builder": "user_builders:flaky"},
    "search_space": {"filters": None, "kernel_size": None, "strides": None, "activation": None},
}


@pytest.fixture(scope="module")
def data32(tmp_path_factory):
    folder = tmp_path_factory.mktemp("families")
    write_synthetic(folder / "raw", n_classes=3, images_per_class=12, image_size=48, seed=0)
    settings = StandardiseSettings(image_size=32, split="blog", interpolation="area")
    standardise(settings, folder / "raw", folder / "std", threads=2)
    return folder / "std"


@pytest.mark.parametrize("tuner", ["optuna_tpe", "kt_random"])
def test_a_builder_that_fails_or_returns_no_compiled_model_fails_its_trial(
    data32, tmp_path, monkeypatch, tuner
):
    (tmp_path / "user_builders.py").write_text(BUILDERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "user_builders", raising=False)
    settings = tune_settings(tuner, CUSTOM, max_trials=4, max_epochs=1)
    best = run_tuning(settings, data32, tmp_path / "out", tmp_path / "state")
    trials = pd.read_csv(tmp_path / "out" / "trials.csv", keep_default_na=False)
    assert trials["status"].tolist() == ["failed", "failed", "failed", "complete"]
    reasons = trials["failure_reason"].tolist()
    assert reasons[0] == "TypeError: user_builders:flaky returned str, not a Keras model"
    assert "not compiled" in reasons[1]
    assert reasons[2] == "RuntimeError: builder broke"
    assert best["trial"] == 3
    assert best["settings"]["model"] == {"family": "custom", "builder": "user_builders:flaky"}


def test_the_parameter_limit_counts_a_backbone_model():
    spec = ModelSpec("transfer", backbone="MobileNetV3Small", weights=None)
    hp = {"learning_rate": 1e-3}
    model = build(spec, hp, 32, 3)
    with pytest.raises(ModelTooLargeError, match=f"{model.count_params():,} parameters"):
        build(spec, hp, 32, 3, max_params=model.count_params() - 1)


def test_unfreeze_trains_only_the_backbones_top_layers():
    spec = ModelSpec("transfer", backbone="MobileNetV3Small", weights=None)
    head = build(spec, {"learning_rate": 1e-3, "dropout": 0.0}, 32, 3)
    deeper = build(spec, {"learning_rate": 1e-3, "dropout": 0.0, "unfreeze": 12}, 32, 3)
    assert len(head.trainable_weights) == 2  # the new Dense layer's kernel and bias
    assert len(deeper.trainable_weights) > 2


def _params(overlay: dict) -> dict:
    return merge(load_params([ROOT / "params.yaml"]), overlay)


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ({"model": {"family": "transfer", "backbone": "MobileNetV3Small", "weights": None}},
         "search_space.filters: the transfer model has no hyperparameter 'filters'"),
        ({"model": {"family": "blog_cnn", "builder": "a:b"}},
         "model.builder: the blog_cnn family takes no builder"),
        ({"model": {"family": "transfer", "backbone": "MobileNetV3Small", "weights": None},
          "standardise": {"image_size": 16},
          "search_space": {"filters": None, "kernel_size": None, "strides": None,
                           "activation": None}},
         "model.input_size: MobileNetV3Small needs images of at least 32 px"),
        ({"model": {"family": "custom"}}, "model: 'builder' is a required property"),
        ({"model": {"family": "custom", "builder": "no_such_module:build"}},
         "model.builder: no module 'no_such_module' (a file no_such_module.py in the project"),
        ({"search_space": {"momentum": {"type": "float", "low": 0, "high": 1,
                                        "when": {"activation": "sgd"}}}},
         "search_space.momentum: activation never takes ['sgd']"),
    ],
)  # fmt: skip
def test_a_model_and_space_that_disagree_are_refused_in_one_line(overlay, message):
    with pytest.raises(ParamsError, match=re.escape(message)):
        check(_params(overlay))


def test_each_familys_configuration_is_valid():
    for name in ("transfer", "custom"):
        params = load_params([ROOT / "params.yaml", ROOT / "config" / f"{name}.yaml"])
        assert params["model"]["family"] == name


def test_a_builder_function_that_is_not_there_fails_before_any_trial(tmp_path):
    # The light params check finds the module (it imports no user code); the tune stage looks
    # the function up before its first trial, instead of failing every trial.
    missing = {"model": {"family": "custom", "builder": "examples.small_cnn:nofn"}}
    settings = tune_settings("kt_random", missing, max_trials=2, max_epochs=1)
    with pytest.raises(ParamsError, match=r"^model.builder: examples.small_cnn has no function "):
        run_tuning(settings, tmp_path / "no_data_read", tmp_path / "out", tmp_path / "state")
    assert not (tmp_path / "state").exists()  # nothing started
