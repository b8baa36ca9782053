"""How far to trust the replay: the tuners' ranking, live against replayed, with a bootstrap
interval over the seeds both have; where each tuner's live mean falls among the replay's; the
spread of each; and the verdict, which leads with the trial-level fidelity against its noise
ceiling (reporting/fidelity.py) and states one of three things: the replay agrees with live
training within its noise, it agrees on the ordering but not the level, or it does not agree."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from bloomtune.objective import higher_is_better
from bloomtune.reporting import statistics
from bloomtune.reporting.fidelity import CONFIDENCE, RESAMPLES, Fidelity, ci_text
from bloomtune.reporting.tables import counted

AGREES, ORDERING, DISAGREES = "agrees", "ordering", "disagrees"


def _tau(a: np.ndarray, b: np.ndarray) -> float:
    found = stats.kendalltau(a, b).statistic
    return math.nan if math.isnan(found) else float(found)


def tau_interval(live: np.ndarray, replay: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval (SciPy) of Kendall's tau between the tuners' mean ranks
    live and replayed, over the seeds both have (`live`, `replay`: seeds x tuners ranks; each
    resample draws the seeds with replacement; one whose mean ranks all tie on one side, where
    tau is undefined, counts as 0: no agreement). NaN with one seed."""
    if len(live) < 2:
        return (math.nan, math.nan)

    def tau(idx):
        idx = idx.astype(int)
        found = _tau(live[idx].mean(axis=0), replay[idx].mean(axis=0))
        return 0.0 if math.isnan(found) else found  # all tied on one side: no agreement

    found = stats.bootstrap((np.arange(len(live)),), tau, vectorized=False,
                            n_resamples=RESAMPLES, confidence_level=CONFIDENCE,
                            method="percentile", rng=np.random.default_rng(seed))  # fmt: skip
    return (float(found.confidence_interval.low), float(found.confidence_interval.high))


def percentile(live_mean: float, replays: np.ndarray, k: int, seed: int = 0) -> float:
    """Where a live mean of `k` repetitions falls among the means of `k` replayed repetitions
    drawn with replacement (RESAMPLES of them): the percentage below it, ties counting half."""
    rng = np.random.default_rng(seed)
    means = replays[rng.integers(0, len(replays), (RESAMPLES, k))].mean(axis=1)
    tie = np.isclose(means, live_mean)
    return float(100 * (np.sum((means < live_mean) & ~tie) + 0.5 * np.sum(tie)) / RESAMPLES)


def agreement(live: pd.DataFrame, replay: pd.DataFrame, objective: str) -> dict | None:
    """Live against replay (`tuner`, `seed`, `score` rows; live: every live search): on the
    tuners and seeds both have, per tuner the mean best score of each and across tuners Kendall's
    tau (SciPy) of their mean ranks (ranked within each seed) with its bootstrap interval; per
    tuner, where its live mean falls among the replay's means of as many repetitions, and the
    standard deviation of each. None without two shared tuners and a seed."""
    shared = live.merge(replay, on=["tuner", "seed"], suffixes=("_live", "_replay"))
    tuners = list(dict.fromkeys(shared["tuner"]))
    if len(tuners) < 2 or shared.empty:
        return None
    means = shared.groupby("tuner", sort=False)[["score_live", "score_replay"]].mean()
    higher = higher_is_better(objective)

    def seed_ranks(column):
        wide = shared.pivot(index="seed", columns="tuner", values=column)[tuners].dropna()
        return statistics.ranks(wide, higher)

    live_by_seed, replay_by_seed = seed_ranks("score_live"), seed_ranks("score_replay")
    live_ranks, replay_ranks = live_by_seed.mean(), replay_by_seed.mean()
    both = live_by_seed.index.intersection(replay_by_seed.index)
    tau = _tau(live_ranks[tuners].to_numpy(), replay_ranks[tuners].to_numpy())
    p = stats.kendalltau(live_ranks[tuners], replay_ranks[tuners]).pvalue
    order = lambda r: list(r.sort_values(kind="stable").index)  # noqa: E731
    spread = []
    for tuner in tuners:
        mine = live.loc[live["tuner"] == tuner, "score"].to_numpy(float)
        theirs = replay.loc[replay["tuner"] == tuner, "score"].to_numpy(float)
        spread.append({
            "tuner": tuner, "live_sd": float(np.std(mine, ddof=1)) if len(mine) > 1 else math.nan,
            "replay_sd": float(np.std(theirs, ddof=1)) if len(theirs) > 1 else math.nan,
            "percentile": percentile(float(mine.mean()), theirs, len(mine)),
            "live_n": len(mine), "replay_n": len(theirs),
        })  # fmt: skip
    return {
        "tuners": tuners,
        "seeds": sorted(set(shared["seed"])),
        "means": means.reindex(tuners),
        "live_ranks": live_ranks[tuners],
        "replay_ranks": replay_ranks[tuners],
        "tau": None if math.isnan(tau) else tau,
        "p": None if math.isnan(p) else float(p),
        "tau_ci": tau_interval(
            live_by_seed.loc[both, tuners].to_numpy(), replay_by_seed.loc[both, tuners].to_numpy()
        ),  # fmt: skip
        "same_order": order(live_ranks) == order(replay_ranks),
        "same_first": order(live_ranks)[0] == order(replay_ranks)[0],
        "spread": pd.DataFrame(spread),
    }


