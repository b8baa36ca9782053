"""The one params check, before any work: the schema, the data source, the search space, the
model and every tuner's framework options (its pruner, its storage). The Snakefile, the overlay
and every stage script call it, so a wrong value fails at once with one line naming the key.

A check accepts or refuses; it changes nothing a stage writes, so it is no stage's code
dependency (bloomtune/codedeps.py): editing a check reruns nothing."""

from __future__ import annotations

from pathlib import Path

from bloomtune.data import sources
from bloomtune.errors import ParamsError
from bloomtune.model_settings import resolve
from bloomtune.params import check_schema, read_params
from bloomtune.replay.grid import check_grid
from bloomtune.space import check_space
from bloomtune.training import families
from bloomtune.tuning.frameworks import framework


def check_params(params: dict, *, frameworks: bool = True) -> None:
    """Raise ParamsError with one line naming the first wrong key, or return None.

    `frameworks=False` leaves out the tuners' framework options (their check imports Optuna
    and SQLAlchemy, seconds of start-up): the stage scripts pass it, since the Snakefile and the
    overlay check them before any job, and the tune stage checks its own tuner's before any
    training."""
    check_schema(params)
    data = params["data"]
    sources.source(data["source"]).check(data[data["source"]])
    space = check_space(params["search_space"])
    families.check(params["model"], space, params)
    model = families.family(params["model"]["family"])
    fewest = sources.source(data["source"]).fewest_classes(data[data["source"]])
    for tuner, entry in params["tuners"].items():
        budget = resolve(params, "tune", tuner, seed=0).budget
        if budget.max_model_params != "auto":
            size = params["standardise"]["image_size"]
            model.check_limit(budget.max_model_params, space, size, fewest)
        if frameworks:
            framework(entry["framework"]).check(tuner, entry, budget)
    # A wrong grid value is refused with the replay off too; a range left out only when it is on.
    check_grid(space, params["tabulate"], complete=bool(params["replay"]["tables"]))
    report = params["report"]
    if report.get("control") and report.get("comparisons", "all_pairs") != "control":
        raise ParamsError(
            f"report.control: {report['control']!r} is used only with report.comparisons: "
            "control (it is all_pairs, which tests every pair); set one or remove the other"
        )
    if report.get("comparisons") == "control" and report.get("control") not in params["tuners"]:
        names = ", ".join(params["tuners"])
        raise ParamsError(
            f"report.control: testing each tuner against a baseline needs one of the tuners "
            f"({names}), not {report.get('control')!r}"
        )


def load_params(files: list[str | Path], *, frameworks: bool = True) -> dict:
    """Merge params files in order (later ones override) and check the result."""
    params = read_params(files)
    check_params(params, frameworks=frameworks)
    return params


__all__ = ["ParamsError", "check_params", "load_params"]
