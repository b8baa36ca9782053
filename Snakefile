"""bloomtune: which hyperparameter optimiser tunes the CNN best, for a given budget?

Stages and commands match dvc.yaml exactly (tests/test_dag.py checks it)."""

import os
import shlex

from bloomtune.checks import load_params
from bloomtune.codedeps import stage_code
from bloomtune.errors import ParamsError, UserError
from bloomtune.params import STAGE_SECTIONS, merge, read_params, stage_params
from bloomtune.run_lock import hold
from bloomtune.files import Busy, check_writable
from bloomtune.settings import workers_of


configfile: "params.yaml"


# Snakemake merges --configfile overlays over params.yaml; the scripts merge the same files in the
# same order, and the config Snakemake tracks becomes exactly theirs (where a dimension given
# whole replaces the one before it), so every job runs with the config Snakemake tracks.
PARAMS_FILES = ["params.yaml", *(os.path.relpath(p) for p in workflow.overwrite_configfiles)]
try:
    if read_params(PARAMS_FILES, merged=merge) != config:
        raise ParamsError(
            "config: values given with --config are not seen by the stage scripts; "
            "put them in an overlay file and pass --configfile"
        )
    config.clear()
    config.update(load_params(PARAMS_FILES))
except ParamsError as exc:
    raise WorkflowError(f"params: {exc}") from None

PARAMS = " ".join(shlex.quote(str(p)) for p in PARAMS_FILES)
ENV = "envs/bloomtune.yaml"
TUNERS = list(config["tuners"])
SEEDS = list(config["seeds"])
# Tabulate once, replay many: replay.tables [grid] turns on the table (tabulate.shards jobs and a
# merge), one replay job per tuner over seeds 1..replay.seeds, and the replay's report page.
REPLAYED = bool(config["replay"]["tables"])
SHARDS = list(config["tabulate"]["shards"])
REPLAY_SEEDS = list(range(1, config["replay"]["seeds"] + 1))
CHECKED_SEEDS = sorted(set(SEEDS) & set(REPLAY_SEEDS))  # live and replayed: compared
# Each stage's code: its script and every bloomtune module it imports (bloomtune/codedeps.py), so
# editing any of them reruns the stage and those after it. dvc.yaml lists the same (tested).
CODE = {stage: stage_code(stage) for stage in STAGE_SECTIONS}
# What each job asks of the machine or cluster (params `resources`; no stage reads it, so a change
# reruns nothing). A cluster profile overrides per rule (profiles/slurm/config.yaml).
RESOURCES = config["resources"]
# null: every core of this machine, which Snakemake caps at --cores (a cluster profile sets them).
TRAINING_THREADS = RESOURCES["training_threads"] or os.cpu_count()


def needs(kind):
    """A job kind's memory (MB), wall time (minutes) and, for training, GPUs."""
    asked = {"mem_mb": RESOURCES["mem_mb"][kind], "runtime": RESOURCES["runtime"][kind]}
    if kind == "training" and RESOURCES["gpus"]:
        asked["gpu"] = RESOURCES["gpus"]
    return asked


def workers(tuner):
    """Processes a tuner's search runs at once (its `workers`, default 1)."""
    return workers_of(config["tuners"][tuner])


def per_worker(asked):
    """A tune job asks for its training resources once per worker (threads likewise)."""
    return {
        key: (lambda wildcards, value=value: value * workers(wildcards.tuner))
        for key, value in asked.items()
        if key != "runtime"
    } | {"runtime": asked["runtime"]}


# One tune -> best_epoch -> retrain -> evaluate chain per tuner and repetition seed; repetition k of
# every tuner shares seed k. The seed is a wildcard, not a tracked param: adding one to `seeds`
# runs only its jobs (and the report).
wildcard_constraints:
    tuner="|".join(TUNERS),
    seed=r"\d+",
    shard=r"\d+",


def tracked(stage):
    """The params sections a stage reads, as Snakemake rule params (a change reruns the job)."""
    return lambda wildcards: stage_params(config, stage, wildcards.get("tuner"))


