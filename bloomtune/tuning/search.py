"""One search, live or replayed: its ledger kept in a journal in its state folder (a live search,
which resumes) or in memory (a replay, which has nothing to resume), its trial runner, and its
framework's search over it."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from bloomtune.files import repair_journal
from bloomtune.model_settings import TuneSettings
from bloomtune.tuning.frameworks import framework
from bloomtune.tuning.protocol import Evaluator
from bloomtune.tuning.runner import LEDGER, TrialRunner, make_runner

log = logging.getLogger(__name__)
JOURNALS = (LEDGER, "optuna.journal")  # the JSON-lines files a kill can cut short


def run_search(
    settings: TuneSettings,
    evaluator: Evaluator,
    store: Path | None,
    *,
    workers=None,
    progress: logging.Logger | None = None,
) -> list[dict]:
    """Run the search of `settings` through `evaluator`; return its ledger rows.

    `store`: the search's state folder (its ledger's journal, its framework's state, the shared
    budget), where a killed search resumes: journals a kill cut short are mended and the trials
    its processes left running are closed first. None: everything in memory and a temporary
    folder (a replay). `workers` runs a live search's extra processes (tuning/workers.py);
    `progress` takes the trials' progress lines (a replay's go to debug)."""
    if store is None:
        with tempfile.TemporaryDirectory(prefix="bloomtune-replay-") as tmp:
            # One fixed name: Optuna names its study (and its Hyperband pruner picks brackets)
            # by it.
            state = Path(tmp) / "replay"
            state.mkdir()
            return _search(settings, make_runner(settings, evaluator, state, journal=False), state,
                           workers, progress)  # fmt: skip
    for journal in JOURNALS:
        if repaired := repair_journal(store / journal):
            log.warning("%s: %s", settings.tuner.name, repaired)
    runner = make_runner(settings, evaluator, store)
    runner.close_stale()  # trials a stopped run's processes (all gone) left running
    if done := len(runner.rows()):
        log.info("%s: resuming, %d trials already recorded", settings.tuner.name, done)
    return _search(settings, runner, store, workers, progress)


def _search(settings, runner: TrialRunner, state: Path, workers, progress) -> list[dict]:
    if progress is not None:
        runner.progress.log = progress
    framework(settings.tuner.framework).adapter().search(settings, runner, state, workers)
    return runner.rows()
