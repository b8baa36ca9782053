# The config checked, the names every rule file uses, and the helpers that read the stage table
# (bloomtune/stages.py: each stage's command, inputs, outputs and log, written once; dvc.yaml is
# generated from it).
import os
import shlex

from bloomtune.checks import load_params
from bloomtune.codedeps import stage_code
from bloomtune.errors import ParamsError, UserError
from bloomtune.files import Busy, check_writable
from bloomtune.params import merge, read_params, stage_params
from bloomtune.run_lock import hold
from bloomtune.settings import workers_of
from bloomtune.stages import STAGES, Gather, snakemake_shell

# Snakemake merges --configfile overlays over params.yaml; the scripts merge the same files in the
# same order, and the config Snakemake tracks becomes exactly theirs (where a dimension given
# whole replaces the one before it), so every job runs with the config Snakemake tracks. The
# check is the schema (config/schema.yaml) and every cross-key rule (bloomtune/checks.py), before
# any rule: a bad value fails here with one line naming its key.
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
ENV = "../envs/bloomtune.yaml"  # from this folder, as conda: reads it
TUNERS = list(config["tuners"])
SEEDS = list(config["seeds"])
# Tabulate once, replay many: replay.tables [grid] turns on the table (tabulate.shards jobs and a
# merge), one replay job per tuner over seeds 1..replay.seeds, and the replay's report page.
REPLAYED = bool(config["replay"]["tables"])
SHARDS = list(config["tabulate"]["shards"])
# What a gathering input of the table ranges over (bloomtune/stages.py RANGES; `replayed`: its
# files with the replay on, none with it off).
RANGES = {
    "runs": {"tuner": TUNERS, "seed": SEEDS},
    "shards": {"shard": SHARDS},
    "tuners": {"tuner": TUNERS},
}
# Each stage's code: its script and every bloomtune module it imports (bloomtune/codedeps.py), so
# editing any of them reruns the stage and those after it. dvc.yaml lists the same.
CODE = {stage: stage_code(stage) for stage in STAGES}
# What each job asks of the machine or cluster (params `resources`; no stage reads it, so a change
# reruns nothing). A cluster profile overrides per rule (profiles/slurm/config.yaml).
RESOURCES = config["resources"]
# null: every core of this machine, which Snakemake caps at --cores (a cluster profile sets them).
TRAINING_THREADS = RESOURCES["training_threads"] or os.cpu_count()


# One tune -> best_epoch -> retrain -> evaluate chain per tuner and repetition seed; repetition k of
# every tuner shares seed k. The seed is a wildcard, not a tracked param: adding one to `seeds`
# runs only its jobs (and the report).
wildcard_constraints:
    tuner="|".join(TUNERS),
    seed=r"\d+",
    shard=r"\d+",


def targets():
    """What `snakemake` makes: the report, and the replay's page when replay.tables is on."""
    return ["results/report/report.html"] + (["results/report/replay"] if REPLAYED else [])


def gathered(value):
    if value.over == "replayed":
        return list(value.files) if REPLAYED else []
    return expand(list(value.files), **RANGES[value.over])


def inputs(stage):
    """A rule's inputs from the table: a gathering one expanded over the config's values."""
    return {
        name: (gathered(value) if isinstance(value, Gather) else value)
        for name, value in STAGES[stage].inputs.items()
    }


def _caption(path):
    # report() reads a caption from the rule file's folder; the report stage writes its own
    # under results/ (the working directory), the others are the project's report/*.rst.
    if path.startswith("results/"):
        return os.path.abspath(path)
    return os.path.join(workflow.basedir, path)


def outputs(stage):
    """A rule's outputs from the table: folders as directory(), those for people as report()."""
    named = {}
    for name, out in STAGES[stage].outputs.items():
        path = directory(out.path) if out.folder else out.path
        if out.shown:
            labels = {"tuner": "{tuner}", "seed": "{seed}"} if out.shown.per_run else None
            path = report(
                path,
                caption=_caption(out.shown.caption),
                category=out.shown.category,
                labels=labels,
            )
        named[name] = path
    return named


def log_of(stage):
    return STAGES[stage].log


def benchmark_of(stage):
    return STAGES[stage].benchmark


def shell_of(stage):
    """The stage's command, its paths as {input.*}, {output.*} and {log}."""
    return snakemake_shell(STAGES[stage])


def tracked(stage):
    """The params sections a stage reads, as Snakemake rule params (a change reruns the job)."""
    return lambda wildcards: stage_params(config, stage, wildcards.get("tuner"))


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


# One orchestrator at a time (bloomtune/run_lock.py): a DVC run, or another Snakemake of this
# project, is refused here, before any job could delete the other's outputs.
onstart:
    try:
        hold("snakemake")
        check_writable(["data", "results", "results/logs"])
    except (Busy, UserError) as exc:
        raise WorkflowError(" ".join(str(exc).split())) from None
