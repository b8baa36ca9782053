"""Run one tuner's search under the shared budget and write its ledger and best hyperparameters."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras

from bloomtune import dataset
from bloomtune.ledger import TrialRecorder, ledger_frame, summarise
from bloomtune.model import auto_max_params, build_model
from bloomtune.params import fingerprint, tuner_settings
from bloomtune.runtime import atomic_path, derive_seed, seed_everything, write_json

log = logging.getLogger(__name__)


class TuningError(RuntimeError):
    """The search could not produce a usable result."""


@dataclass
class Search:
    """Everything a framework adapter needs to run one search."""

    name: str
    options: dict  # the tuner's own params entry
    space: dict
    budget: dict  # the tuning: section
    train: dict  # the train: section
    seed: int
    data: dataset.TrainingData
    recorder: TrialRecorder
    state_dir: Path

    @property
    def objective(self) -> str:
        return self.budget["objective"]

    @property
    def max_params(self) -> int | None:
        limit = self.budget.get("max_model_params", "auto")
        return auto_max_params() if limit == "auto" else limit

    def exhausted(self) -> str | None:
        """Which shared limit the search has reached, if any (trials, total epochs, time)."""
        rows = self.recorder.rows()
        epochs = sum(r["epochs_run"] for r in rows) + len(self.recorder.current_history)
        wall = sum(r["wall_s"] for r in rows) + self.recorder.current_wall_s
        budget = self.budget
        if len(rows) >= budget["max_trials"]:
            return f"max_trials ({budget['max_trials']})"
        if budget.get("max_total_epochs") and epochs >= budget["max_total_epochs"]:
            return f"max_total_epochs ({budget['max_total_epochs']})"
        if budget.get("timeout_s") and wall >= budget["timeout_s"]:
            return f"timeout_s ({budget['timeout_s']})"
        return None

    def callbacks(self) -> list:
        """Callbacks every trial trains with, whichever framework runs it."""
        return [self.recorder, keras.callbacks.TerminateOnNaN(), BudgetStop(self)]

    def seed_trial(self, trial: int) -> None:
        """Trial k's training seed derives from the global seed and k."""
        seed_everything(derive_seed(self.seed, "trial", trial))

    def build(self, hp: dict):
        return build_model(hp, self.data.image_size, self.data.n_classes, self.max_params)

    def fit(self, model, callbacks: list, epochs: int | None = None, initial_epoch: int = 0):
        """Train one trial's model with the shared settings; the recorder sees every epoch."""
        return model.fit(
            self.data.train.x,
            self.data.train.y,
            validation_data=(self.data.validation.x, self.data.validation.y),
            epochs=epochs or self.budget["max_epochs"],
            initial_epoch=initial_epoch,
            batch_size=self.train["batch_size"],
            callbacks=[*self.callbacks(), *callbacks],
            verbose=0,
        )


class BudgetStop(keras.callbacks.Callback):
    """Ends the running trial at an epoch boundary once the total-epoch or time budget is spent."""

    def __init__(self, search: Search):
        super().__init__()
        self.search = search

    def __deepcopy__(self, memo):  # Keras Tuner deep-copies callbacks; share this one
        return self

    def on_epoch_end(self, epoch, logs=None):
        budget = self.search.budget
        if not (budget.get("max_total_epochs") or budget.get("timeout_s")):
            return
        reason = self.search.exhausted()
        if reason and not reason.startswith("max_trials"):
            log.info("%s: %s reached, stopping the current trial", self.search.name, reason)
            self.model.stop_training = True


def state_dir_for(state_root: Path, sections: dict, data_manifest: dict) -> Path:
    """The search's state folder, named by everything that defines the search, so that a change of
    params or data starts a fresh search instead of resuming an unrelated one."""
    key = fingerprint({"params": sections, "data": data_manifest["splits"]})
    for stale in state_root.glob("*") if state_root.exists() else []:
        if stale.name != key:
            log.info("params or data changed: discarding the old search state %s", stale)
            shutil.rmtree(stale, ignore_errors=True)
    path = state_root / key
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_tuning(sections: dict, tuner: str, data_dir: Path, out_dir: Path, state: Path) -> dict:
    """Search, then write out_dir/trials.csv and out_dir/best.json; return best.json's content.

    `state` holds what a resumed search needs; it is not an orchestrator output, so a failed run
    does not delete it."""
    options = sections[f"tuners.{tuner}"]
    budget = tuner_settings(sections, tuner, "tuning")
    train = tuner_settings(sections, tuner, "train")
    space = sections["search_space"]
    manifest = dataset.manifest(data_dir)
    state_dir = state_dir_for(state, sections, manifest)
    hp_names = list(space)
    recorder = TrialRecorder(tuner, budget["objective"], hp_names, state_dir / "ledger.jsonl", log)
    recorder.total_trials = budget["max_trials"]
    data = dataset.load_training(data_dir, train["validation_fraction"], sections["seed"])
    log.info(
        "%s: %s search, %d train / %d validation images, %d classes, up to %d trials x %d epochs",
        tuner,
        options["framework"],
        len(data.train.y),
        len(data.validation.y),
        data.n_classes,
        budget["max_trials"],
        budget["max_epochs"],
    )
    search = Search(
        tuner,
        options,
        space,
        budget,
        train,
        sections["seed"],
        data,
        recorder,
        state_dir,
    )
    if done := len(recorder.rows()):
        log.info("%s: resuming, %d trials already recorded", tuner, done)
    if options["framework"] == "optuna":
        from bloomtune.tuners_optuna import run_optuna

        run_optuna(search)
    else:
        from bloomtune.tuners_keras import run_keras_tuner

        run_keras_tuner(search)
    return write_results(search, out_dir)


def write_results(search: Search, out_dir: Path) -> dict:
    rows = search.recorder.rows()
    summary = summarise(rows, search.objective)
    if summary["best"] is None:
        reasons = sorted({r["failure_reason"] for r in rows if r["failure_reason"]})
        raise TuningError(
            f"{search.name}: every one of {len(rows)} trials failed"
            + (f" ({'; '.join(reasons)[:300]})" if reasons else "")
        )
    best = summary["best"]
    result = {
        "tuner": search.name,
        "framework": search.options["framework"],
        "options": search.options,
        "objective": search.objective,
        "score": best["score"],
        "trial": best["trial"],
        "hyperparameters": {k: best[k] for k in search.space},
        "totals": summary["totals"],
        "params_fingerprint": search.state_dir.name,
        "settings": {
            "seed": search.seed,
            "budget": search.budget,
            "train": search.train,
            "search_space": search.space,
            "train_images": len(search.data.train.y),
            "validation_images": len(search.data.validation.y),
        },
    }
    with atomic_path(out_dir / "trials.csv") as tmp:
        ledger_frame(rows, list(search.space)).to_csv(tmp, index=False)
    write_json(out_dir / "best.json", result)
    totals = summary["totals"]
    log.info(
        "%s: best %s %.4f (trial %d); %d trials (%d complete, %d pruned, %d failed), "
        "%d epochs, %.0f s",
        search.name,
        search.objective,
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
