"""What every stage script shares: arguments, params checks, logging, one-line errors."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable

from bloomtune.params import ParamsError, load_params, stage_params
from bloomtune.runtime import configure_tensorflow, setup_logging, thread_budget

log = logging.getLogger("bloomtune")

# Errors a user can act on: shown as one line, without a traceback.
USER_ERRORS = (ParamsError, ValueError, OSError, RuntimeError, NotImplementedError)


def run_stage(
    stage: str,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    work: Callable[[argparse.Namespace, dict], object],
    *,
    tensorflow: bool = True,
) -> None:
    """Parse arguments, check params, set up logging and threads, run `work`, exit cleanly."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--params",
        nargs="+",
        default=["params.yaml"],
        help="params files, merged in order (later ones override)",
    )
    parser.add_argument("--log", help="also write the log to this file")
    add_arguments(parser)
    args = parser.parse_args()
    setup_logging(args.log)
    try:
        params = load_params(args.params)
        sections = stage_params(params, stage, getattr(args, "tuner", None))
    except ParamsError as exc:
        log.error("params: %s", exc)
        sys.exit(2)
    threads = thread_budget()
    if tensorflow:
        configure_tensorflow(threads)
    args.threads = threads
    start = time.perf_counter()
    try:
        work(args, sections)
    except USER_ERRORS as exc:
        log.error("%s failed: %s", stage, " ".join(str(exc).split()))
        log.debug("traceback", exc_info=True)
        sys.exit(1)
    log.info("%s done in %.1f s (%d threads)", stage, time.perf_counter() - start, threads)
