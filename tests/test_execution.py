"""How stages train: mixed precision and XLA settings, deterministic and recorded (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest
from tensorflow.python.framework.config import is_op_determinism_enabled

from bloomtune.data.dataset import Arrays
from bloomtune.model_settings import Training
from bloomtune.seeds import seed_everything
from bloomtune.training.execution import FitInputs, compiled_for, configure
from bloomtune.training.model import build_model

DEFAULT = Training(batch_size=16, validation_fraction=0.2)


@pytest.fixture
def restore():
    yield
    configure(DEFAULT)  # the process as every stage starts it: float32, op determinism on


def images(n=96, size=24, n_classes=3):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return Arrays.whole(x, rng.integers(0, n_classes, n))


def train_once(train: Training, data: Arrays):
    configure(train)
    inputs = FitInputs(data, None, train)
    seed_everything(5)
    model = compiled_for(build_model({"filters": 8, "strides": 2}, 24, 3), train)
    fit, _ = inputs.datasets()
    history = model.fit(fit, epochs=2, shuffle=False, verbose=0)
    return model, history.history["loss"]


def test_xla_runs_and_same_seed_gives_the_same_weights(restore):
    """Keras refuses jit_compile while op determinism is on; the setting turns it off for XLA,
    whose compiled step must still repeat exactly (checked here on CPU)."""
    xla = Training(16, 0.2, jit_compile=True)
    data = images()
    first, loss = train_once(xla, data)
    assert first.jit_compile is True and not is_op_determinism_enabled()
    again, _ = train_once(xla, data)
    for a, b in zip(first.get_weights(), again.get_weights(), strict=True):
        assert np.array_equal(a, b)
    assert all(np.isfinite(loss))
    plain, _ = train_once(DEFAULT, data)
    assert plain.jit_compile is False and is_op_determinism_enabled()


def test_mixed_precision_computes_in_16_bits_with_a_float32_softmax(restore):
    data = images()
    model, loss = train_once(Training(16, 0.2, mixed_precision="bfloat16"), data)
    conv, dense = model.layers[1], model.layers[-1]
    assert conv.compute_dtype == "bfloat16" and conv.variable_dtype == "float32"
    assert dense.compute_dtype == "float32"
    assert model.predict(data.take(np.arange(4)), verbose=0).dtype == np.float32
    assert all(np.isfinite(loss))
    configure(DEFAULT)
    assert build_model({}, 24, 3).layers[1].compute_dtype == "float32"


def test_only_settings_off_their_defaults_enter_the_search_key():
    """Searches started before these settings existed keep their key (and resume)."""
    assert DEFAULT.record() == {"batch_size": 16, "validation_fraction": 0.2}
    assert Training(16, 0.2, jit_compile=True).record() == {
        "batch_size": 16, "validation_fraction": 0.2, "jit_compile": True,
    }  # fmt: skip


def test_each_training_process_sees_only_its_own_gpus(tmp_path, monkeypatch):
    # Checked without a GPU: the devices each process is given. Two jobs side by side (or a
    # tune job's workers) each get their own, instead of every process taking every device.
    import os

    import pytest

    from bloomtune import machine
    from bloomtune.errors import UserError
    from bloomtune.tuning.workers import gpu_share

    monkeypatch.setattr(machine, "gpu_count", lambda: 3)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    try:
        assert machine.claim_gpus(1, tmp_path) == ["0"]
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES")  # the next job starts without it
        assert machine.claim_gpus(2, tmp_path) == ["1", "2"]  # device 0 is held
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
        with pytest.raises(UserError, match=r"^resources.gpus: this job needs 1 GPU\(s\) and 0"):
            machine.claim_gpus(1, tmp_path)
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,5")  # the scheduler's choice (Slurm)
        assert machine.claim_gpus(2, tmp_path) == ["4", "5"]
        assert [gpu_share(k, 2) for k in (1, 2)] == [
            {"CUDA_VISIBLE_DEVICES": "4"},
            {"CUDA_VISIBLE_DEVICES": "5"},
        ]
        assert machine.claim_gpus(0, tmp_path) == []  # no GPUs asked: nothing claimed
        # Asked for a GPU where there is none to see: said, never a quiet run on the CPU.
        for hidden in ("-1", ""):
            monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
            with pytest.raises(UserError, match=f"CUDA_VISIBLE_DEVICES='{hidden}' hides every"):
                machine.claim_gpus(1, tmp_path)
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
        monkeypatch.setattr(machine, "gpu_count", lambda: 0)
        with pytest.raises(UserError, match="needs 1 GPU\\(s\\) and this machine has none"):
            machine.claim_gpus(1, tmp_path)
    finally:
        for held in machine._held_gpus:
            held.close()
        machine._held_gpus.clear()
