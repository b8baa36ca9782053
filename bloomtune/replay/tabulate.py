"""Tabulating a grid: every configuration (replay/grid.py) trained as a live trial is, through
the one trial runner and the Keras evaluator (tuning/runner.py, tuning/keras_evaluator.py), for
the budget's max_epochs with each tabulation seed, on the same tuning split a live search uses,
recording per epoch the training loss, the validation and the test metrics (the test ones are
never shown to an optimiser) and the seconds, measured as a live trial's are (the first epoch's
with the model's build). A configuration that is too large, runs out of memory or raises is
recorded failed, as a live trial is; one whose loss turns NaN stops there, its NaN epoch recorded
(a replay then fails it as the runner fails a live one). A full disk stops the shard, as it
stops a search: the rerun trains that configuration again.

A shard takes every `shards`-th configuration and appends each finished (configuration, seed) to
its journal (in the state folder, which no orchestrator deletes) at once, so a killed shard
resumes without training those again; a change of what defines the table starts afresh."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from bloomtune.data import dataset
from bloomtune.files import atomic_path, exclusive, keyed_state, repair_journal
from bloomtune.model_settings import TabulateSettings
from bloomtune.params import fingerprint
from bloomtune.replay.evaluator import EPOCH_COLUMNS
from bloomtune.replay.grid import configurations
from bloomtune.replay.shards import done_pairs
from bloomtune.stopwatch import hms
from bloomtune.training.inputs import batches
from bloomtune.training.model import model_limit
from bloomtune.tuning.keras_evaluator import KerasEvaluator
from bloomtune.tuning.runner import DIVERGED, make_runner

log = logging.getLogger(__name__)
# The runner's line per trial says less than the shard's own line below: kept out of the log.
TRIALS = logging.getLogger("bloomtune.replay.tabulate.trials")
TRIALS.setLevel(logging.WARNING)


def tabulate_shard(settings: TabulateSettings, data_dir: Path, state_root: Path, out: Path,
                   shard: int = 1) -> int:  # fmt: skip
    """Train shard `shard` (1..settings.shards) of the grid, skipping the (configuration, seed)
    pairs its journal in `state_root` already holds; copy the finished journal to `out`.
    Return how many it trained now."""
    with exclusive(state_root, f"tabulate shard {shard}"):
        key = fingerprint({"settings": settings.record(), "shard": shard,
                           "data": dataset.manifest(data_dir)["splits"]})  # fmt: skip
        journal = keyed_state(state_root, key, "tabulate shard") / "journal.jsonl"
        if repaired := repair_journal(journal):
            log.warning("tabulate shard %d: %s", shard, repaired)
        trained = _train_shard(settings, data_dir, journal, shard)
        with atomic_path(out) as tmp:
            tmp.write_bytes(journal.read_bytes() if journal.exists() else b"")
    return trained


def _train_shard(settings: TabulateSettings, data_dir: Path, journal: Path, shard: int) -> int:
    data = dataset.load_training(data_dir, settings.train.validation_fraction, settings.data_seed)
    test = batches(dataset.load_split(data_dir, "test"), 256, shuffle=False)
    max_params = model_limit(settings.max_model_params)
    grid = configurations(settings.space, settings.grid)
    mine = [(c, hp) for c, hp in enumerate(grid) if c % settings.shards == shard - 1]
    journalled = done_pairs(journal)
    todo = [(c, hp, s) for c, hp in mine for s in range(1, settings.seeds + 1)
            if (c, s) not in journalled]  # fmt: skip
    journal.parent.mkdir(parents=True, exist_ok=True)
    log.info("tabulate shard %d of %d: %d configurations x %d seeds, %d to train", shard,
             settings.shards, len(mine), settings.seeds, len(todo))  # fmt: skip
    runners = {}  # one per tabulation seed: its configurations are its trials
    started = time.perf_counter()
    for done, (config, hp, seed) in enumerate(todo, start=1):
        if seed not in runners:
            trials = settings.trials(seed, len(grid))
            evaluator = KerasEvaluator(trials, data, max_params, test=test, stream="tabulate")
            runners[seed] = make_runner(trials, evaluator, journal.parent, journal=False)
            runners[seed].progress.log = TRIALS
        epochs = []
        row = runners[seed].run(config, hp, on_epoch=epochs.append)
        rows = _rows({"config": config, **hp, "seed": seed}, row, epochs)
        with open(journal, "ab") as fh:  # the configuration's rows in one write
            fh.write("".join(json.dumps(r) + "\n" for r in rows).encode())
        elapsed = time.perf_counter() - started
        log.info("tabulate shard %d: configuration %d, seed %d %s (%d of %d, ETA %s)", shard,
                 config, seed, rows[-1]["status"], done, len(todo),
                 hms(elapsed / done * (len(todo) - done)))  # fmt: skip
    return len(todo)


def _rows(base: dict, row: dict, epochs: list[dict]) -> list[dict]:
    """A trained configuration's journal rows: its curve, one row per epoch it trained (a curve
    the runner failed for a NaN loss too, up to that epoch: a replay's runner fails it the same
    way); or, for one that raised (too large, out of memory, anything else), one failed row at
    epoch 0 with the runner's reason."""
    if row["status"] == "failed" and row["failure_reason"] != DIVERGED:
        return [{**base, "epoch": 0, "status": "failed", "failure_reason": row["failure_reason"]}]
    return [
        {**base, "epoch": e["epoch"], **{k: e[k] for k in EPOCH_COLUMNS},
         "seconds": round(e["seconds"], 3), "status": "complete", "failure_reason": ""}
        for e in epochs
    ]  # fmt: skip
