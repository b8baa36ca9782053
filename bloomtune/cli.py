"""What every stage script shares: arguments, resolved settings, logging, errors."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Callable

from bloomtune.checks import load_params
from bloomtune.console import log_write_error, setup_logging
from bloomtune.data import made_with
from bloomtune.errors import ParamsError, UserError
from bloomtune.files import Busy, exclusive, lock_beside, no_space
from bloomtune.machine import claim_gpus, configure_tensorflow, thread_budget
from bloomtune.run_lock import stage_run
from bloomtune.settings import REPEATED, resolve

log = logging.getLogger("bloomtune")

# Errors a user can act on (bad params, a missing file, a failed download): one line, no
# traceback. Anything else is a bug: one line, and its traceback in the job's log.
USER_ERRORS = (UserError, OSError)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def run_stage(
    stage: str,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    work: Callable[[argparse.Namespace, object], object],
    *,
    tensorflow: bool = True,
    resolve: Callable = resolve,
    locked: bool = False,
) -> None:
    """Parse arguments, check the params, resolve the stage's settings with `resolve` (the
    model stages pass bloomtune.model_settings.resolve), set up logging and threads, run
    `work`. `locked`: the stage's output (`--out`) is written by one process at a time (a
    lock beside it, not inside it), whoever started it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--params",
        nargs="+",
        default=["params.yaml"],
        help="params files, merged in order (later ones override)",
    )
    parser.add_argument("--log", help="also write the log (and any traceback) to this file")
    if stage in REPEATED:
        parser.add_argument(
            "--seed", type=int, required=True, help="the repetition's seed (one of params seeds)"
        )
    add_arguments(parser)
    args = parser.parse_args()
    with contextlib.ExitStack() as held:
        try:
            # Locks first: a refused job must not truncate the log of the job that holds them.
            held.enter_context(stage_run(stage))
            if locked:  # one run of this stage at a time, whichever orchestrator started it
                held.enter_context(exclusive(lock_beside(args.out), f"the {stage} stage"))
        except Busy as exc:
            print(f"{stage} refused: {one_line(exc)}", file=sys.stderr)
            sys.exit(1)
        except OSError as exc:  # a full or read-only disk where the lock goes
            print(f"{stage} failed: {_os_error(exc, args)}", file=sys.stderr)
            sys.exit(1)
        _run(stage, args, work, tensorflow, resolve)


def _run(stage: str, args, work, tensorflow: bool, resolve: Callable) -> None:
    try:
        setup_logging(args.log)
    except UserError as exc:  # nowhere to log to yet: one line on stderr
        print(f"{stage} failed: {one_line(exc)}", file=sys.stderr)
        sys.exit(1)
    try:
        params = load_params(args.params, frameworks=False)  # tune checks its own tuner
        tuner, seed = getattr(args, "tuner", None), getattr(args, "seed", None)
        settings = resolve(params, stage, tuner, seed)
        # Data made with other params (by the other orchestrator) is refused, never reused.
        made_with.check(getattr(args, "raw", None), params, "download")
        made_with.check(getattr(args, "data", None), params, "standardise")
        threads = thread_budget()
        if tensorflow:
            # Each training process sees only its own GPUs (a tune job: one share per worker).
            processes = settings.tuner.workers if stage == "tune" else 1
            claim_gpus(params["resources"]["gpus"] * processes)
            configure_tensorflow(threads)
        args.threads = threads
        start = time.perf_counter()
        work(args, settings)
        if stage in made_with.CHAIN:
            made_with.record(args.out, params, stage)
    except ParamsError as exc:  # the stage's own checks run before any work too
        log.error("params: %s", exc)
        sys.exit(2)
    except USER_ERRORS as exc:
        log.error("%s failed: %s", stage, _os_error(exc, args))
        _log_written(stage, args.log)
        sys.exit(1)
    except Exception as exc:
        where = f"traceback in {args.log}" if args.log else "traceback follows"
        log.error(
            "%s failed unexpectedly: %s: %s (%s)",
            stage,
            type(exc).__name__,
            one_line(exc),
            where,
            exc_info=True,
        )
        sys.exit(1)
    log.info("%s done in %.1f s (%d threads)", stage, time.perf_counter() - start, threads)
    _log_written(stage, args.log)


def _os_error(exc: BaseException, args) -> str:
    """One line for an error the user can act on; a full disk's names where it is full."""
    if isinstance(exc, OSError) and not isinstance(exc, UserError):
        folders = [getattr(args, name, None) for name in ("out", "state", "log")]
        return no_space(exc, folders) or one_line(exc)
    return one_line(exc)


def _log_written(stage: str, log_file) -> None:
    """A log that lost lines (a full or read-only disk) fails the stage, saying so on the
    console: it must not end well with an empty log."""
    if (error := log_write_error()) is not None:
        log.error("%s failed: its log %s lost lines: %s (free space or make it writable, then "
                  "rerun)", stage, log_file, error.strerror or error)  # fmt: skip
        sys.exit(1)
