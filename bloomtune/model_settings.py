"""Settings of the stages that build models (weights, tune, best_epoch, retrain): the model,
the search space, the budget and the training settings, with a tuner's own budget and training
overrides merged here and nowhere else."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import MappingProxyType

from bloomtune import settings
from bloomtune.model_spec import ModelSpec
from bloomtune.objective import direction as objective_direction
from bloomtune.params import merge
from bloomtune.settings import Tuner
from bloomtune.space import SearchSpace


@dataclass(frozen=True)
class Budget:
    """One tuner's search budget: the shared `tuning:` section with its own overrides."""

    objective: str
    max_trials: int
    max_epochs: int
    max_total_epochs: int | None = None
    timeout_s: float | None = None
    max_model_params: int | str = "auto"

    @property
    def direction(self) -> str:
        return objective_direction(self.objective)


REQUIRED_TRAIN = ("batch_size", "validation_fraction")


@dataclass(frozen=True)
class Training:
    """Settings every trial, best-epoch search and retraining of one tuner trains with."""

    batch_size: int
    validation_fraction: float
    # How, not what: defaults are the CPU path (training/execution.py, training/inputs.py).
    input: str = "auto"  # auto | mapped | resident
    mixed_precision: bool | str = False  # false | float16 | bfloat16
    jit_compile: bool = False

    def record(self) -> dict:
        """As plain values; settings at their defaults are left out, so searches from before
        they existed keep their key and resume."""
        mine, default = asdict(self), asdict(Training(self.batch_size, self.validation_fraction))
        return {k: v for k, v in mine.items() if v != default[k] or k in REQUIRED_TRAIN}


@dataclass(frozen=True)
class TuneSettings:
    """`seed` is the repetition's: samplers, oracles and trial training. `data_seed` (params
    `seed`) carves the validation split, the same in every repetition of every tuner."""

    tuner: Tuner
    seed: int
    data_seed: int
    budget: Budget
    train: Training
    space: SearchSpace
    model: ModelSpec = ModelSpec()

    def record(self) -> dict:
        """What defines the search, as plain values: best.json's settings, the state key. The
        default model (the blog's CNN) adds nothing, so searches from before `model:` existed
        keep their key and resume."""
        model = {} if self.model == ModelSpec() else {"model": self.model.record()}
        return {
            "seed": self.seed,
            "data_seed": self.data_seed,
            "budget": asdict(self.budget),
            "train": self.train.record(),
            "search_space": self.space.as_params(),
            **model,
            "tuner": dict(self.tuner.options),
        }


@dataclass(frozen=True)
class BestEpochSettings:
    tuner: Tuner
    seed: int
    data_seed: int
    objective: str
    train: Training
    max_epochs: int
    patience: int
    model: ModelSpec = ModelSpec()


@dataclass(frozen=True)
class RetrainSettings:
    tuner: Tuner
    seed: int
    train: Training
    model: ModelSpec = ModelSpec()


@dataclass(frozen=True)
class TabulateSettings:
    """One shard of the table: every `shards`-th grid configuration, trained `seeds` times for
    `max_epochs` epochs on the tuning split, with the shared `train` settings."""

    data_seed: int
    train: Training
    space: SearchSpace
    max_epochs: int
    max_model_params: int | str
    grid: MappingProxyType
    seeds: int
    shards: int
    model: ModelSpec = ModelSpec()

    def record(self) -> dict:
        """What defines the table (its shards' state key)."""
        return {
            "data_seed": self.data_seed, "train": self.train.record(),
            "search_space": self.space.as_params(), "max_epochs": self.max_epochs,
            "max_model_params": self.max_model_params, "grid": dict(self.grid),
            "seeds": self.seeds, "shards": self.shards, "model": self.model.record(),
        }  # fmt: skip

    def trials(self, seed: int, configurations: int) -> TuneSettings:
        """Tabulation seed `seed`'s training as a search's settings, for the trial runner: each
        of the grid's `configurations` one trial of `max_epochs` epochs, with nothing else to
        stop it. Its objective decides nothing a table keeps (tabulate.py)."""
        budget = Budget("val_accuracy", configurations, self.max_epochs,
                        max_model_params=self.max_model_params)  # fmt: skip
        tuner = Tuner("tabulate", "table", MappingProxyType({}))
        return TuneSettings(tuner, seed, self.data_seed, budget, self.train, self.space,
                            self.model)  # fmt: skip


