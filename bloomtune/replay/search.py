"""Stage replay: one tuner's real search (its sampler, pruner or oracle, one worker) replayed
against the table for every replay seed, in one process (a search takes milliseconds to
seconds; a process start, which imports Keras Tuner and with it TensorFlow, takes about five).
Each replay writes the live tune stage's files, trials.csv and best.json, under
`{out}/seed_{s}/`; best.json adds the table's test metrics of the chosen configuration at its
best epoch and the replay's own measured seconds. No model is built or trained."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from bloomtune.model_settings import ReplaySettings, TuneSettings
from bloomtune.replay.evaluator import Table, TableEvaluator
from bloomtune.stopwatch import hms
from bloomtune.tuning.results import write_results
from bloomtune.tuning.search import run_search

log = logging.getLogger(__name__)
# A replay's trials take microseconds: one line per replay, its trials' lines at debug only.
TRIALS = logging.getLogger("bloomtune.replay.trials")
TRIALS.setLevel(logging.WARNING)


def replay_tuner(settings: ReplaySettings, table_path: Path, out_dir: Path) -> list[dict]:
    """Replay every search in `settings`; return their best.json records."""
    first: TuneSettings = settings.searches[0]
    grid = dict(settings.grid)
    table = Table.read(table_path, first.space)
    table.check_covers(first.space, grid, table_path)
    model = None
    if settings.model == "surrogate":
        from bloomtune.replay.surrogate import CurveModel

        model = CurveModel(table, first.space, grid, first.budget.max_epochs, first.data_seed)
    started, results = time.perf_counter(), []
    for done, search in enumerate(settings.searches, start=1):
        results.append(replay_one(search, table, grid, out_dir, model))
        elapsed = time.perf_counter() - started
        log.info("%s: replay %d of %d done (seed %d), ETA %s", first.tuner.name, done,
                 len(settings.searches), search.seed,
                 hms(elapsed / done * (len(settings.searches) - done)))  # fmt: skip
    return results


def replay_one(settings: TuneSettings, table: Table, grid: dict, out_dir: Path,
               model=None) -> dict:  # fmt: skip
    """One repetition: the search, its ledger and its best configuration's table record (with
    `model`, a CurveModel: its predicted curves)."""
    began = time.perf_counter()
    evaluator = TableEvaluator(table, settings.space, grid, settings.seed, model)
    rows = run_search(settings, evaluator, None, progress=TRIALS)
    seconds = time.perf_counter() - began

    def facts(best: dict) -> dict:
        hp = {k: best[k] for k in settings.space.names}
        chosen = evaluator.epoch(best["trial"], hp, best["best_epoch"])
        return {
            "best_epoch": best["best_epoch"],
            "tabulated_seed": evaluator.assigned[best["trial"]],
            "test_accuracy": chosen["test_accuracy"],
            "test_loss": chosen["test_loss"],
            "replay_s": round(seconds, 3),  # measured: the optimiser's decisions and bookkeeping
        }

    # totals.wall_s: the table's seconds, not measured
    return write_results(settings, rows, out_dir / f"seed_{settings.seed}", facts)
