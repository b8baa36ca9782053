"""The workflow's stages, written once: what each runs, reads and writes.

The Snakefile's rule files (rules/*.smk) take their inputs, outputs, logs and shell commands from
here, and dvc.yaml is generated from the same table (`python -m bloomtune.dvc_yaml --write`; a
test fails when the committed file is stale), so a command, a path or a params section is written
once. A path is a template over the stage's wildcards (`{tuner}`, `{seed}`, `{shard}`); each
orchestrator spells them its own way (`{wildcards.tuner}`, `${item.tuner}`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bloomtune.params import STAGE_SECTIONS

RUN = "{tuner}/seed_{seed}"  # one repetition of one tuner, in every per-run path
PARAMS_FILE = "params.yaml"  # what DVC reads; Snakemake passes it and its overlays
REPLAY_VERDICT = "results/metrics/replay.json"  # how far to trust the replay, for the report
# What a gathering input ranges over: every run, every shard, every tuner, or (`replayed`) its
# files as they are with replay.tables on and none with it off. The Snakefile expands them over
# the config; DVC depends on the folder, so a file of a gated stage in a folder every run fills
# orders the stages in both without a dependency DVC could not make conditional.
RANGES = ("runs", "shards", "tuners", "replayed")


@dataclass(frozen=True)
class Gather:
    """An input that collects one file per run (or shard, or tuner) under one folder: Snakemake
    lists the files, DVC the folder (a DVC stage cannot list a matrix's outputs)."""

    folder: str
    files: tuple[str, ...]
    over: str  # one of RANGES

    def __post_init__(self) -> None:
        if self.over not in RANGES:
            raise ValueError(
                f"{self.folder}: a Gather ranges over one of {RANGES}, not {self.over!r}"
            )


@dataclass(frozen=True)
class Shown:
    """An output meant for people: Snakemake's `report()` puts it in `snakemake --report`."""

    caption: str  # a .rst file, from the project root
    category: str
    per_run: bool = False  # labelled with its tuner and seed


@dataclass(frozen=True)
class Output:
    path: str
    folder: bool = False
    cache: bool = False  # DVC keeps a copy of data and models, not of small result files
    kind: str = "outs"  # DVC's outs, metrics or plots
    plot_x: str | None = None
    shown: Shown | None = None


@dataclass(frozen=True)
class Stage:
    name: str
    script: str
    args: tuple[tuple[str, str], ...]  # (flag, value), after --params; values are templates
    inputs: dict[str, str | Gather] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    log: str = ""
    over: tuple[str, ...] = ()  # the wildcards: one job per value of each
    gated: bool = False  # only with replay.tables [grid] (tabulate once, replay many)
    note: str = ""  # why, for dvc.yaml's readers

    @property
    def sections(self) -> list[str]:
        """The params sections the stage reads (bloomtune/params.py), `{tuner}` a template."""
        return STAGE_SECTIONS[self.name]

    @property
    def benchmark(self) -> str:
        return re.sub(r"^results/logs/(.*)\.log$", r"results/benchmarks/\1.tsv", self.log)


def cached(path: str, folder: bool = False) -> Output:
    return Output(path, folder=folder, cache=True)


def _run(name: str) -> str:
    return f"results/{name}/{RUN}"


_DATA = {"data": "data/standardised", "weights": "data/weights"}
_RUN_ARGS = (("--tuner", "{tuner}"), ("--seed", "{seed}"))


def _shown(name: str, category: str = "Comparison") -> Shown:
    return Shown(f"results/report/captions/{name}.rst", category)


_FIGURES = ("critical_difference", "anytime", "rank_over_budget", "evidence", "best_epoch",
            "hyperparameters", "importances")  # fmt: skip

STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in [
        Stage(
            "download",
            "scripts/download.py",
            (("--out", "data/raw"),),
            outputs={"raw": cached("data/raw", folder=True)},
            log="results/logs/download.log",
        ),
        Stage(
            "standardise",
            "scripts/standardise.py",
            (("--raw", "data/raw"), ("--out", "data/standardised")),
            inputs={"raw": "data/raw"},
            outputs={"standardised": cached("data/standardised", folder=True)},
            log="results/logs/standardise.log",
        ),
        Stage(
            "weights",
            "scripts/weights.py",
            (("--out", "data/weights"),),
            outputs={"weights": cached("data/weights", folder=True)},
            log="results/logs/weights.log",
            note="A pretrained backbone's weights are data: fetched once and verified.",
        ),
        Stage(
            "tune",
            "scripts/tune.py",
            (
                *_RUN_ARGS,
                ("--data", _DATA["data"]),
                ("--weights", _DATA["weights"]),
                ("--out", _run("tuning")),
                ("--state", _run("state")),
            ),
            inputs=dict(_DATA),
            outputs={
                "trials": Output(f"{_run('tuning')}/trials.csv"),
                "best": Output(f"{_run('tuning')}/best.json"),
            },
            log=f"results/logs/tune/{RUN}.log",
            over=("tuner", "seed"),
            note="One tune -> best_epoch -> retrain -> evaluate chain per tuner and repetition "
            "seed: adding a seed to `seeds` adds only its stages, and the report.",
        ),
        Stage(
            "best_epoch",
            "scripts/best_epoch.py",
            (
                *_RUN_ARGS,
                ("--best", f"{_run('tuning')}/best.json"),
                ("--data", _DATA["data"]),
                ("--weights", _DATA["weights"]),
                ("--out", _run("best_epoch")),
            ),
            inputs={**_DATA, "best": f"{_run('tuning')}/best.json"},
            outputs={
                "history": Output(
                    f"{_run('best_epoch')}/history.csv", kind="plots", plot_x="epoch"
                ),
                "chosen": Output(f"{_run('best_epoch')}/best_epoch.json"),
            },
            log=f"results/logs/best_epoch/{RUN}.log",
            over=("tuner", "seed"),
        ),
        Stage(
            "retrain",
            "scripts/retrain.py",
            (
                *_RUN_ARGS,
                ("--best-epoch", f"{_run('best_epoch')}/best_epoch.json"),
                ("--data", _DATA["data"]),
                ("--weights", _DATA["weights"]),
                ("--model", f"results/models/{RUN}.keras"),
                ("--out", f"results/retrain/{RUN}.json"),
            ),
            inputs={**_DATA, "chosen": f"{_run('best_epoch')}/best_epoch.json"},
            outputs={
                "model": cached(f"results/models/{RUN}.keras"),
                "record": Output(f"results/retrain/{RUN}.json"),
            },
            log=f"results/logs/retrain/{RUN}.log",
            over=("tuner", "seed"),
        ),
        Stage(
            "evaluate",
            "scripts/evaluate.py",
            (
                ("--tuner", "{tuner}"),
                ("--model", f"results/models/{RUN}.keras"),
                ("--data", _DATA["data"]),
                ("--best", f"{_run('tuning')}/best.json"),
                ("--best-epoch", f"{_run('best_epoch')}/best_epoch.json"),
                ("--retrained", f"results/retrain/{RUN}.json"),
                ("--out", f"results/metrics/{RUN}.json"),
                ("--details", _run("evaluation")),
            ),
            inputs={
                "data": _DATA["data"],
                "model": f"results/models/{RUN}.keras",
                "best": f"{_run('tuning')}/best.json",
                "chosen": f"{_run('best_epoch')}/best_epoch.json",
                "record": f"results/retrain/{RUN}.json",
            },
            outputs={
                "metrics": Output(f"results/metrics/{RUN}.json"),
                "scores": Output(f"{_run('evaluation')}/metrics.json", kind="metrics"),
                "per_class": Output(
                    f"{_run('evaluation')}/per_class.csv",
                    shown=Shown("report/per_class.rst", "Per-class accuracy", per_run=True),
                ),
                "confusion": Output(
                    f"{_run('evaluation')}/confusion.png",
                    shown=Shown("report/confusion.rst", "Confusion matrices", per_run=True),
                ),
            },
            log=f"results/logs/evaluate/{RUN}.log",
            over=("tuner", "seed"),
        ),
        Stage(
            "report",
            "scripts/report.py",
            (
                ("--tuning", "results/tuning"),
                ("--metrics", "results/metrics"),
                ("--best-epoch", "results/best_epoch"),
                ("--replay-verdict", REPLAY_VERDICT),
                ("--out", "results/report"),
            ),
            inputs={
                "metrics": Gather("results/metrics", (f"results/metrics/{RUN}.json",), "runs"),
                "replay_verdict": Gather("results/metrics", (REPLAY_VERDICT,), "replayed"),
                "tuning": Gather(
                    "results/tuning",
                    (f"results/tuning/{RUN}/trials.csv", f"results/tuning/{RUN}/best.json"),
                    "runs",
                ),
                "best_epoch": Gather(
                    "results/best_epoch",
                    (
                        f"results/best_epoch/{RUN}/history.csv",
                        f"results/best_epoch/{RUN}/best_epoch.json",
                    ),
                    "runs",
                ),
            },
            outputs={
                "html": Output("results/report/report.html"),
                "md": Output("results/report/report.md"),
                "summary": Output(
                    "results/report/summary.csv", shown=Shown("report/summary.rst", "Comparison")
                ),
                "repetitions": Output(
                    "results/report/repetitions.csv",
                    shown=Shown("report/repetitions.rst", "Comparison"),
                ),
                **{
                    name: Output(f"results/report/{name}.png", shown=_shown(name))
                    for name in _FIGURES
                },
                # the figure captions, for `snakemake --report` as the report's pages print them
                "captions": Output("results/report/captions", folder=True),
                "aggregates": Output("results/report/aggregates.json"),
                "tuner_metrics": Output("results/report/metrics", folder=True, kind="metrics"),
            },
            log="results/logs/report.log",
        ),
        Stage(
            "tabulate",
            "scripts/tabulate_shard.py",
            (
                ("--shard", "{shard}"),
                ("--data", _DATA["data"]),
                ("--weights", _DATA["weights"]),
                ("--out", "results/table/shards/shard_{shard}.jsonl"),
                ("--state", "results/state/tabulate/shard_{shard}"),
            ),
            inputs=dict(_DATA),
            outputs={"shard": Output("results/table/shards/shard_{shard}.jsonl")},
            log="results/logs/tabulate/shard_{shard}.log",
            over=("shard",),
            gated=True,
            note="Tabulate once, replay many (bloomtune/replay): this stage and the three after "
            "it are expanded over replay.tables, so [] (the default) has none of them and "
            "[grid] all. Each shard trains every N-th grid configuration; its journal lives in "
            "results/state (no orchestrator deletes it), so a killed shard resumes.",
        ),
        Stage(
            "table",
            "scripts/table.py",
            (("--shards", "results/table/shards"), ("--out", "results/table/table.parquet")),
            inputs={
                "shards": Gather(
                    "results/table/shards", ("results/table/shards/shard_{shard}.jsonl",), "shards"
                )
            },
            outputs={"table": cached("results/table/table.parquet")},
            log="results/logs/table.log",
            gated=True,
        ),
        Stage(
            "replay",
            "scripts/replay.py",
            (
                ("--tuner", "{tuner}"),
                ("--table", "results/table/table.parquet"),
                ("--out", "results/replay/{tuner}"),
            ),
            inputs={"table": "results/table/table.parquet"},
            outputs={"replays": Output("results/replay/{tuner}", folder=True)},
            log="results/logs/replay/{tuner}.log",
            over=("tuner",),
            gated=True,
            note="One job per tuner replays every replay seed in one process: a search takes "
            "milliseconds to seconds, a process start about five.",
        ),
        Stage(
            "replay_report",
            "scripts/replay_report.py",
            (
                ("--replay", "results/replay"),
                ("--table", "results/table/table.parquet"),
                ("--tuning", "results/tuning"),
                ("--out", "results/report/replay"),
                ("--verdict", REPLAY_VERDICT),
            ),
            inputs={
                "replays": Gather("results/replay", ("results/replay/{tuner}",), "tuners"),
                "table": "results/table/table.parquet",
                "live": Gather(
                    "results/tuning",
                    (f"results/tuning/{RUN}/trials.csv", f"results/tuning/{RUN}/best.json"),
                    "runs",
                ),
            },
            outputs={
                "page": Output("results/report/replay", folder=True),
                # the verdict the main report quotes: in a folder the report depends on anyway
                "verdict": Output(REPLAY_VERDICT, kind="metrics"),
            },
            log="results/logs/replay_report.log",
            gated=True,
        ),
    ]
}


