"""Stage tune: one tuner's search under its budget; write its ledger and best hyperparameters."""

from __future__ import annotations

import logging
from pathlib import Path

from bloomtune.data import dataset
from bloomtune.files import atomic_path, exclusive, keyed_state, write_json
from bloomtune.machine import cpu_kernels
from bloomtune.model_settings import TuneSettings
from bloomtune.params import fingerprint
from bloomtune.training.families import family
from bloomtune.tuning.frameworks import framework
from bloomtune.tuning.ledger import Ledger, ledger_frame, repair_journal, search_record
from bloomtune.tuning.runner import TrialRunner

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


def make_runner(settings: TuneSettings, data_dir: Path, state_dir: Path, worker: int = 0):
    """The trial runner of one process of the search: its data, ledger and shared budget."""
    ledger = Ledger(settings.tuner.name, settings.budget.objective, settings.space.names,
                    state_dir / "ledger.jsonl")  # fmt: skip
    data = dataset.load_training(data_dir, settings.train.validation_fraction, settings.data_seed)
    return TrialRunner(settings, ledger, state_dir, live_evaluator(settings, data), worker)


def live_evaluator(settings: TuneSettings, data):
    """The Keras evaluator of a live search, under the search's parameter limit (auto: resolved
    once per search from the job's memory: training/model.model_limit)."""
    from bloomtune.training.model import model_limit
    from bloomtune.tuning.keras_evaluator import KerasEvaluator

    return KerasEvaluator(settings, data, model_limit(settings.budget.max_model_params))


def run_worker(job: dict) -> None:
    """One worker process of a parallel search (what Workers runs in each)."""
    settings: TuneSettings = job["settings"]
    state = Path(job["state"])
    runner = make_runner(settings, Path(job["data"]), state, job["worker"])
    framework(settings.tuner.framework).adapter().worker(settings, runner, state)


def _search(settings: TuneSettings, data_dir: Path, out_dir: Path, state: Path) -> dict:
    name, budget = settings.tuner.name, settings.budget
    state_dir = state_dir_for(state, settings, dataset.manifest(data_dir))
    for journal in (state_dir / "ledger.jsonl", state_dir / "optuna.journal"):
        if repaired := repair_journal(journal):
            log.warning("%s: %s", name, repaired)
    runner = make_runner(settings, data_dir, state_dir)
    runner.close_stale()  # trials a stopped run's processes (all gone) left running
    data = runner.evaluator.data
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
    if done := len(runner.rows()):
        log.info("%s: resuming, %d trials already recorded", name, done)
    workers = None
    if settings.tuner.workers > 1:
        from bloomtune.tuning.workers import Workers

        workers = Workers(settings, data_dir, state_dir, run_worker)
    framework(settings.tuner.framework).adapter().search(settings, runner, state_dir, workers)
    facts = {
        "model": family(settings.model.family).record(settings.model),
        "model_params_limit": runner.evaluator.max_params,
        "train_images": len(data.train.y),
        "validation_images": len(data.validation.y),
    }
    return write_results(runner, state_dir.name, out_dir, facts)


def write_results(runner: TrialRunner, key: str, out_dir: Path, facts: dict) -> dict:
    """trials.csv and best.json of a live search; `facts`: its model's record, the search's
    parameter limit (model_params_limit) and its train and validation image counts."""
    settings, rows = runner.settings, runner.rows()
    name, objective = settings.tuner.name, settings.budget.objective
    best, totals, result = search_record(settings, rows)
    record = result.pop("settings")  # last, as before
    result = {
        **result,
        "hyperparameters": {k: best[k] for k in settings.space.names},
        "model": facts["model"],
        "totals": totals,
        "params_fingerprint": key,
        # What the numbers depend on beyond params (not part of the search's key).
        "machine": cpu_kernels(),
        "model_params_limit": facts["model_params_limit"],
        "settings": {
            **record,
            "train_images": facts["train_images"],
            "validation_images": facts["validation_images"],
        },
    }
    with atomic_path(out_dir / "trials.csv") as tmp:
        ledger_frame(rows, settings.space.names).to_csv(tmp, index=False)
    write_json(out_dir / "best.json", result)
    log.info(
        "%s: best %s %.4f (trial %d); %d trials (%d complete, %d pruned, %d failed), "
        "%d epochs, %.0f s",
        name,
        objective,
        best["score"],
        best["trial"],
        totals["trials"],
        totals["complete"],
        totals["pruned"],
        totals["failed"],
        totals["epochs_consumed"],
        totals["wall_s"],
    )
    return result
