"""The one search space declared in params.yaml, as dimension objects that present themselves to
Optuna, to Keras Tuner and to the report (light: the params check imports it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Categorical:
    name: str
    choices: tuple

    def __post_init__(self):
        if len(set(map(repr, self.choices))) != len(self.choices):
            raise ValueError("choices repeat a value")

    def suggest_optuna(self, trial):
        return trial.suggest_categorical(self.name, list(self.choices))

    def declare_keras_tuner(self, hp):
        return hp.Choice(self.name, list(self.choices))

    def optuna_distribution(self):
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(list(self.choices))

    def describe(self) -> str:
        return f"{self.name} in {{{', '.join(map(str, self.choices))}}}"

    def as_params(self) -> dict:
        return {"type": "categorical", "choices": list(self.choices)}


@dataclass(frozen=True)
class _Range:
    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self):
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is greater than high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log-scale range needs low > 0, got {self.low}")

    @property
    def choices(self) -> None:  # a range has no list of choices (figures plot it on an axis)
        return None

    def describe(self) -> str:
        scale = " log" if self.log else ""
        return f"{self.name} in [{self.low:g}, {self.high:g}]{scale}"


@dataclass(frozen=True)
class IntRange(_Range):
    step: int = 1

    def __post_init__(self):
        super().__post_init__()
        if self.log and self.step != 1:
            raise ValueError("a log-scale int range cannot have a step")

    def suggest_optuna(self, trial):
        return trial.suggest_int(self.name, self.low, self.high, step=self.step, log=self.log)

    def declare_keras_tuner(self, hp):
        sampling = "log" if self.log else "linear"
        step = None if self.log else self.step
        return hp.Int(self.name, self.low, self.high, step=step, sampling=sampling)

    def optuna_distribution(self):
        from optuna.distributions import IntDistribution

        return IntDistribution(self.low, self.high, step=self.step, log=self.log)

    def as_params(self) -> dict:
        return {
            "type": "int",
            "low": self.low,
            "high": self.high,
            "step": self.step,
            "log": self.log,
        }


@dataclass(frozen=True)
class FloatRange(_Range):
    def suggest_optuna(self, trial):
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def declare_keras_tuner(self, hp):
        sampling = "log" if self.log else "linear"
        return hp.Float(self.name, self.low, self.high, sampling=sampling)

    def optuna_distribution(self):
        from optuna.distributions import FloatDistribution

        return FloatDistribution(self.low, self.high, log=self.log)

    def as_params(self) -> dict:
        return {"type": "float", "low": self.low, "high": self.high, "log": self.log}


def dimension(name: str, spec: dict):
    """One dimension from its params entry (already schema-checked); ValueError if inconsistent."""
    kind = spec["type"]
    if kind == "categorical":
        return Categorical(name, tuple(spec["choices"]))
    if kind == "int":
        return IntRange(
            name, spec["low"], spec["high"], spec.get("log", False), spec.get("step", 1)
        )
    return FloatRange(name, float(spec["low"]), float(spec["high"]), spec.get("log", False))


@dataclass(frozen=True)
class SearchSpace:
    dimensions: tuple

    @classmethod
    def from_params(cls, section: dict) -> SearchSpace:
        return cls(tuple(dimension(name, spec) for name, spec in section.items()))

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def __iter__(self):
        return iter(self.dimensions)

    def suggest_optuna(self, trial) -> dict:
        """Ask an Optuna trial for one value of every dimension."""
        return {d.name: d.suggest_optuna(trial) for d in self.dimensions}

    def declare_keras_tuner(self, hp) -> dict:
        """Declare every dimension on a Keras Tuner HyperParameters object; return its values."""
        return {d.name: d.declare_keras_tuner(hp) for d in self.dimensions}

    def optuna_distributions(self) -> dict:
        """The space as Optuna distributions (to rebuild a study from a ledger)."""
        return {d.name: d.optuna_distribution() for d in self.dimensions}

    def describe(self) -> str:
        return "; ".join(d.describe() for d in self.dimensions)

    def as_params(self) -> dict:
        return {d.name: d.as_params() for d in self.dimensions}
