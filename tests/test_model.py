"""One model builder from a plain dict; its size is known before it is built."""

from __future__ import annotations

import pytest

from bloomtune.errors import ModelTooLargeError
from bloomtune.training.model import build_model, count_params


@pytest.mark.parametrize(
    "hp",
    [
        {"filters": 64, "kernel_size": 3, "strides": 1, "activation": "relu"},
        {"filters": 128, "kernel_size": 5, "strides": 3, "activation": "tanh"},
    ],
)
def test_count_params_matches_keras(hp):
    model = build_model({**hp, "learning_rate": 1e-4}, image_size=20, n_classes=7)
    assert count_params(hp, 20, 7) == model.count_params()
    assert model.output_shape == (None, 7)


def test_blog_sized_stride_one_model_is_refused_before_building():
    hp = {"filters": 128, "kernel_size": 3, "strides": 1}
    assert count_params(hp, 300, 102) > 1_000_000_000
    with pytest.raises(ModelTooLargeError, match="max_model_params"):
        build_model(hp, 300, 102, max_params=200_000_000)


def test_the_auto_parameter_limit_is_the_jobs_memory_not_what_is_free(monkeypatch):
    # Free memory changes with what else runs (a Slurm node, two jobs side by side); the limit
    # must not, or two tuners of one comparison face different limits.
    from bloomtune import machine
    from bloomtune.training import model

    before = model.auto_max_params()
    monkeypatch.setattr(machine, "available_memory", lambda: 1)  # another job took it all
    assert model.auto_max_params() == before
    assert before == int(machine.job_memory() * 0.75) // 25
