"""Optuna adapter: sampler, pruner and storage from params; trials asked and told through the
public API, each run by the shared trial runner (registered in tuning/frameworks.py)."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import optuna
from optuna.trial import TrialState
from sqlalchemy.exc import SQLAlchemyError

from bloomtune.errors import ParamsError, TuningError
from bloomtune.model_settings import TuneSettings
from bloomtune.objective import optuna_direction
from bloomtune.seeds import optimiser_seed
from bloomtune.tuning.frameworks import framework
from bloomtune.tuning.pruners import tuner_pruner
from bloomtune.tuning.runner import INTERRUPTED, TrialRunner

log = logging.getLogger(__name__)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
STATES = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED, "failed": TrialState.FAIL}


def _options(settings: TuneSettings):
    """The tuner's own options, typed, with their defaults (tuning/frameworks.py)."""
    return framework(settings.tuner.framework).options(settings.tuner.options)


def sampler_seed(seed: int, worker: int = 0, resumed: int = 0) -> int:
    """The sampler's seed for repetition `seed`, derived by hash (seeds.optimiser_seed), as Keras
    Tuner's oracles' are: the same for every Optuna tuner of one repetition (common random
    numbers), another for each worker beyond the first (equal seeds would make random samplers
    propose the same configurations in every worker) and for a search resumed after `resumed`
    recorded trials (a fresh sampler would replay its random start-up from the beginning)."""
    parts = ("optuna", *(("worker", worker) if worker > 1 else ()))
    return optimiser_seed(seed, *parts, *(("resume", resumed) if resumed else ()))


def make_sampler(name: str, seed: int, tuner: str):
    """The Optuna sampler `name`, seeded; `tuner` names the params key in errors."""
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    if name == "gp":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ParamsError(
                f"tuners.{tuner}.sampler: gp needs PyTorch: pip install torch "
                "(or choose tpe, random, cmaes, qmc)"
            ) from None
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(f"unknown Optuna sampler {name!r}")


# Every database connection has limits, so a server that stops answering fails the job in
# bounded time instead of hanging it: seconds to connect, and per statement (PostgreSQL's own
# statement_timeout and libpq's TCP timeout; SQLite's lock wait).
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_S = 120


def connect_args(url: str) -> dict:
    from sqlalchemy.engine import make_url

    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        ms = STATEMENT_TIMEOUT_S * 1000
        return {"connect_timeout": CONNECT_TIMEOUT_S, "options": f"-c statement_timeout={ms}",
                "tcp_user_timeout": ms}  # fmt: skip
    if backend == "mysql":
        return {"connect_timeout": CONNECT_TIMEOUT_S, "read_timeout": STATEMENT_TIMEOUT_S,
                "write_timeout": STATEMENT_TIMEOUT_S}  # fmt: skip
    if backend == "sqlite":
        return {"timeout": STATEMENT_TIMEOUT_S}
    return {}


@contextlib.contextmanager
def storage_errors(settings: TuneSettings):
    """A database failing under the search (stopped, unreachable, mute) ends the job with one
    line naming the tuner's storage key and URL (its password hidden)."""
    url = _options(settings).storage
    try:
        yield
    except (optuna.exceptions.StorageInternalError, SQLAlchemyError) as exc:
        if not url:
            raise
        from sqlalchemy.engine import make_url

        shown = make_url(url).render_as_string(hide_password=True)
        cause = exc.__cause__ or exc.__context__ or exc
        reason = " ".join(str(getattr(cause, "orig", None) or cause).split())[:300]
        raise TuningError(
            f"tuners.{settings.tuner.name}.storage: {shown} failed: {type(cause).__name__}: "
            f"{reason}"
        ) from None


def connection_url(settings: TuneSettings) -> str | None:
    """The storage URL to connect with: the params' URL, with the password from the variable
    tuners.<tuner>.storage_password_env joined to it here, in memory only."""
    options = _options(settings)
    url = options.storage
    if url and options.storage_password_env:
        import os

        from sqlalchemy.engine import make_url

        password = os.environ[options.storage_password_env]
        url = make_url(url).set(password=password).render_as_string(hide_password=False)
    return url


def storage_for(settings: TuneSettings, state_dir):
    if url := connection_url(settings):
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": connect_args(url)})
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    # An absolute path: Optuna's lock is a symlink to the journal, and it releases a lock that a
    # killed process left only once os.stat through the link finds the journal. A relative
    # target dangles from the lock's own folder, so a rerun after a kill waited for ever.
    return JournalStorage(JournalFileBackend(str((Path(state_dir) / "optuna.journal").resolve())))


ROW = "bloomtune_ledger_row"  # the trial's user attribute holding a copy of its ledger row
RETRY = "bloomtune_retry_of"  # an enqueued trial's: the interrupted trial it tries again


def tell(study, trial, row: dict, *, keep: bool = True) -> None:
    """Tell the study a trial's ledger row (a trial object or the number of one). With `keep`,
    a trial object gets a copy of the row in its user attributes first, so that the study's
    storage (journal or database) can restore a row the ledger loses (TrialRunner.record_lost).
    A number (a trial a stopped process left, closed failed) has no public way to take one: a
    lost row of it is rebuilt failed from the epochs it reported."""
    state = STATES[row["status"]]
    values = row["score"] if state == TrialState.COMPLETE else None
    if keep and not isinstance(trial, int):
        trial.set_user_attr(ROW, row)
    study.tell(trial, values, state=state, skip_if_finished=True)


