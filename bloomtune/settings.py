"""Resolved settings: each stage's params sections parsed once into small frozen objects.

A stage sees only the sections it declares (params.STAGE_SECTIONS); `resolve` turns them into the
object its package function takes. Package functions take (settings, input paths..., output
paths...). The stages that build models (weights, tune, best_epoch, retrain) resolve theirs in
bloomtune/model_settings.py, which reads the model and search-space vocabularies; these here
read neither, so editing those vocabularies reruns none of these stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from bloomtune.errors import ParamsError
from bloomtune.params import stage_params


@dataclass(frozen=True)
class Tuner:
    """A tuner's name, framework and its own params entry (read-only)."""

    name: str
    framework: str
    options: MappingProxyType = field(compare=False)

    @property
    def workers(self) -> int:
        """Processes its search runs at once."""
        return workers_of(self.options)


def workers_of(entry) -> int:
    """A tuner entry's `workers` (1 unless it says more): the one place that default lives."""
    return entry.get("workers", 1)


@dataclass(frozen=True)
class DownloadSettings:
    seed: int
    data: MappingProxyType


@dataclass(frozen=True)
class StandardiseSettings:
    image_size: int
    split: str
    interpolation: str
    on_bad_image: str = "fail"
    max_pixels: int = 89_478_485  # Pillow's default: larger images are refused from the header


@dataclass(frozen=True)
class EvaluateSettings:
    pass


@dataclass(frozen=True)
class ReportSettings:
    tuners: tuple
    seeds: tuple
    show_blog_reference: bool
    title: str | None = None
    note: str | None = None
    comparisons: str = "all_pairs"  # all_pairs | control
    control: str | None = None
    rope: float = 0.01
    budget_fractions: tuple = (0.25, 0.5, 1.0)
    replayed: bool = False  # replay.tables: [grid]; the report links the replay's page


@dataclass(frozen=True)
class TableSettings:
    shards: tuple  # tabulate.shards: the shard journals merged


@dataclass(frozen=True)
class ReplayReportSettings:
    """The replay's page: the report's settings over replay seeds 1..N, and the table's grid."""

    report: ReportSettings
    grid: MappingProxyType
    tabulate_seeds: int
    live_seeds: tuple  # params `seeds`: the live repetitions the replay is checked against
    model: str = "grid"  # replay.model: what the replay's trials read (replay/surrogate.py)


def _download(sections, tuner, seed):
    return DownloadSettings(sections["seed"], MappingProxyType(sections["data"]))


def _standardise(sections, tuner, seed):
    return StandardiseSettings(
        **sections["standardise"], on_bad_image=sections["data.on_bad_image"]
    )


def _report_over(sections, seeds, **extra) -> ReportSettings:
    own = dict(sections["report"])
    if "budget_fractions" in own:
        own["budget_fractions"] = tuple(own["budget_fractions"])
    return ReportSettings(tuple(sections["tuners"]), tuple(seeds), **own, **extra)


def _report(sections, tuner, seed):
    return _report_over(sections, sections["seeds"],
                        replayed=bool(sections["replay.tables"]))  # fmt: skip


def _replay_report(sections, tuner, seed):
    tabulate = sections["tabulate"]
    return ReplayReportSettings(
        _report_over(sections, range(1, sections["replay.seeds"] + 1)),
        MappingProxyType(dict(tabulate["grid"])), tabulate["seeds"], tuple(sections["seeds"]),
        sections["replay.model"],
    )  # fmt: skip


# The stages that build no model; bloomtune.model_settings adds those that do.
RESOLVERS = {
    "download": _download,
    "standardise": _standardise,
    "evaluate": lambda sections, tuner, seed: EvaluateSettings(),
    "report": _report,
    "replay_report": _replay_report,
    "table": lambda sections, tuner, seed: TableSettings(tuple(sections["tabulate.shards"])),
}


# Stages that run once per repetition and take its seed (the job's `--seed`).
REPEATED = {"tune", "best_epoch", "retrain"}


def resolve(
    params: dict,
    stage: str,
    tuner: str | None = None,
    seed: int | None = None,
    resolvers: dict = RESOLVERS,
):
    """The stage's settings object, built from only the params sections it declares (checked),
    and, for a repeated stage, the repetition's seed (one of params `seeds`; the job's wildcard,
    not a section, so adding a repetition leaves the others' jobs alone)."""
    if (stage in REPEATED) != (seed is not None):
        need = "needs" if stage in REPEATED else "takes no"
        raise ParamsError(f"seeds: stage {stage} {need} a repetition seed")
    return resolvers[stage](stage_params(params, stage, tuner), tuner, seed)