@dataclass(frozen=True)
class ReplaySettings:
    """One tuner's replays: its search settings for each replay seed 1..N, and the grid."""

    searches: tuple  # of TuneSettings
    grid: MappingProxyType
    model: str = "grid"  # or "surrogate" (replay/surrogate.py)


@dataclass(frozen=True)
class WeightsSettings:
    model: ModelSpec


def _tuner(sections: dict, name: str) -> Tuner:
    entry = sections[f"tuners.{name}"]
    return Tuner(name, entry["framework"], MappingProxyType(dict(entry)))


def _merged(sections: dict, tuner: str, name: str) -> dict:
    """The shared `tuning` or `train` section with the tuner's own overrides applied."""
    return merge(sections.get(name) or {}, sections[f"tuners.{tuner}"].get(name) or {})


def _budget(sections: dict, tuner: str) -> Budget:
    return Budget(**_merged(sections, tuner, "tuning"))


def _training(sections: dict, tuner: str) -> Training:
    return Training(**_merged(sections, tuner, "train"))


def _tune(sections, tuner, seed):
    space = SearchSpace.from_params(sections["search_space"])
    return TuneSettings(
        _tuner(sections, tuner), seed, sections["seed"], _budget(sections, tuner),
        _training(sections, tuner), space, ModelSpec.from_params(sections["model"]),
    )  # fmt: skip


def _tabulate(sections, tuner, seed):
    own = sections["tabulate"]
    return TabulateSettings(
        sections["seed"], Training(**sections["train"]),
        SearchSpace.from_params(sections["search_space"]), sections["tuning.max_epochs"],
        sections["tuning.max_model_params"], MappingProxyType(dict(own["grid"])), own["seeds"],
        len(own["shards"]), ModelSpec.from_params(sections["model"]),
    )  # fmt: skip


def _replay(sections, tuner, seed):
    searches = tuple(_tune(sections, tuner, s) for s in range(1, sections["replay.seeds"] + 1))
    return ReplaySettings(searches, MappingProxyType(dict(sections["tabulate.grid"])),
                          sections["replay.model"])  # fmt: skip


def _best_epoch(sections, tuner, seed):
    own = sections["best_epoch"]
    return BestEpochSettings(
        _tuner(sections, tuner), seed, sections["seed"], sections["tuning.objective"],
        _training(sections, tuner), own["max_epochs"], own["patience"],
        ModelSpec.from_params(sections["model"]),
    )  # fmt: skip


def _retrain(sections, tuner, seed):
    return RetrainSettings(
        _tuner(sections, tuner), seed, _training(sections, tuner),
        ModelSpec.from_params(sections["model"]),
    )  # fmt: skip


RESOLVERS = {
    **settings.RESOLVERS,
    "weights": lambda sections, tuner, seed: WeightsSettings(
        ModelSpec.from_params(sections["model"])
    ),
    "tune": _tune,
    "tabulate": _tabulate,
    "replay": _replay,
    "best_epoch": _best_epoch,
    "retrain": _retrain,
}


def with_weights(settings, folder: Path):
    """A model stage's settings with the pretrained weights read from `folder` (the weights
    stage's output, which the rule passes)."""
    return replace(settings, model=replace(settings.model, weights_dir=Path(folder)))


def resolve(params: dict, stage: str, tuner: str | None = None, seed: int | None = None):
    """Any stage's settings object (see bloomtune.settings.resolve)."""
    return settings.resolve(params, stage, tuner, seed, RESOLVERS)
