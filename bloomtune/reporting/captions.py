"""Every caption of the report's figures, written once: the report prints them under its
figures and writes them as reStructuredText (results/report/captions/) for Snakemake's
browsable report, so both say the same, with the significance level the tests used."""

from __future__ import annotations

from pathlib import Path

from bloomtune.files import atomic_path


def anytime(objective: str, n: int) -> str:
    spread = f" Line: median over {n} repetitions; band: interquartile range." if n > 1 else ""
    return f"Best {objective} found so far against cumulative epochs and wall time." + spread


def best_epoch(objective: str) -> str:
    return f"Validation {objective} per epoch of each run's best hyperparameters."


HYPERPARAMETERS = "Every trial's hyperparameters, by tuner and status (all repetitions)."
IMPORTANCES = "Hyperparameter importances (Optuna's fANOVA) from each Optuna tuner's trials."


def _untested(design) -> str:
    """What a bar joining two tuners means under the control design."""
    if design.comparisons != "control":
        return ""
    return (
        f" Only pairs with the control {design.control} are tested; a bar may join two others "
        "that no test compared."
    )


def critical_difference(n: int, tuners: int, design) -> str:
    if n < 2 or tuners < 2:
        return "A critical-difference diagram needs two or more repetitions."
    untested = _untested(design)
    return (
        f"Mean rank on test accuracy over {n} repetitions (1 is best). A bar joins tuners "
        f"whose difference is not significant (paired Wilcoxon, Holm-corrected, p < "
        f"{design.alpha})." + untested
    )


def rank_over_budget(n: int, fractions, coinciding=()) -> str:
    shares = ", ".join(f"{f:.0%}" for f in fractions)
    same = "; ".join(" and ".join(group) for group in coinciding)
    return (
        f"Each tuner's mean rank over {n} repetitions by the best validation score its search had "
        f"reached at {shares} of the epoch budget (1 is best; a search with no scored trial by "
        "then counts the measure's worst value, as in the any-time score). Each tuner has its "
        "own marker, smaller in params order."
        + (f" Lines that lie on each other: {same}." if same else "")
    )


def repetitions(n: int, label: str, design, interval: str) -> str:
    untested = _untested(design)
    return (
        f"Each tuner's {n} repetitions as dots on {label}, best mean on top; the tick is the "
        f"mean, the line its {interval}. A grey bar at the left joins tuners that no test "
        f"separates (paired Wilcoxon, Holm-corrected over {design.describe_short()}, p < "
        f"{design.alpha}): their order is not a finding." + untested
    )


def evidence(rope: float, n: int) -> str:
    return (
        f"Bayesian signed-rank test of test accuracy over {n} repetitions (baycomp): for each "
        f"compared pair, the posterior probability that the left tuner is better by more than "
        f"{rope:g}, that the two are within {rope:g} of each other (grey), and that the right one "
        "is better. Dotted lines at 0.05 and 0.95: the report calls a difference only beyond them."
    )


def write_rst(captions: dict[str, str], folder: Path) -> None:
    """One `<figure>.rst` per caption (Snakemake's report reads them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, caption in captions.items():
        with atomic_path(folder / f"{name}.rst") as tmp:
            tmp.write_text(caption + "\n")