def lost_records(study, max_epochs: int) -> dict[int, tuple[dict | None, int]]:
    """Each finished trial's copy of its ledger row, if it has one, and the epochs the study
    knows it trained (those it reported to the pruner), or else its limit (which bounds them, so
    a lost row's trial is never undercounted), for TrialRunner.record_lost."""
    return {
        t.number: (t.user_attrs.get(ROW), len(t.intermediate_values) or max_epochs)
        for t in study.get_trials(deepcopy=False, states=FINISHED)
    }


def close_interrupted(study, runner: TrialRunner) -> None:
    """Close the trials a killed process left RUNNING; the budget counts them.

    One the ledger holds (killed after journalling, before Optuna's tell) is told as it finished,
    so the sampler learns from it; any other is recorded failed, and its configuration is tried
    again (enqueued): the process stopped (a kill, a full disk), not the configuration."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        row = runner.recorded(trial.number) or runner.record_interrupted(
            trial.number, trial.params
        )
        tell(study, trial.number, row, keep=not runner.volatile)
        if row["status"] == "failed" and row["failure_reason"] == INTERRUPTED:
            study.enqueue_trial(trial.params, user_attrs={RETRY: trial.number})
            log.info("%s: trial %d's configuration is tried again (interrupted, not failed "
                     "by it)", runner.name, trial.number)  # fmt: skip


def open_study(settings: TuneSettings, runner: TrialRunner, state_dir, worker: int = 0):
    """The search's study, created if new, with this worker's sampler."""
    tuner, budget = settings.tuner, settings.budget
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # A fresh sampler replays its seed's stream from the start, so a resumed search would repeat
    # the configurations its random start-up already tried: reseed by the trials already recorded.
    seed = sampler_seed(settings.seed, worker, resumed=len(runner.rows()))
    return optuna.create_study(
        # The state folder's name fingerprints params and data: a changed search gets a fresh
        # study even in a shared RDB storage.
        study_name=f"bloomtune-{tuner.name}-{state_dir.name}",
        # A replay resumes nothing and must not write into a shared database: Optuna's memory.
        storage=None if runner.volatile else storage_for(settings, state_dir),
        sampler=make_sampler(_options(settings).sampler, seed, tuner.name),
        pruner=tuner_pruner(tuner.name, tuner.options, budget.max_epochs),
        direction=optuna_direction(budget.objective),
        load_if_exists=True,
    )


def pruning(trial, objective: str):
    """The runner's per-epoch hook that reports the objective to the study's pruner and prunes,
    as optuna-integration's KerasPruningCallback does (its step is the epoch counted from 0)."""

    def report(record: dict) -> None:
        value = record.get(objective)
        if value is None:
            return
        step = record["epoch"] - 1
        trial.report(float(value), step=step)
        if trial.should_prune():
            raise optuna.TrialPruned(f"Trial was pruned at epoch {step}.")

    return report


def _search(settings: TuneSettings, study, runner: TrialRunner) -> None:
    """Ask, run and tell trials while the shared budget gives this process a slot; the slot is
    taken with the trial, so a worker killed in between leaves no trial unaccounted for."""
    tuner, budget = settings.tuner, settings.budget
    prunes = _options(settings).pruner != "none"
    asked = {}
    while not (reason := runner.reserve(take=lambda: asked.setdefault("t", study.ask()).number)):
        trial = asked.pop("t")
        hp = settings.space.suggest_optuna(trial)
        on_epoch = pruning(trial, budget.objective) if prunes else None
        row = runner.run(trial.number, hp, on_epoch=on_epoch, pruned=(optuna.TrialPruned,))
        tell(study, trial, row, keep=not runner.volatile)
    log.info("%s: %s reached, search ends", tuner.name, reason)


def worker(settings: TuneSettings, runner: TrialRunner, state_dir) -> None:
    """One worker process of a parallel search: the study exists already."""
    with storage_errors(settings):
        _search(settings, open_study(settings, runner, state_dir, runner.worker), runner)


def search(settings: TuneSettings, runner: TrialRunner, state_dir, workers=None) -> None:
    """The tune job's search: in this process, or by `workers` sharing one study. The study is
    created here, once, before any worker starts (processes creating it at once would race)."""
    with storage_errors(settings):
        _search_study(settings, runner, state_dir, workers)


def _search_study(settings: TuneSettings, runner: TrialRunner, state_dir, workers) -> None:
    name = settings.tuner.name
    study = open_study(settings, runner, state_dir)
    close_interrupted(study, runner)
    runner.record_lost(lost_records(study, settings.budget.max_epochs))
    if reason := runner.exhausted():
        log.info("%s: budget already spent (%s)", name, reason)
        return
    if workers is None:
        _search(settings, study, runner)
        return

    def orphans(live: set[int]) -> list[tuple[int, dict]]:
        """Trials a dead worker asked for but had not started (none can be mid-ask now)."""
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        return [(t.number, t.params) for t in running if t.number not in live]

    def on_death(worker: int, reason: str) -> None:
        for row in runner.reap(worker, reason, orphans=orphans):
            tell(study, row["trial"], row, keep=not runner.volatile)

    workers.run(on_death)
    close_interrupted(study, runner)
