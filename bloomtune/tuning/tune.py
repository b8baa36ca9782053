"""Stage tune: one tuner's search under its budget; write its ledger and best hyperparameters."""

from __future__ import annotations

import logging
from pathlib import Path

from bloomtune.data import dataset
from bloomtune.files import exclusive, keyed_state
from bloomtune.machine import cpu_kernels
from bloomtune.model_settings import TuneSettings
from bloomtune.params import fingerprint
from bloomtune.training.families import family
from bloomtune.tuning.frameworks import framework
from bloomtune.tuning.results import write_results
from bloomtune.tuning.runner import make_runner
from bloomtune.tuning.search import run_search

log = logging.getLogger(__name__)


def state_dir_for(state_root: Path, settings: TuneSettings, data_manifest: dict) -> Path:
    """The search's state folder, named by everything that defines the search, so that a change of
    params or data starts a fresh search instead of resuming an unrelated one."""
    key = fingerprint({"settings": settings.record(), "data": data_manifest["splits"]})
    return keyed_state(state_root, key, "search")


def run_tuning(settings: TuneSettings, data_dir: Path, out_dir: Path, state: Path) -> dict:
    """Search, then write out_dir/trials.csv and out_dir/best.json; return best.json's content.

    `state` holds what a resumed search needs; it is not an orchestrator output, so a failed run
    does not delete it."""
    name, budget = settings.tuner.name, settings.budget
    # Bad options fail now, before any data is read; so does a builder that is not there (the
    # light params check finds its module but does not import user code).
    framework(settings.tuner.framework).check(name, settings.tuner.options, budget)
    family(settings.model.family).prepare(settings.model)
    # One search of this tuner and repetition at a time, whoever started it.
    with exclusive(state, f"the {name} search of seed {settings.seed}"):
        return _search(settings, data_dir, out_dir, state)


def live_evaluator(settings: TuneSettings, data):
    """The Keras evaluator of a live search, under the search's parameter limit (auto: resolved
    once per search from the job's memory: training/model.model_limit)."""
    from bloomtune.training.model import model_limit
    from bloomtune.tuning.keras_evaluator import KerasEvaluator

    return KerasEvaluator(settings, data, model_limit(settings.budget.max_model_params))


def _training(settings: TuneSettings, data_dir: Path):
    return dataset.load_training(data_dir, settings.train.validation_fraction, settings.data_seed)


def run_worker(job: dict) -> None:
    """One worker process of a parallel search (what Workers runs in each)."""
    settings: TuneSettings = job["settings"]
    state = Path(job["state"])
    evaluator = live_evaluator(settings, _training(settings, Path(job["data"])))
    runner = make_runner(settings, evaluator, state, job["worker"])
    framework(settings.tuner.framework).adapter().worker(settings, runner, state)


def live_facts(settings: TuneSettings, key: str, max_params: int) -> dict:
    """What a live search's best.json holds beside the search's own record: its model's record,
    the search's key (its state folder's name), the CPU kernels it ran on and its parameter
    limit (what the numbers depend on beyond params, not part of the key)."""
    return {
        "model": family(settings.model.family).record(settings.model),
        "params_fingerprint": key,
        "machine": cpu_kernels(),
        "model_params_limit": max_params,
    }


def _search(settings: TuneSettings, data_dir: Path, out_dir: Path, state: Path) -> dict:
    name, budget = settings.tuner.name, settings.budget
    state_dir = state_dir_for(state, settings, dataset.manifest(data_dir))
    data = _training(settings, data_dir)
    evaluator = live_evaluator(settings, data)
    log.info(
        "%s, seed %d: %s search, %d train / %d validation images, %d classes, "
        "up to %d trials x %d epochs%s",
        name,
        settings.seed,
        settings.tuner.framework,
        len(data.train.y),
        len(data.validation.y),
        data.n_classes,
        budget.max_trials,
        budget.max_epochs,
        f", {settings.tuner.workers} workers" if settings.tuner.workers > 1 else "",
    )
    workers = None
    if settings.tuner.workers > 1:
        from bloomtune.tuning.workers import Workers

        workers = Workers(settings, data_dir, state_dir, run_worker)
    rows = run_search(settings, evaluator, state_dir, workers=workers)
    facts = live_facts(settings, state_dir.name, evaluator.max_params)
    images = {"train_images": len(data.train.y), "validation_images": len(data.validation.y)}
    result = write_results(settings, rows, out_dir, lambda best: facts, images)
    totals = result["totals"]
    log.info(
        "%s: best %s %.4f (trial %d); %d trials (%d complete, %d pruned, %d failed), "
        "%d epochs, %.0f s",
        name,
        budget.objective,
        result["score"],
        result["trial"],
        totals["trials"],
        totals["complete"],
        totals["pruned"],
        totals["failed"],
        totals["epochs_consumed"],
        totals["wall_s"],
    )
    return result
