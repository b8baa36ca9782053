"""Keras Tuner adapter: its oracle chooses the hyperparameters, the shared trial runner runs each
trial (Keras Tuner's own run_trial, and its checkpoint on every improving epoch, are not used);
registered in tuning/frameworks.py."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import keras_tuner as kt

from bloomtune.files import read_json, write_json
from bloomtune.model_settings import TuneSettings
from bloomtune.seeds import optimiser_seed
from bloomtune.space import SearchSpace
from bloomtune.tuning.frameworks import framework
from bloomtune.tuning.runner import INTERRUPTED, TrialRunner

log = logging.getLogger(__name__)
PROJECT = "keras_tuner"  # Keras Tuner's folder in the search's state folder
ROW = "ledger_row.json"  # in a trial's folder: a copy of its ledger row


class SpaceHyperModel(kt.HyperModel):
    """Declares the shared search space to the oracle; the runner builds the models."""

    def __init__(self, space: SearchSpace):
        super().__init__()
        self.space = space

    def build(self, hp):
        # Keras Tuner calls build at start-up only to learn the space; building the default model
        # there could cost gigabytes (strides 1 at 300 px), so none is built.
        self.space.declare_keras_tuner(hp)
        return None


class SearchOver(Exception):
    """The shared budget has no trial left for this process."""


def _run_by(base, settings: TuneSettings, runner: TrialRunner, checkpoints: Path | None):
    """A tuner class of `base` whose trials the shared runner runs, one at a time per process,
    each under a slot of the shared budget taken before the oracle is asked for it."""

    class Run(base):
        waiting = False

        def pre_create_trial(self):
            if self.waiting:  # the oracle answered IDLE (Hyperband waits for a rung): pause
                time.sleep(0.5)
            if reason := runner.reserve():
                raise SearchOver(reason)
            self.waiting = True

        def on_search_end(self):
            runner.release()  # the oracle handed out no further trial
            super().on_search_end()

        def run_trial(self, trial, *args, **kwargs):
            self.waiting = False
            number = int(trial.trial_id)
            values = trial.hyperparameters.values
            row = runner.recorded(number)
            if row is not None:
                # Finished and journalled, but the process died before Keras Tuner saved its
                # oracle: hand the oracle the journalled result instead of training it again.
                runner.release()
                if row["status"] == "failed" and row["failure_reason"] == INTERRUPTED:
                    log.info("%s: trial %d was cut off by the stop; recorded failed, not "
                             "retrained", runner.name, number)  # fmt: skip
                else:
                    log.info("%s: trial %d finished before the restart; kept", runner.name,
                             number)  # fmt: skip
            else:
                parent = values.get("tuner/trial_id")
                row = runner.run(
                    number,
                    settings.space.active(values),
                    epochs=values.get("tuner/epochs"),
                    initial_epoch=values.get("tuner/initial_epoch", 0),
                    warm_start=checkpoints / f"{int(parent)}.weights.npz" if parent else None,
                    keep_weights=checkpoints / f"{number}.weights.npz" if checkpoints else None,
                    parent=int(parent) if parent else None,
                )
            if not runner.volatile:  # a copy the ledger can be restored from (search())
                write_json(Path(self.get_trial_dir(trial.trial_id)) / ROW, row)
            if row["status"] == "failed":
                raise kt.errors.FailedTrialError(row["failure_reason"])
            return {settings.budget.objective: row["score"]}

    Run.__name__ = f"Run{base.__name__}"
    return Run


def oracle_seed(seed: int) -> int:
    """The oracles' seed for repetition `seed`, derived by hash (seeds.optimiser_seed): Keras
    Tuner advances its seed by one per sampled hyperparameter, so the repetition seeds themselves
    would make repetition s + D (D dimensions) replay repetition s shifted by one trial. Every
    Keras Tuner tuner of one repetition gets the same seed (common random numbers: their random
    start-up trials may coincide, as the paired design intends)."""
    return optimiser_seed(seed, "keras_tuner")


def make_tuner(settings: TuneSettings, runner: TrialRunner, state_dir: Path):
    tuner, budget = settings.tuner, settings.budget
    common = {
        "hypermodel": SpaceHyperModel(settings.space),
        "objective": kt.Objective(budget.objective, budget.direction),
        "seed": oracle_seed(settings.seed),
        "directory": str(state_dir),
        "project_name": PROJECT,
        "overwrite": False,
        # Failed trials are recorded and the search goes on; the budget alone ends it.
        "max_consecutive_failed_trials": budget.max_trials + 1,
    }
    options = framework(tuner.framework).options(tuner.options)
    algorithm = options.algorithm
    if algorithm == "random":
        run_by = _run_by(kt.RandomSearch, settings, runner, None)
        return run_by(max_trials=budget.max_trials, **common)
    if algorithm == "bayesian":
        own = ("num_initial_points", "alpha", "beta")
        extra = {k: getattr(options, k) for k in own if getattr(options, k) is not None}
        run_by = _run_by(kt.BayesianOptimization, settings, runner, None)
        return run_by(max_trials=budget.max_trials, **extra, **common)
    # Hyperband continues a promoted trial from its parent's best-epoch weights: the runner writes
    # them after each trial's clock stops.
    hyperband = _run_by(kt.Hyperband, settings, runner, state_dir / "checkpoints")(
        max_epochs=budget.max_epochs,
        factor=options.factor,
        hyperband_iterations=options.hyperband_iterations,
        **common,
    )
    # Hyperband has no trial limit of its own; the shared budget caps it like the others.
    hyperband.oracle.max_trials = budget.max_trials
    return hyperband


def _search(tuner, runner: TrialRunner) -> None:
    try:
        # The runner trains on the search's own data; Keras Tuner passes nothing to fit, and
        # its per-trial console table stays off (the runner logs one line per trial).
        tuner.search(verbose=0)
    except SearchOver as over:
        log.info("%s: %s reached, search ends", runner.name, over)


def worker(settings: TuneSettings, runner: TrialRunner, state_dir: Path) -> None:
    """One worker of a parallel search: its tuner asks the chief's oracle for trials (Keras
    Tuner's distributed mode: KERASTUNER_TUNER_ID, _ORACLE_IP and _ORACLE_PORT are set)."""
    _search(make_tuner(settings, runner, state_dir), runner)


