"""The one search space declared in params.yaml (the `search_space` section's vocabulary), as
dimension objects that present themselves to Optuna, to Keras Tuner and to the report (light:
the params check imports it).

Beyond categorical, int (with a step) and float ranges: `fixed` values, and conditional
dimensions (`when: {parent: [values]}`) that exist only while an earlier categorical or fixed
dimension takes one of those values: Optuna asks for them define-by-run, Keras Tuner declares
them in a `conditional_scope`, and a trial where one is inactive records it empty."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bloomtune.errors import ParamsError


@dataclass(frozen=True)
class Categorical:
    name: str
    choices: tuple
    when: tuple = field(default=(), kw_only=True)  # (parent, values) of a conditional one

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
class Fixed:
    """A value every trial uses: declared so that the model sees it and the ledger records it."""

    name: str
    value: object
    when: tuple = field(default=(), kw_only=True)

    @property
    def choices(self) -> tuple:
        return (self.value,)

    def suggest_optuna(self, trial):
        return self.value  # nothing to sample; Optuna's samplers never see it

    def declare_keras_tuner(self, hp):
        return hp.Fixed(self.name, self.value)

    def optuna_distribution(self):
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution([self.value])

    def describe(self) -> str:
        return f"{self.name} = {self.value}"

    def as_params(self) -> dict:
        return {"type": "fixed", "value": self.value}


@dataclass(frozen=True)
class _Range:
    name: str
    low: float
    high: float
    log: bool = False
    when: tuple = field(default=(), kw_only=True)

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


def _when(spec: dict) -> tuple:
    """A conditional dimension's (parent, allowed values), from `when: {parent: value(s)}`."""
    if not spec.get("when"):
        return ()
    ((parent, values),) = spec["when"].items()
    return (parent, tuple(values) if isinstance(values, list) else (values,))


def dimension(name: str, spec: dict):
    """One dimension from its params entry (already schema-checked); ValueError if inconsistent."""
    kind, when = spec["type"], _when(spec)
    if kind == "categorical":
        return Categorical(name, tuple(spec["choices"]), when=when)
    if kind == "fixed":
        return Fixed(name, spec["value"], when=when)
    if kind == "int":
        return IntRange(
            name, spec["low"], spec["high"], spec.get("log", False), spec.get("step", 1),
            when=when,
        )  # fmt: skip
    return FloatRange(
        name, float(spec["low"]), float(spec["high"]), spec.get("log", False), when=when
    )


def _with_condition(dim, text: str) -> str:
    if not dim.when:
        return text
    parent, values = dim.when
    return f"{text} (when {parent} in {{{', '.join(map(str, values))}}})"


@dataclass(frozen=True)
class SearchSpace:
    dimensions: tuple

    def __post_init__(self):
        seen = {}
        for dim in self.dimensions:
            if dim.when:
                parent, values = dim.when
                if parent not in seen:
                    raise ValueError(
                        f"{dim.name}: when names {parent!r}, which is not a dimension declared "
                        "before it"
                    )
                if seen[parent].choices is None:
                    raise ValueError(f"{dim.name}: when needs a categorical or fixed {parent!r}")
                unknown = [v for v in values if v not in seen[parent].choices]
                if unknown:
                    raise ValueError(f"{dim.name}: {parent} never takes {unknown}")
            seen[dim.name] = dim

    @classmethod
    def from_params(cls, section: dict) -> SearchSpace:
        """The space of a `search_space` section; a dimension set to null (by an overlay, which
        can only add or change keys) is left out."""
        return cls(
            tuple(dimension(name, spec) for name, spec in section.items() if spec is not None)
        )

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    @property
    def conditional(self) -> bool:
        return any(d.when for d in self.dimensions)

    @property
    def size(self) -> float:
        """How many configurations the space holds: math.inf with a float range; a conditional
        dimension counted as always active, so at most this many."""
        count = 1.0
        for dim in self.dimensions:
            if isinstance(dim, FloatRange):
                return math.inf
            if isinstance(dim, IntRange):
                step = 1 if dim.log else dim.step
                count *= (dim.high - dim.low) // step + 1
            else:
                count *= len(dim.choices)
        return count

    def __iter__(self):
        return iter(self.dimensions)

    def _active(self, dim, values: dict) -> bool:
        if not dim.when:
            return True
        parent, allowed = dim.when
        return parent in values and values[parent] in allowed

    def suggest_optuna(self, trial) -> dict:
        """Ask an Optuna trial for one value of every active dimension (define-by-run)."""
        values = {}
        for dim in self.dimensions:
            if self._active(dim, values):
                values[dim.name] = dim.suggest_optuna(trial)
        return values

    def declare_keras_tuner(self, hp) -> dict:
        """Declare every dimension on a Keras Tuner HyperParameters object, a conditional one
        inside its parent's conditional_scope; return the values."""
        values = {}
        for dim in self.dimensions:
            if dim.when:
                parent, allowed = dim.when
                with hp.conditional_scope(parent, list(allowed)):
                    values[dim.name] = dim.declare_keras_tuner(hp)
            else:
                values[dim.name] = dim.declare_keras_tuner(hp)
        return values

    def active(self, values: dict) -> dict:
        """The values of the dimensions active under `values` (in declaration order)."""
        out = {}
        for dim in self.dimensions:
            if dim.name in values and self._active(dim, out):
                out[dim.name] = values[dim.name]
        return out

    def optuna_distributions(self) -> dict:
        """The space as Optuna distributions (to rebuild a study from a ledger)."""
        return {d.name: d.optuna_distribution() for d in self.dimensions}

    def describe(self) -> str:
        return "; ".join(_with_condition(d, d.describe()) for d in self.dimensions)

    def as_params(self) -> dict:
        out = {}
        for d in self.dimensions:
            entry = d.as_params()
            if d.when:
                parent, values = d.when
                entry["when"] = {parent: list(values)}
            out[d.name] = entry
        return out


def check_space(section: dict) -> SearchSpace:
    """The `search_space` section as a space, or ParamsError naming the dimension's key."""
    for name, spec in section.items():
        if spec is None:  # removed by an overlay
            continue
        try:
            dimension(name, spec)
        except ValueError as exc:
            raise ParamsError(f"search_space.{name}: {exc}") from None
    try:
        space = SearchSpace.from_params(section)
    except ValueError as exc:  # a condition on a missing or later dimension, or a wrong value
        raise ParamsError(f"search_space.{exc}") from None
    if not space.dimensions:
        raise ParamsError("search_space: every dimension is null; declare at least one")
    return space