RUN = "{tuner}/seed_{seed}"  # one repetition of one tuner, in every per-run path
# The report's figure captions, written by the report stage (bloomtune/reporting/captions.py)
# for `snakemake --report`, as its own pages print them.
CAPTIONS = "results/report/captions"
TUNING_FILES = ["trials.csv", "best.json"]
EPOCH_FILES = ["history.csv", "best_epoch.json"]


report: "report/workflow.rst"


# One orchestrator at a time (bloomtune/run_lock.py): a DVC run, or another Snakemake of this
# project, is refused here, before any job could delete the other's outputs.
onstart:
    try:
        hold("snakemake")
        check_writable(["data", "results", "results/logs"])
    except (Busy, UserError) as exc:
        raise WorkflowError(" ".join(str(exc).split())) from None


rule all:
    input:
        "results/report/report.html",
        ["results/report/replay"] if REPLAYED else [],


rule download:
    input:
        CODE["download"],
    output:
        directory("data/raw"),
    log:
        "results/logs/download.log",
    benchmark:
        "results/benchmarks/download.tsv"
    conda:
        ENV
    resources:
        **needs("download"),
    params:
        files=PARAMS,
        tracked=tracked("download"),
    shell:
        "python scripts/download.py --params {params.files} --out data/raw --log {log}"


rule standardise:
    input:
        CODE["standardise"],
        raw="data/raw",
    output:
        directory("data/standardised"),
    log:
        "results/logs/standardise.log",
    benchmark:
        "results/benchmarks/standardise.tsv"
    conda:
        ENV
    threads: os.cpu_count()
    resources:
        **needs("standardise"),
    params:
        files=PARAMS,
        tracked=tracked("standardise"),
    shell:
        "python scripts/standardise.py --params {params.files} --raw data/raw "
        "--out data/standardised --log {log}"


# A pretrained backbone's weights are data: fetched once and verified (a model without them
# writes only data/weights/weights.json).
rule weights:
    input:
        CODE["weights"],
    output:
        directory("data/weights"),
    log:
        "results/logs/weights.log",
    benchmark:
        "results/benchmarks/weights.tsv"
    conda:
        ENV
    resources:
        **needs("download"),
    params:
        files=PARAMS,
        tracked=tracked("weights"),
    shell:
        "python scripts/weights.py --params {params.files} --out data/weights --log {log}"


# Training jobs take every core by default: they then run one at a time, so each tuner's time is
# measured on the same idle machine. resources.training_threads lets several run at once. A tuner
# with `workers: N` runs N trials at once in its tune job, which asks for N times the threads,
# memory and GPUs (Snakemake caps threads at --cores; each worker gets its share).
rule tune:
    input:
        CODE["tune"],
        data="data/standardised",
        weights="data/weights",
    output:
        trials="results/tuning/{tuner}/seed_{seed}/trials.csv",
        best="results/tuning/{tuner}/seed_{seed}/best.json",
    log:
        "results/logs/tune/{tuner}/seed_{seed}.log",
    benchmark:
        "results/benchmarks/tune/{tuner}/seed_{seed}.tsv"
    conda:
        ENV
    threads: lambda wildcards: TRAINING_THREADS * workers(wildcards.tuner)
    resources:
        **per_worker(needs("training")),
    params:
        files=PARAMS,
        tracked=tracked("tune"),
    shell:
        "python scripts/tune.py --params {params.files} --tuner {wildcards.tuner} "
        "--seed {wildcards.seed} --data data/standardised --weights {input.weights} "
        "--out results/tuning/{wildcards.tuner}/seed_{wildcards.seed} "
        "--state results/state/{wildcards.tuner}/seed_{wildcards.seed} --log {log}"


rule best_epoch:
    input:
        CODE["best_epoch"],
        data="data/standardised",
        weights="data/weights",
        best="results/tuning/{tuner}/seed_{seed}/best.json",
    output:
        history="results/best_epoch/{tuner}/seed_{seed}/history.csv",
        chosen="results/best_epoch/{tuner}/seed_{seed}/best_epoch.json",
    log:
        "results/logs/best_epoch/{tuner}/seed_{seed}.log",
    benchmark:
        "results/benchmarks/best_epoch/{tuner}/seed_{seed}.tsv"
    conda:
        ENV
    threads: TRAINING_THREADS
    resources:
        **needs("training"),
    params:
        files=PARAMS,
        tracked=tracked("best_epoch"),
    shell:
        "python scripts/best_epoch.py --params {params.files} --tuner {wildcards.tuner} "
        "--seed {wildcards.seed} --best {input.best} --data data/standardised "
        "--weights {input.weights} "
        "--out results/best_epoch/{wildcards.tuner}/seed_{wildcards.seed} --log {log}"


