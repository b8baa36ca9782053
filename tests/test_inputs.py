"""The training input path: splits are views, batches are Keras' own, one copy of the images at
most (issue 14)."""

from __future__ import annotations

import importlib.util
import json
import sys
import tracemalloc

import numpy as np
import pytest
import yaml
from conftest import ROOT, tool_env

from bloomtune.data import dataset


def bench_module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


arrays, measure = bench_module("arrays"), bench_module("measure")


def official(folder, n_train, size=32, n_classes=4):
    """A standardised folder with its own validation split (retraining joins the two)."""
    counts = {"train": n_train, "validation": n_train // 4, "test": 8}
    return arrays.write_arrays(folder, counts, size, n_classes)


def test_views_read_the_rows_a_copy_would(tmp_path):
    blog = arrays.write_arrays(tmp_path / "blog", {"train": 90, "test": 8}, 16, 3)
    x = np.load(blog / "train_images.npy")
    y = np.load(blog / "train_labels.npy")
    data = dataset.load_training(blog, 0.25, seed=5)
    holdout = dataset.stratified_holdout(y, 0.25, seed=5)
    assert np.array_equal(data.validation.read_all(), x[holdout])
    assert np.array_equal(data.train.read_all(), x[~holdout])
    assert np.array_equal(data.train.y, y[~holdout])
    index = np.array([5, 0, 17, 5])
    assert np.array_equal(data.train.take(index), x[~holdout][index])

    joined = dataset.load_all_training(official(tmp_path / "official", 40, size=16))
    stored = [np.load(tmp_path / "official" / f"{s}_images.npy") for s in ("train", "validation")]
    index = np.array([45, 3, 39, 40, 0, 49])  # both parts, out of order
    assert np.array_equal(joined.take(index), np.concatenate(stored)[index])
    assert len(joined) == 50 and joined.nbytes == 50 * 16 * 16 * 3


def test_preparing_training_data_copies_no_image(tmp_path):
    """Loading the splits, carving validation, joining train and validation for retraining and
    building the batch pipelines allocate a small fraction of the images' bytes (the old path:
    a boolean-index copy and a concatenation, each the whole array)."""
    pytest.importorskip("tensorflow")
    from bloomtune.model_settings import Training
    from bloomtune.training.execution import FitInputs

    blog = arrays.write_arrays(tmp_path / "blog", {"train": 2000, "test": 8}, 64, 4)
    joined = official(tmp_path / "official", 2000, size=64)
    train = Training(batch_size=32, validation_fraction=0.2, input="mapped")
    image_bytes = 2000 * 64 * 64 * 3
    tracemalloc.start()
    try:
        data = dataset.load_training(blog, 0.2, seed=1)
        FitInputs(data.train, data.validation, train).datasets()
        everything = dataset.load_all_training(joined)
        FitInputs(everything, None, train).datasets()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(everything) == 2500
    assert peak < 0.1 * image_bytes, f"{peak} bytes allocated for {image_bytes} of images"


@pytest.mark.parametrize("placement", ["mapped", "resident"])
def test_batches_are_kerass_own(tmp_path, placement):
    """Same seed, same weights as Keras fed the arrays themselves: the input path changes where
    batches come from, not which images they hold (a partial last batch included)."""
    import tensorflow as tf

    from bloomtune.seeds import seed_everything

    tf.config.experimental.enable_op_determinism()  # as every stage runs
    from bloomtune.model_settings import Training
    from bloomtune.training.execution import FitInputs
    from bloomtune.training.model import build_model

    folder = arrays.write_arrays(tmp_path / "d", {"train": 150, "test": 8}, 16, 3)
    data = dataset.load_training(folder, 0.2, seed=3)
    hp = {"filters": 4, "strides": 2}

    def trained(feed):
        seed_everything(11)
        model = build_model(hp, 16, 3)
        if feed is None:
            x, v = data.train.read_all(), data.validation.read_all()
            model.fit(x, data.train.y, validation_data=(v, data.validation.y), batch_size=16,
                      epochs=2, verbose=0)  # fmt: skip
        else:
            fit, validation = feed.datasets()
            model.fit(fit, validation_data=validation, epochs=2, shuffle=False, verbose=0)
        return model.get_weights()

    feed = FitInputs(data.train, data.validation, Training(16, 0.2, input=placement))
    assert len(data.train) % 16  # a partial batch
    for ours, keras_own in zip(trained(feed), trained(None), strict=True):
        assert np.array_equal(ours, keras_own)


# --- peak memory of the real stages -------------------------------------------------------

HP = {"filters": 16, "kernel_size": 3, "strides": 3, "activation": "relu", "learning_rate": 1e-4}


def run_stage_measured(stage, folder, data, extra):
    overlay = {
        "seeds": [1],
        "train": {"batch_size": 64, "input": "mapped"},
        "tuning": {"max_trials": 1, "max_epochs": 1, "max_total_epochs": None},
        "search_space": {k: {"type": "fixed", "value": v} for k, v in HP.items()},
    }
    folder.mkdir(parents=True, exist_ok=True)
    # An overlay changes keys; null removes one: drop the default space's dimensions first.
    (folder / "clear.yaml").write_text(yaml.safe_dump({"search_space": dict.fromkeys(HP)}))
    (folder / "bench.yaml").write_text(yaml.safe_dump(overlay))
    command = [sys.executable, str(ROOT / "scripts" / f"{stage}.py"), "--params",
               str(ROOT / "params.yaml"), str(folder / "clear.yaml"), str(folder / "bench.yaml"),
               "--tuner", "optuna_tpe",
               "--seed", "1", "--data", str(data), *extra]  # fmt: skip
    env = tool_env() | {"OMP_NUM_THREADS": "2", "PYTHONPATH": str(ROOT)}
    done = measure.run_measured(command, env=env, timeout=300)
    assert done["returncode"] == 0, done["stderr"][-3000:]
    return done["peak_mb"]


def tune_args(folder):
    return ["--out", str(folder / "out"), "--state", str(folder / "state")]


def retrain_args(folder):
    chosen = folder / "best_epoch.json"
    chosen.parent.mkdir(parents=True, exist_ok=True)
    chosen.write_text(json.dumps({"hyperparameters": HP, "best_epoch": 1}))
    return ["--best-epoch", str(chosen), "--model", str(folder / "m.keras"),
            "--out", str(folder / "retrain.json")]  # fmt: skip


@pytest.mark.parametrize(("stage", "extra"), [("tune", tune_args), ("retrain", retrain_args)])
def test_a_training_stage_holds_at_most_one_copy_of_the_images(tmp_path, stage, extra):
    """The stage's peak RSS grows with the data by about the images' bytes (their pages, read
    from the mapped file), not by the 3-4 copies Keras made of arrays it was handed. Measured
    as the difference between a large and a small data set of the same shapes, so TensorFlow's
    own footprint cancels out."""
    n_large, n_small, size = 6000, 200, 96
    peaks = {}
    for name, n in (("small", n_small), ("large", n_large)):
        data = official(tmp_path / f"{name}_data", n, size=size)
        folder = tmp_path / name
        peaks[name] = run_stage_measured(stage, folder, data, extra(folder))
    grown_mb = (n_large - n_small) * 1.25 * size * size * 3 / 2**20  # train + validation
    extra_mb = peaks["large"] - peaks["small"] - grown_mb
    assert extra_mb < 0.25 * grown_mb + 64, f"{stage}: {peaks}, images {grown_mb:.0f} MB"