def input_path(value: str | Gather) -> str:
    """What DVC depends on for an input: the file or folder, or a gathering input's folder."""
    return value.folder if isinstance(value, Gather) else value


def command(stage: Stage, spell) -> str:
    """The stage's shell command, each path and wildcard as `spell(kind, name, value)` writes it:
    kind "params" (the params files), "log", "input" or "output" (a value that is one of the
    stage's own, by name), or "path" (any other template)."""
    inputs = {input_path(v): k for k, v in stage.inputs.items()}
    outputs = {o.path: k for k, o in stage.outputs.items()}
    words = ["python", stage.script, "--params", spell("params", "", PARAMS_FILE)]
    for flag, value in stage.args:
        if value in outputs:
            words += [flag, spell("output", outputs[value], value)]
        elif value in inputs and not isinstance(stage.inputs[inputs[value]], Gather):
            words += [flag, spell("input", inputs[value], value)]
        else:
            words += [flag, spell("path", "", value)]
    return " ".join([*words, "--log", spell("log", "", stage.log)])


def snakemake_shell(stage: Stage) -> str:
    """The rule's shell string: its own inputs, outputs and log by name, wildcards by name."""

    def spell(kind: str, name: str, value: str) -> str:
        if kind == "params":
            return "{params.files}"
        if kind == "log":
            return "{log}"
        if kind in ("input", "output"):
            return f"{{{kind}.{name}}}"
        return re.sub(r"\{(\w+)\}", r"{wildcards.\1}", value)

    return command(stage, spell)


def dvc_cmd(stage: Stage) -> str:
    """The stage's cmd: every path spelled out, a matrix item as `${item.name}`."""
    return command(stage, lambda kind, name, value: dvc_path(value))


def dvc_path(template: str) -> str:
    return re.sub(r"\{(\w+)\}", r"${item.\1}", template)