rule retrain:
    input:
        CODE["retrain"],
        data="data/standardised",
        weights="data/weights",
        chosen="results/best_epoch/{tuner}/seed_{seed}/best_epoch.json",
    output:
        model="results/models/{tuner}/seed_{seed}.keras",
        record="results/retrain/{tuner}/seed_{seed}.json",
    log:
        "results/logs/retrain/{tuner}/seed_{seed}.log",
    benchmark:
        "results/benchmarks/retrain/{tuner}/seed_{seed}.tsv"
    conda:
        ENV
    threads: TRAINING_THREADS
    resources:
        **needs("training"),
    params:
        files=PARAMS,
        tracked=tracked("retrain"),
    shell:
        "python scripts/retrain.py --params {params.files} --tuner {wildcards.tuner} "
        "--seed {wildcards.seed} --best-epoch {input.chosen} --data data/standardised "
        "--weights {input.weights} --model {output.model} --out {output.record} --log {log}"


rule evaluate:
    input:
        CODE["evaluate"],
        data="data/standardised",
        model="results/models/{tuner}/seed_{seed}.keras",
        best="results/tuning/{tuner}/seed_{seed}/best.json",
        chosen="results/best_epoch/{tuner}/seed_{seed}/best_epoch.json",
        record="results/retrain/{tuner}/seed_{seed}.json",
    output:
        metrics="results/metrics/{tuner}/seed_{seed}.json",
        scores="results/evaluation/{tuner}/seed_{seed}/metrics.json",
        per_class=report(
            "results/evaluation/{tuner}/seed_{seed}/per_class.csv",
            caption="report/per_class.rst",
            category="Per-class accuracy",
            labels={"tuner": "{tuner}", "seed": "{seed}"},
        ),
        confusion=report(
            "results/evaluation/{tuner}/seed_{seed}/confusion.png",
            caption="report/confusion.rst",
            category="Confusion matrices",
            labels={"tuner": "{tuner}", "seed": "{seed}"},
        ),
    log:
        "results/logs/evaluate/{tuner}/seed_{seed}.log",
    benchmark:
        "results/benchmarks/evaluate/{tuner}/seed_{seed}.tsv"
    conda:
        ENV
    threads: TRAINING_THREADS
    resources:
        **needs("training"),
    params:
        files=PARAMS,
        tracked=tracked("evaluate"),
    shell:
        "python scripts/evaluate.py --params {params.files} --tuner {wildcards.tuner} "
        "--model {input.model} --data data/standardised --best {input.best} "
        "--best-epoch {input.chosen} --retrained {input.record} --out {output.metrics} "
        "--details results/evaluation/{wildcards.tuner}/seed_{wildcards.seed} --log {log}"


rule report:
    input:
        CODE["report"],
        metrics=expand(f"results/metrics/{RUN}.json", tuner=TUNERS, seed=SEEDS),
        tuning=expand(
            f"results/tuning/{RUN}/{{name}}", tuner=TUNERS, seed=SEEDS, name=TUNING_FILES
        ),
        best_epoch=expand(
            f"results/best_epoch/{RUN}/{{name}}", tuner=TUNERS, seed=SEEDS, name=EPOCH_FILES
        ),
    output:
        html="results/report/report.html",
        md="results/report/report.md",
        summary=report(
            "results/report/summary.csv", caption="report/summary.rst", category="Comparison"
        ),
        repetitions=report(
            "results/report/repetitions.csv",
            caption="report/repetitions.rst",
            category="Comparison",
        ),
        aggregates="results/report/aggregates.json",
        tuner_metrics=directory("results/report/metrics"),
        captions=directory(CAPTIONS),
        critical_difference=report(
            "results/report/critical_difference.png",
            caption=f"{CAPTIONS}/critical_difference.rst",
            category="Comparison",
        ),
        anytime=report(
            "results/report/anytime.png", caption=f"{CAPTIONS}/anytime.rst", category="Comparison"
        ),
        rank_over_budget=report(
            "results/report/rank_over_budget.png",
            caption=f"{CAPTIONS}/rank_over_budget.rst",
            category="Comparison",
        ),
        evidence=report(
            "results/report/evidence.png",
            caption=f"{CAPTIONS}/evidence.rst",
            category="Comparison",
        ),
        best_epoch=report(
            "results/report/best_epoch.png",
            caption=f"{CAPTIONS}/best_epoch.rst",
            category="Comparison",
        ),
        hyperparameters=report(
            "results/report/hyperparameters.png",
            caption=f"{CAPTIONS}/hyperparameters.rst",
            category="Comparison",
        ),
        importances=report(
            "results/report/importances.png",
            caption=f"{CAPTIONS}/importances.rst",
            category="Comparison",
        ),
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    conda:
        ENV
    resources:
        **needs("report"),
    params:
        files=PARAMS,
        tracked=tracked("report"),
    shell:
        "python scripts/report.py --params {params.files} --tuning results/tuning "
        "--metrics results/metrics --best-epoch results/best_epoch --out results/report "
        "--log {log}"


