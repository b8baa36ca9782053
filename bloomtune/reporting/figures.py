"""The report's figures, drawn with matplotlib into PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from bloomtune.plotting import plt
from bloomtune.plotting import save as _save


def palette(tuners: list[str]) -> dict[str, str]:
    """One colour per tuner, the same in every figure (matplotlib's tab10, in params order)."""
    colours = plt.get_cmap("tab10").colors
    return {tuner: matplotlib_colour(colours[i % len(colours)]) for i, tuner in enumerate(tuners)}


def matplotlib_colour(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(round(255 * c) for c in rgb[:3]))


def anytime_curves(
    bands: dict[str, dict[str, pd.DataFrame]], runs: int, objective, path, colours: dict
) -> Path:
    """Each tuner's best-so-far score against cumulative epochs and wall time: `bands` holds, per
    tuner and axis, the median and interquartile band over its `runs` repetitions
    (statistics.anytime_band); one repetition draws its own curve."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, x in zip(axes, ("epochs", "wall_s"), strict=True):
        for tuner, by_axis in bands.items():
            band = by_axis[x]
            colour = colours[tuner]
            ax.step(band[x], band["median"], where="post", label=tuner, color=colour)
            if runs > 1:
                ax.fill_between(
                    band[x], band["q25"], band["q75"], step="post", alpha=0.2, color=colour,
                )  # fmt: skip
        ax.set_ylabel(f"best {objective} so far")
        ax.grid(alpha=0.3)
    axes[0].set_xlabel("cumulative epochs trained")
    axes[1].set_xlabel("cumulative tuning wall time (s)")
    if runs > 1:
        fig.suptitle(f"median and interquartile band over {runs} repetitions", fontsize=10)
    axes[1].legend(fontsize=8)
    return _save(fig, path)


def best_epoch_curves(
    histories: dict[str, list[tuple[pd.DataFrame, int]]], objective, path, colours: dict
):
    """Validation score per epoch of each run's best hyperparameters, a star at the chosen epoch;
    one colour per tuner."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for tuner, runs in histories.items():
        colour = colours[tuner]
        for k, (history, chosen) in enumerate(runs):
            ax.plot(
                history["epoch"], history[objective], marker=".", color=colour,
                label=None if k else tuner, alpha=0.8 if len(runs) == 1 else 0.5,
            )  # fmt: skip
            value = history.loc[history["epoch"] == chosen, objective]
            ax.plot([chosen], value, marker="*", markersize=12, color=colour)
    ax.set_xlabel("epoch")
    ax.set_ylabel(objective)
    ax.set_title("best hyperparameters per epoch (star: chosen epoch)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def hyperparameters_tried(
    ledgers: dict[str, pd.DataFrame], space, path: Path, colours: dict
) -> Path:
    """One strip per hyperparameter (a SearchSpace's dimensions): every trial's value, by tuner
    (its name in its colour), coloured by status."""
    dims = list(space)
    tuners = list(ledgers)
    fig, axes = plt.subplots(1, len(dims), figsize=(3.2 * len(dims), 0.6 * len(tuners) + 1.8))
    colours = {"complete": "tab:blue", "pruned": "tab:orange", "failed": "tab:red"}
    for ax, dim in zip(np.atleast_1d(axes), dims, strict=True):
        name, categorical = dim.name, dim.choices is not None
        for row, tuner in enumerate(tuners):
            trials = ledgers[tuner]
            if categorical:
                lookup = {str(c): i for i, c in enumerate(dim.choices)}
                x = trials[name].astype(str).map(lookup).astype(float)
            else:
                x = trials[name].astype(float)
            jitter = (np.arange(len(trials)) % 5 - 2) * 0.06
            ax.scatter(x, row + jitter, c=[colours.get(s, "grey") for s in trials["status"]], s=18)
        if categorical:
            ax.set_xticks(range(len(dim.choices)), [str(c) for c in dim.choices])
        elif dim.log:
            ax.set_xscale("log")
        ax.set_yticks(range(len(tuners)), tuners if ax is np.atleast_1d(axes)[0] else [])
        for label in ax.get_yticklabels():
            label.set_color(colours.get(label.get_text(), "black"))
        ax.set_ylim(-0.6, len(tuners) - 0.4)
        ax.set_title(name)
        ax.grid(alpha=0.3)
    fig.suptitle("hyperparameters tried (blue complete, orange pruned, red failed)", fontsize=10)
    return _save(fig, path)


def importances(values: dict[str, dict[str, float]], path: Path, colours: dict) -> Path:
    if not values:
        return note("no Optuna tuner with 3 or more complete, varied trials", path)
    fig, ax = plt.subplots(figsize=(7, 1 + 0.4 * sum(len(v) for v in values.values())))
    labels, heights, bar_colours = [], [], []
    for tuner, scores in values.items():
        for name, score in scores.items():
            labels.append(f"{tuner}: {name}")
            heights.append(score)
            bar_colours.append(colours[tuner])
    ax.barh(range(len(labels)), heights, color=bar_colours)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("importance (fANOVA, share of variance)")
    return _save(fig, path)


def note(text: str, path: Path) -> Path:
    """A figure that says, in words, why there is nothing to draw."""
    fig, ax = plt.subplots(figsize=(7, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    return _save(fig, path)


def critical_difference(
    mean_ranks: pd.Series, p_holm: pd.DataFrame, path: Path, colours: dict | None = None,
    alpha: float = 0.05,
) -> dict:  # fmt: skip
    """Critical-difference diagram (scikit-posthocs): tuners on their mean rank, a bar joining
    those no test tells apart at `alpha`; returns the drawn elements by kind."""
    from scikit_posthocs import critical_difference_diagram

    fig, ax = plt.subplots(figsize=(7, 0.4 * len(mean_ranks) + 1.2))
    elements = critical_difference_diagram(
        mean_ranks.to_dict(), p_holm, ax=ax, alpha=alpha, text_h_margin=0.05,
        color_palette=colours,
    )  # fmt: skip
    n = max(len(mean_ranks), 2)
    ax.set_xlim(1, n)  # the whole rank scale, however close the ranks
    ax.set_xticks(range(1, n + 1))
    ax.set_title("mean rank (1 is best); bars join tuners not significantly different")
    _save(fig, path)
    return elements


def evidence(rows: pd.DataFrame, rope: float, path: Path, colours: dict) -> Path:
    """The Bayesian signed-rank posterior of each compared pair as one stacked bar: P(first
    better by more than the rope), P(practically equal), P(second better)."""
    if rows.empty:
        return note("fewer than 2 repetitions: no Bayesian test", path)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
    for i, row in enumerate(rows.itertuples()):
        ax.barh(i, row.p_a, color=colours[row.a])
        ax.barh(i, row.p_rope, left=row.p_a, color="lightgrey")
        ax.barh(i, row.p_b, left=row.p_a + row.p_rope, color=colours[row.b])
    ax.set_yticks(range(len(rows)), [f"{r.a} vs {r.b}" for r in rows.itertuples()])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.axvline(0.95, color="black", lw=0.8, ls=":")
    ax.axvline(0.05, color="black", lw=0.8, ls=":")
    ax.set_xlabel(f"P(left better) | P(within {rope:g}, grey) | P(right better)")
    return _save(fig, path)


MARKERS = "osD^vP*X"


def coinciding(frame: pd.DataFrame) -> list[list[str]]:
    """Groups of tuners whose mean ranks are the same at every budget fraction (their lines lie
    on each other)."""
    lines: dict[tuple, list[str]] = {}
    for tuner, mine in frame.groupby("tuner", sort=False):
        lines.setdefault(tuple(mine["mean_rank"].round(9)), []).append(tuner)
    return [group for group in lines.values() if len(group) > 1]


def rank_over_budget(frame: pd.DataFrame, path: Path, colours: dict) -> Path:
    """Each tuner's mean rank by the best score reached at each fraction of the epoch budget;
    each tuner its own marker, drawn smaller than the one before, so lines that coincide stay
    visible (the caption names them too)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    tuners = list(dict.fromkeys(frame["tuner"]))
    for k, (tuner, mine) in enumerate(frame.groupby("tuner", sort=False)):
        ax.plot(mine["fraction"], mine["mean_rank"], marker=MARKERS[k % len(MARKERS)],
                markersize=11 - 6 * k / max(len(tuners) - 1, 1), label=tuner,
                color=colours[tuner], lw=2.5 - 1.5 * k / max(len(tuners) - 1, 1))  # fmt: skip
    tuners = frame["tuner"].nunique()
    ax.set_ylim(tuners + 0.5, 0.5)  # rank 1 on top
    ax.set_xticks(sorted(frame["fraction"].unique()))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of the epoch budget spent")
    ax.set_ylabel("mean rank (1 is best)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def landscape(per_config: pd.Series, summary: pd.DataFrame, objective: str, path,
              colours: dict) -> Path:  # fmt: skip
    """The grid's configurations by their score, best first, and each tuner's mean best score."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.plot(range(1, len(per_config) + 1), per_config.to_numpy(), color="0.3", marker=".",
            label="grid configurations")  # fmt: skip
    for row in summary.itertuples():
        ax.axhline(row.best_validation, color=colours[row.tuner], lw=1, label=row.tuner)
    ax.set_xlabel("configuration, by rank")
    ax.set_ylabel(objective)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def repetition_dots(table: pd.DataFrame, summary: pd.DataFrame, measure: str, order: list[str],
                    groups, label: str, path: Path, colours: dict) -> Path:  # fmt: skip
    """The answer at a glance: each tuner's repetitions as dots on the test measure (`table`:
    repetitions x tuners), its mean and interval of the mean (summary's {measure}_ci_low/high),
    tuners in `order` (best mean on top); a bar at the left joins each of `groups`, tuners no
    test separates."""
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(order) + 1.5))
    rows = summary.set_index("tuner")
    for y, tuner in enumerate(order):
        values = table[tuner].to_numpy(dtype=float)
        jitter = (np.arange(len(values)) % 5 - 2) * 0.06
        ax.scatter(values, y + jitter, color=colours[tuner], s=22, alpha=0.75, zorder=3)
        low, high = rows.loc[tuner, f"{measure}_ci_low"], rows.loc[tuner, f"{measure}_ci_high"]
        if np.isfinite(low):
            ax.plot([low, high], [y, y], color="black", lw=1.5, zorder=2)
        ax.plot([rows.loc[tuner, measure]], [y], marker="|", color="black", markersize=16)
    left = ax.get_xlim()[0]
    span = ax.get_xlim()[1] - left
    for k, group in enumerate(groups):
        ys = [order.index(t) for t in group]
        x = left - span * (0.03 + 0.025 * k)
        ax.plot([x, x], [min(ys) - 0.2, max(ys) + 0.2], color="0.35", lw=3, solid_capstyle="butt")
        if k == 0:
            ax.text(x, min(ys) - 0.3, "not separated", fontsize=7, color="0.35", ha="left")
    ax.set_xlim(left - span * (0.05 + 0.025 * len(groups)), ax.get_xlim()[1])
    ax.set_yticks(range(len(order)), order)
    for tick, tuner in zip(ax.get_yticklabels(), order, strict=True):
        tick.set_color(colours[tuner])
    ax.set_ylim(len(order) - 0.5, -0.5)  # the best mean on top
    ax.set_xlabel(label)
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def fidelity(pairs: pd.DataFrame, per_epoch: pd.DataFrame, objective: str, path,
             colours: dict) -> Path:  # fmt: skip
    """Left: each live trial's best score against the table's at its grid point (the mean over
    the table's training seeds), one colour per tuner, the diagonal where they would agree.
    Right: per epoch, Spearman's rho of live against the table (its mean, and its other seeds as
    the ceiling is) and the noise ceiling."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    for tuner, rows in pairs.groupby("tuner", sort=False):
        ax.scatter(rows["table"], rows["live"], s=16, alpha=0.7, label=tuner,
                   color=colours.get(tuner, "grey"))  # fmt: skip
    ends = [min(pairs["table"].min(), pairs["live"].min()),
            max(pairs["table"].max(), pairs["live"].max())]  # fmt: skip
    ax.plot(ends, ends, color="0.4", lw=1, ls="--")
    ax.set_xlabel(f"table's {objective} at the trial's grid point")
    ax.set_ylabel(f"live trial's {objective}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.plot(per_epoch["epoch"], per_epoch["rho"], marker="o", label="live against table")
    if per_epoch["ceiling"].notna().any():
        ax.plot(per_epoch["epoch"], per_epoch["matched"], marker="^",
                label="live against the table's other seeds")  # fmt: skip
        ax.plot(per_epoch["epoch"], per_epoch["ceiling"], marker="s", ls="--", color="0.4",
                label="noise ceiling (a seed against the others)")  # fmt: skip
    ax.set_xlabel("epoch")
    ax.set_ylabel("Spearman's rho")
    ax.set_xticks(per_epoch["epoch"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def held_out(frame: pd.DataFrame, objective: str, path) -> Path:
    """The curve model's leave-one-grid-value-out predictions against the table, one colour per
    left-out value, the diagonal where they agree."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for (dimension, value), rows in frame.groupby(["dimension", "value"], sort=True):
        ax.scatter(rows["table"], rows["predicted"], s=14, alpha=0.7,
                   label=f"{dimension} = {value:g}")  # fmt: skip
    ends = [min(frame["table"].min(), frame["predicted"].min()),
            max(frame["table"].max(), frame["predicted"].max())]  # fmt: skip
    ax.plot(ends, ends, color="0.4", lw=1, ls="--")
    ax.set_xlabel(f"table's best {objective}")
    ax.set_ylabel("predicted with that value left out")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)
