"""Seeds: one for every library a job draws from, and seeds derived by hash."""

from __future__ import annotations


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (Keras' own helper does all three)."""
    import keras

    keras.utils.set_random_seed(seed)


def derive_seed(seed: int, *parts: int | str) -> int:
    """A seed for one sub-task (trial k, image i) derived from the global seed."""
    import hashlib

    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def optimiser_seed(seed: int, *parts: int | str) -> int:
    """The seed an optimiser's sampler or oracle starts from, derived from the repetition seed by
    hash, in [1, 2**31 - 1]: never 0 (Keras Tuner reads 0 as "no seed"), never past what NumPy and
    scikit-learn accept. Consecutive repetition seeds would not do: Keras Tuner advances its seed
    by one per hyperparameter it samples, so with D dimensions seed s + D draws seed s's trials
    shifted by one, and the repetitions would be overlapping copies of each other."""
    return derive_seed(seed, "optimiser", *parts) % (2**31 - 1) + 1
