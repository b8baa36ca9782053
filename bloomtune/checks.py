"""The one params check, before any work: the schema, the data source, the search space, the
model and every tuner's framework options (its pruner, its storage). The Snakefile, the overlay
and every stage script call it, so a wrong value fails at once with one line naming the key.

A check accepts or refuses; it changes nothing a stage writes, so it is no stage's code
dependency (bloomtune/codedeps.py): editing a check reruns nothing."""

from __future__ import annotations

from pathlib import Path

from bloomtune.errors import ParamsError
from bloomtune.model_settings import resolve
from bloomtune.model_spec import check_blog_cnn, check_model
from bloomtune.params import check_schema, read_params
from bloomtune.replay.grid import check_grid
from bloomtune.space import check_space
from bloomtune.training.model import count_params
from bloomtune.tuning.frameworks import framework


def check_params(params: dict, *, frameworks: bool = True) -> None:
    """Raise ParamsError with one line naming the first wrong key, or return None.

    `frameworks=False` leaves out the tuners' framework options (their check imports Optuna
    and SQLAlchemy, seconds of start-up): the stage scripts pass it, since the Snakefile and the
    overlay check them before any job, and the tune stage checks its own tuner's before any
    training."""
    check_schema(params)
    space = check_space(params["search_space"])
    check_model(params["model"], space.names, params["standardise"]["image_size"])
    blog_cnn = params["model"]["family"] == "blog_cnn"
    if blog_cnn:
        check_blog_cnn(space, params["standardise"]["image_size"])
    for tuner, entry in params["tuners"].items():
        budget = resolve(params, "tune", tuner, seed=0).budget
        if blog_cnn:
            _check_model_limit(budget.max_model_params, space, params)
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


def _values(dim) -> list:
    """A blog CNN dimension's values (an int range in full, up to a thousand of them)."""
    if dim.choices is not None:
        return list(dim.choices)
    return list(range(dim.low, dim.high + 1))[:1000] if isinstance(dim.low, int) else []


def _check_model_limit(limit, space, params: dict) -> None:
    """A parameter limit below the blog CNN's smallest model refuses every trial: refused."""
    if limit == "auto":
        return
    data = params["data"]
    # The fewest classes the data can have (a folder's are counted only when it is read).
    classes = {"oxford102": 102, "synthetic": data["synthetic"]["n_classes"]}.get(
        data["source"], 2
    )
    dims = {dim.name: dim for dim in space}
    shape = {}
    for name, pick in (("filters", min), ("strides", max)):  # fewer parameters either way
        if name in dims and (values := _values(dims[name])):
            shape[name] = pick(values)
    size = params["standardise"]["image_size"]
    kernels = _values(dims["kernel_size"]) if "kernel_size" in dims else [None]
    smallest = min(
        (count_params({**shape, "kernel_size": k} if k else shape, size, classes), k)
        for k in kernels or [None]
    )
    if 0 < smallest[0] and limit < smallest[0]:
        raise ParamsError(
            f"tuning.max_model_params: {limit:,} is below the smallest model the search space "
            "gives "
            f"({smallest[0]:,} parameters at {size} px and {classes} classes), so every trial "
            "would be refused as too large; raise it or use auto"
        )


def load_params(files: list[str | Path], *, frameworks: bool = True) -> dict:
    """Merge params files in order (later ones override) and check the result."""
    params = read_params(files)
    check_params(params, frameworks=frameworks)
    return params


__all__ = ["ParamsError", "check_params", "load_params"]