def verdict(fid: Fidelity | None, found: dict | None) -> tuple[str, str] | None:
    """One of AGREES, ORDERING, DISAGREES with the reason in words; None when no live trial can
    be compared. The replay agrees within its noise when the live trials' scores rise with the
    table's (rho's interval above 0), neither their correlation nor their distance from the
    table is shown worse than a training seed's own (the matched-minus-ceiling intervals reach
    0) and the tuners' ranking is not reversed (tau's interval not wholly below 0). It agrees on
    the ordering when rho's interval is above 0 and the ranking is not reversed. Otherwise it does
    not agree."""
    if fid is None:
        return None
    kind, said = _verdict(fid, found)
    if found is not None:
        tau = "undefined" if found["tau"] is None else f"{found['tau']:.2f}"
        said += (
            f" The tuners' ranking, live against replayed over the "
            f"{counted(len(found['seeds']), 'seed')} both have: Kendall's tau {tau}, "
            f"{CONFIDENCE:.0%} interval {ci_text(found['tau_ci'])}."
        )
    return kind, said


def _verdict(fid: Fidelity, found: dict | None) -> tuple[str, str]:
    reversed_ = found is not None and not math.isnan(found["tau_ci"][1]) and found["tau_ci"][1] < 0
    ordered = fid.rho_ci[0] > 0
    if not ordered or reversed_:
        why = (
            f"the live trials' scores do not rise with the table's (rho {fid.rho:.2f}, interval "
            f"{ci_text(fid.rho_ci)} reaches 0)"
            if not ordered
            else f"it ranks the tuners in reverse (tau's interval {ci_text(found['tau_ci'])})"
        )
        return DISAGREES, f"The replay does not agree with live training: {why}."
    if fid.ceiling is None:
        return ORDERING, (
            "The replay agrees with live training on the ordering (rho "
            f"{fid.rho:.2f}, interval {ci_text(fid.rho_ci)}), but whether it agrees within "
            "its noise cannot be told: the table has one training seed, so it has no noise "
            "ceiling (tabulate.seeds 2 or more gives one)."
        )
    closer = fid.gap_ci[1] >= 0
    level = fid.mad_gap_ci[0] <= 0
    if closer and level:
        return AGREES, (
            "The replay agrees with live training within its noise: live trials follow the "
            f"table (rho {fid.matched:.2f} against its other seeds) as closely as its own "
            f"training seeds follow each other (ceiling {fid.ceiling:.2f}; difference interval "
            f"{ci_text(fid.gap_ci)}), and lie as near it (mean absolute difference "
            f"{fid.mad_matched:.3f} against {fid.mad_ceiling:.3f})."
        )
    faults = []
    if not level:
        faults.append(
            f"live scores lie farther from the table than its training seeds do (mean "
            f"absolute difference {fid.mad_matched:.3f} against {fid.mad_ceiling:.3f}, "
            f"difference interval {ci_text(fid.mad_gap_ci)}; live minus table on average "
            f"{fid.bias:+.3f})"
        )
    if not closer:
        faults.append(
            f"they follow it less closely than its seeds follow each other (rho "
            f"{fid.matched:.2f} against the ceiling {fid.ceiling:.2f}, difference interval "
            f"{ci_text(fid.gap_ci)})"
        )
    return ORDERING, (
        "The replay agrees with live training on the ordering (rho "
        f"{fid.rho:.2f}, interval {ci_text(fid.rho_ci)}) but not within its noise: "
        + "; ".join(faults)
        + "."
    )


def ranking_text(found: dict | None, objective: str) -> str:
    """The tuners' ranking, live against replayed, with its interval and what it can show."""
    if found is None:
        return (
            "No tuner has both live and replayed searches of the same seeds, so the tuners' "
            "ranking cannot be compared."
        )
    n, k = len(found["seeds"]), len(found["tuners"])
    tau = "undefined (a tie)" if found["tau"] is None else f"{found['tau']:.2f}"
    p = "" if found["p"] is None else f", p = {found['p']:.3g}"
    if found["same_order"]:
        said = "The replay ranks the tuners in the same order as the live runs"
    elif found["same_first"]:
        said = "The replay puts the same tuner first as the live runs, the others in another order"
    else:
        said = "The replay ranks the tuners otherwise than the live runs (another tuner is first)"
    return (
        f"{said}: Kendall's tau of the {k} tuners' mean ranks by best {objective}, live against "
        f"replay over the {counted(n, 'seed')} both have, is {tau}{p}; its {CONFIDENCE:.0%} "
        f"bootstrap interval over those seeds is {ci_text(found['tau_ci'])}. With {k} tuners "
        f"and {counted(n, 'seed')} it is a check, not a proof: the trial-level comparison above "
        "carries more evidence. The percentile says where each tuner's live mean falls among "
        "the replay's means of as many repetitions (50: in the middle; near 0 or 100: outside "
        "what the replay gives)."
    )