def serve_oracle(oracle):
    """Keras Tuner's chief oracle service on a free loopback port: (server, port)."""
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    protos.get_service_grpc().add_OracleServicer_to_server(OracleServicer(oracle), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def mend_state(state_dir: Path) -> str | None:
    """Keras Tuner rewrites its oracle.json and trial.json files whole; a process killed while
    writing one leaves it cut short, and Keras Tuner would fail on it at every rerun. Such a state
    is dropped: with the same seed the oracle hands out the same trials again, and the runner
    hands each one the ledger holds its recorded result (none is retrained). Returns what was
    done, for the log."""
    folder = state_dir / PROJECT
    for path in sorted(folder.rglob("*.json")) if folder.exists() else []:
        try:
            json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            shutil.rmtree(folder)
            return (
                f"{path} was cut short (the process was killed while writing it): Keras "
                "Tuner's state is rebuilt from the ledger, whose trials are kept, not retrained"
            )
    return None


def lost_records(tuner, max_epochs: int) -> dict[int, tuple[dict | None, int]]:
    """Each finished trial's copy of its ledger row from its trial folder, if there is one, and
    its epoch limit (Keras Tuner does not record the epochs a trial trained; the limit bounds
    them, so a lost row's trial is never undercounted), for TrialRunner.record_lost."""
    records = {}
    for number, trial in tuner.oracle.trials.items():
        if trial.status in ("COMPLETED", "FAILED", "INVALID"):
            path = Path(tuner.get_trial_dir(number)) / ROW
            values = trial.hyperparameters.values
            limit = values.get("tuner/epochs", max_epochs) - values.get("tuner/initial_epoch", 0)
            records[int(number)] = (read_json(path) if path.exists() else None, limit)
    return records


def search(settings: TuneSettings, runner: TrialRunner, state_dir: Path, workers=None) -> None:
    """The tune job's search: in this process, or, with `workers`, as Keras Tuner's chief: its
    oracle serves trials to the workers, and a worker that dies has its trial failed in the
    oracle (whose own chief would wait for it for ever) and in the ledger."""
    if mended := mend_state(state_dir):
        log.warning("%s: %s", runner.name, mended)
    tuner = make_tuner(settings, runner, state_dir)  # reloads a resumed search's oracle
    runner.record_lost(lost_records(tuner, settings.budget.max_epochs))
    if reason := runner.exhausted():
        log.info("%s: budget already spent (%s)", runner.name, reason)
        return
    if workers is None:
        _search(tuner, runner)
        return
    oracle = tuner.oracle
    oracle.verbose = 0  # its console table stays off here too
    server, port = serve_oracle(oracle)

    def env(worker: int) -> dict:
        return {
            "KERASTUNER_TUNER_ID": f"tuner{worker}",
            "KERASTUNER_ORACLE_IP": "127.0.0.1",
            "KERASTUNER_ORACLE_PORT": str(port),
        }

    def on_death(worker: int, reason: str) -> None:
        trial = oracle.ongoing_trials.get(f"tuner{worker}")
        number, values = (None, None) if trial is None else (int(trial.trial_id), {})
        if trial is not None:
            values = trial.hyperparameters.values
        runner.reap(worker, reason, number, values)
        if trial is not None:
            trial.status, trial.message = kt.engine.trial.TrialStatus.FAILED, reason
            oracle.end_trial(trial)
        oracle.tuner_ids.discard(f"tuner{worker}")

    try:
        workers.run(on_death, env)
    finally:
        server.stop(grace=None)