# Tabulate once, replay many (bloomtune/replay). Each shard trains every N-th grid configuration;
# its journal lives in results/state (no orchestrator deletes it), so a killed shard resumes.
rule tabulate:
    input:
        CODE["tabulate"],
        data="data/standardised",
        weights="data/weights",
    output:
        "results/table/shards/shard_{shard}.jsonl",
    log:
        "results/logs/tabulate/shard_{shard}.log",
    benchmark:
        "results/benchmarks/tabulate/shard_{shard}.tsv"
    conda:
        ENV
    threads: TRAINING_THREADS
    resources:
        **needs("training"),
    params:
        files=PARAMS,
        tracked=tracked("tabulate"),
    shell:
        "python scripts/tabulate_shard.py --params {params.files} --shard {wildcards.shard} "
        "--data data/standardised --weights {input.weights} "
        "--out results/table/shards/shard_{wildcards.shard}.jsonl "
        "--state results/state/tabulate/shard_{wildcards.shard} --log {log}"


rule table:
    input:
        CODE["table"],
        shards=expand("results/table/shards/shard_{shard}.jsonl", shard=SHARDS),
    output:
        "results/table/table.parquet",
    log:
        "results/logs/table.log",
    benchmark:
        "results/benchmarks/table.tsv"
    conda:
        ENV
    resources:
        **needs("report"),
    params:
        files=PARAMS,
        tracked=tracked("table"),
    shell:
        "python scripts/table.py --params {params.files} --shards results/table/shards "
        "--out results/table/table.parquet --log {log}"


# One job per tuner replays every replay seed in one process: a search takes milliseconds to
# seconds, a process start (Keras Tuner imports TensorFlow) about five.
rule replay:
    input:
        CODE["replay"],
        table="results/table/table.parquet",
    output:
        directory("results/replay/{tuner}"),
    log:
        "results/logs/replay/{tuner}.log",
    benchmark:
        "results/benchmarks/replay/{tuner}.tsv"
    conda:
        ENV
    resources:
        **needs("report"),
    params:
        files=PARAMS,
        tracked=tracked("replay"),
    shell:
        "python scripts/replay.py --params {params.files} --tuner {wildcards.tuner} "
        "--table results/table/table.parquet --out results/replay/{wildcards.tuner} --log {log}"


rule replay_report:
    input:
        CODE["replay_report"],
        replays=expand("results/replay/{tuner}", tuner=TUNERS),
        table="results/table/table.parquet",
        live=expand(f"results/tuning/{RUN}/best.json", tuner=TUNERS, seed=CHECKED_SEEDS),
    output:
        directory("results/report/replay"),
    log:
        "results/logs/replay_report.log",
    benchmark:
        "results/benchmarks/replay_report.tsv"
    conda:
        ENV
    resources:
        **needs("report"),
    params:
        files=PARAMS,
        tracked=tracked("replay_report"),
    shell:
        "python scripts/replay_report.py --params {params.files} --replay results/replay "
        "--table results/table/table.parquet --tuning results/tuning "
        "--out results/report/replay --log {log}"
