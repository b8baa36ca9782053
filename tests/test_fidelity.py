"""How far to trust a replay: every live trial against the table at its grid point, against the
table's own noise ceiling; the tuners' ranking with a bootstrap interval; the verdict's three
cases (bloomtune/reporting/fidelity.py, trust.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bloomtune.replay.evaluator import Table
from bloomtune.replay.grid import configurations
from bloomtune.reporting.fidelity import RESAMPLES, GridCurves, fidelity
from bloomtune.reporting.trust import AGREES, DISAGREES, ORDERING, agreement, verdict
from bloomtune.space import SearchSpace
from bloomtune.tuning.ledger import curve_text

SPACE = SearchSpace.from_params({
    "filters": {"type": "categorical", "choices": [64, 128]},
    "strides": {"type": "categorical", "choices": [1, 2, 3]},
    "learning_rate": {"type": "float", "low": 1.0e-5, "high": 1.0e-3, "log": True},
})  # fmt: skip
GRID = {"learning_rate": [1.0e-5, 1.0e-4, 1.0e-3]}
CONFIGS = configurations(SPACE, GRID)  # 18
EPOCHS = 3


def _curve(config: int, noise: float = 0.0) -> list[float]:
    """A configuration's validation accuracy per epoch: rising, its level set by the config."""
    top = 0.2 + 0.6 * ((config * 7) % 18) / 17 + noise
    return [top * e / EPOCHS for e in range(1, EPOCHS + 1)]


def _table(seed_noise: dict[int, list[float]]) -> GridCurves:
    """Every configuration for each training seed, seed s's curve shifted by seed_noise[s][c]."""
    rows = []
    for config, hp in enumerate(CONFIGS):
        for seed, noise in seed_noise.items():
            for epoch, value in enumerate(_curve(config, noise[config]), start=1):
                rows.append({"config": config, **hp, "seed": seed, "epoch": epoch,
                             "status": "complete", "failure_reason": "", "loss": 1.0 / epoch,
                             "val_accuracy": value, "val_loss": 1.0 - value,
                             "test_accuracy": value, "test_loss": 1, "seconds": 1})  # fmt: skip
    return GridCurves(Table(pd.DataFrame(rows), SPACE), SPACE, GRID, "val_accuracy")


def _live(shift) -> pd.DataFrame:
    """Four live searches of two tuners, each trying every configuration once, trained through
    `epochs_run` epochs, the learning rate off the grid (snapped to it); `shift(config, i)` adds
    to the live curve of the i-th trial overall."""
    rows, i = [], 0
    for tuner in ("a", "b"):
        for seed in (1, 2):
            for trial, hp in enumerate(CONFIGS):
                config = CONFIGS.index(hp)
                curve = _curve(config, shift(config, i))
                run = 2 + (trial % 2)  # some stopped at epoch 2, as a pruner would
                history = [{"epoch": e, "val_accuracy": v}
                           for e, v in enumerate(curve[:run], start=1)]  # fmt: skip
                rows.append({"tuner": tuner, "search_seed": seed, "trial": trial,
                             "status": "complete" if run == 3 else "pruned",
                             **hp, "learning_rate": hp["learning_rate"] * 1.2,
                             "score": max(curve[:run]),
                             "curve": curve_text(history, "val_accuracy")})  # fmt: skip
                i += 1
    rows.append({"tuner": "a", "search_seed": 1, "trial": 99, "status": "failed", **CONFIGS[0],
                 "score": None, "curve": ""})  # fmt: skip
    return pd.DataFrame(rows)


def test_live_trials_that_are_the_tables_own_curves_reach_fidelity_and_ceiling_one():
    table = _table({1: [0.0] * 18, 2: [0.0] * 18})
    fid = fidelity(_live(lambda c, i: 0.0), table, SPACE, "val_accuracy")
    assert fid.trials == 72 and fid.searches == 4 and fid.skipped == {"failed live": 1}
    assert fid.rho == pytest.approx(1) and fid.matched == pytest.approx(1)
    assert fid.ceiling == pytest.approx(1)
    assert fid.mad == pytest.approx(0) and fid.bias == pytest.approx(0)
    # a trial stopped at epoch 2 is compared with the table's best over epochs 1..2
    stopped = fid.pairs[fid.pairs["trial"] % 2 == 0].iloc[0]
    assert stopped["live"] == pytest.approx(stopped["table"])
    assert stopped["table"] == pytest.approx(_curve(0)[1])
    assert list(fid.per_epoch["n"]) == [72, 72, 36]
    assert verdict(fid, None)[0] == AGREES


def test_noise_in_the_live_trials_puts_them_below_the_ceiling_by_that_noise():
    table = _table({1: [0.0] * 18, 2: [0.0] * 18})  # the table's seeds agree: ceiling 1, MAD 0
    eps = 0.08
    live = _live(lambda c, i: eps if i % 2 else -eps)
    fid = fidelity(live, table, SPACE, "val_accuracy")
    pairs = fid.pairs
    # the final score's noise is eps scaled by the epoch the trial stopped at (best = last)
    scale = np.where(pairs["trial"] % 2 == 0, 2 / 3, 1.0)
    assert fid.mad == pytest.approx(np.mean(eps * scale))
    assert fid.mad_ceiling == pytest.approx(0) and fid.ceiling == pytest.approx(1)
    assert fid.mad_matched - fid.mad_ceiling == pytest.approx(np.mean(eps * scale))
    expected = stats.spearmanr(pairs["live"], pairs["table"]).statistic
    assert fid.rho == pytest.approx(expected) and fid.rho < 1
    assert fid.mad_gap_ci[0] > 0  # farther than the table's own seeds, and shown so
    kind, reason = verdict(fid, None)
    assert kind == ORDERING and "farther from the table" in reason


def test_training_noise_alone_stays_within_the_ceiling():
    rng = np.random.default_rng(3)
    noise = {s: list(rng.normal(0, 0.03, 18)) for s in (1, 2, 3)}
    draws = rng.normal(0, 0.03, 200)  # a live trial: one more training draw
    fid = fidelity(_live(lambda c, i: draws[i]), _table(noise), SPACE, "val_accuracy")
    assert 0.5 < fid.ceiling < 1 and fid.gap_ci[0] <= 0 <= fid.gap_ci[1]
    assert verdict(fid, None)[0] == AGREES


def test_live_scores_unrelated_to_the_table_do_not_agree():
    table = _table({1: [0.0] * 18, 2: [0.0] * 18})
    # the live level runs against the table's: the best configuration live is its worst
    live = _live(lambda c, i: -1.2 * (0.6 * ((c * 7) % 18) / 17))
    fid = fidelity(live, table, SPACE, "val_accuracy")
    assert fid.rho < 0
    kind, reason = verdict(fid, None)
    assert kind == DISAGREES and "do not rise with the table's" in reason
    assert verdict(None, None) is None


def test_the_ranking_interval_is_a_bootstrap_over_the_shared_seeds():
    tuners = ["t1", "t2", "t3", "t4"]
    live_scores = {1: [0.9, 0.8, 0.7, 0.6], 2: [0.8, 0.9, 0.6, 0.7], 3: [0.7, 0.6, 0.9, 0.8],
                   4: [0.9, 0.7, 0.8, 0.6]}  # fmt: skip
    replay_scores = {1: [0.85, 0.75, 0.8, 0.6], 2: [0.9, 0.8, 0.7, 0.6], 3: [0.6, 0.7, 0.9, 0.8],
                     4: [0.8, 0.9, 0.7, 0.6], 5: [0.7, 0.7, 0.7, 0.7]}  # fmt: skip

    def frame(scores):
        return pd.DataFrame([{"tuner": t, "seed": s, "score": v} for s, vs in scores.items()
                             for t, v in zip(tuners, vs, strict=True)])  # fmt: skip

    found = agreement(frame(live_scores), frame(replay_scores), "val_accuracy")
    # by hand: ranks within each shared seed (1 best), resample the seeds, tau of mean ranks
    seeds = [1, 2, 3, 4]
    live = np.array([stats.rankdata([-v for v in live_scores[s]]) for s in seeds])
    replay = np.array([stats.rankdata([-v for v in replay_scores[s]]) for s in seeds])
    idx = np.random.default_rng(0).integers(0, 4, (RESAMPLES, 4))
    taus = np.nan_to_num([stats.kendalltau(live[i].mean(axis=0), replay[i].mean(axis=0))
                          .statistic for i in idx])  # undefined (all tied): 0  # fmt: skip
    assert found["tau_ci"] == pytest.approx(tuple(np.percentile(taus, [2.5, 97.5])))
    assert found["tau"] == pytest.approx(
        stats.kendalltau(live.mean(axis=0), replay.mean(axis=0)).statistic
    )
    spread = found["spread"].set_index("tuner")
    # live t1: 0.825 over 4 seeds; the replay's means of 4 of its 5 repetitions, by hand
    mine = np.array([replay_scores[s][0] for s in range(1, 6)])
    means = mine[np.random.default_rng(0).integers(0, 5, (RESAMPLES, 4))].mean(axis=1)
    tie = np.isclose(means, 0.825)
    expected = 100 * (np.sum((means < 0.825) & ~tie) + 0.5 * np.sum(tie)) / RESAMPLES
    assert spread.loc["t1", "percentile"] == pytest.approx(expected)
    assert spread.loc["t1", "live_sd"] == pytest.approx(np.std([0.9, 0.8, 0.7, 0.9], ddof=1))
    assert spread.loc["t1", "replay_sd"] == pytest.approx(np.std(mine, ddof=1))


def test_a_reversed_ranking_does_not_agree_however_close_the_trials():
    table = _table({1: [0.0] * 18, 2: [0.0] * 18})
    fid = fidelity(_live(lambda c, i: 0.0), table, SPACE, "val_accuracy")
    reversed_ranks = {"tau": -0.8, "tau_ci": (-1.0, -0.4), "seeds": [1, 2, 3]}
    kind, reason = verdict(fid, reversed_ranks)
    assert kind == DISAGREES and "in reverse" in reason
    assert "over the 3 seeds both have: Kendall's tau -0.80, 95% interval [-1.00, -0.40]" in reason
    assert not math.isnan(fid.rho_ci[0])


LR5 = {"learning_rate": [1.0e-5, 3.16e-5, 1.0e-4, 3.16e-4, 1.0e-3]}


def _smooth_table(seeds=(1, 2)) -> Table:
    """val_accuracy a known function: linear in log10(lr) (0.1 per decade), +0.05 per stride,
    +0.02 for 128 filters, rising over the epochs; seed 2 a little higher."""
    rows = []
    for config, hp in enumerate(configurations(SPACE, LR5)):
        for seed in seeds:
            top = (0.3 + 0.1 * (math.log10(hp["learning_rate"]) + 5) + 0.05 * hp["strides"]
                   + 0.02 * (hp["filters"] == 128) + 0.01 * seed)  # fmt: skip
            for epoch in range(1, EPOCHS + 1):
                value = top * (0.6 + 0.2 * epoch)
                rows.append({"config": config, **hp, "seed": seed, "epoch": epoch,
                             "status": "complete", "failure_reason": "", "loss": 1 / epoch,
                             "val_accuracy": value, "val_loss": 1 - value,
                             "test_accuracy": value, "test_loss": 1, "seconds": 2})  # fmt: skip
    return Table(pd.DataFrame(rows), SPACE)


def test_the_curve_model_predicts_a_held_out_grid_value_of_a_known_function():
    from sklearn.metrics import r2_score

    from bloomtune.replay.surrogate import CurveModel, held_out_scores, validate

    table = _smooth_table()
    rows = validate(table, SPACE, LR5, EPOCHS, "val_accuracy", seed=1)
    assert len(rows) == 5 * 6 * 2  # every configuration once per training seed
    found = held_out_scores(rows, LR5)
    inner = rows[rows["value"].between(2e-5, 5e-4)]
    assert found["inner"]["n"] == len(inner) == 3 * 6 * 2
    assert found["inner"]["r2"] == pytest.approx(r2_score(inner["table"], inner["predicted"]))
    assert found["inner"]["rho"] == pytest.approx(
        stats.spearmanr(inner["table"], inner["predicted"]).statistic
    )
    # between two seen values the extra trees interpolate: an inner value is predicted well,
    # an end one (an extrapolation) only as its nearest seen value
    assert found["inner"]["r2"] > 0.85 and found["inner"]["rho"] > 0.9
    assert found["all"]["r2"] < found["inner"]["r2"]
    # off the grid: halfway (on the log scale) between two grid values, halfway between curves
    model = CurveModel(table, SPACE, LR5, EPOCHS, seed=1)
    hp = {"filters": 64, "strides": 2, "learning_rate": 10**-4.25}
    final = model.curve(hp, 1)[-1]["val_accuracy"]
    near = [
        table.curves[(table.index[key], 1)][-1]["val_accuracy"]
        for key in (_key({**hp, "learning_rate": 1.0e-4}), _key({**hp, "learning_rate": 3.16e-5}))
    ]
    assert min(near) < final < max(near)
    assert model.curve(hp, 1) == CurveModel(table, SPACE, LR5, EPOCHS, seed=1).curve(hp, 1)


def _key(hp):
    from bloomtune.replay.grid import key

    return key(hp)


def test_a_range_at_one_grid_value_has_no_held_out_scores_and_replays_its_grid():
    from bloomtune.reporting.fidelity import between_grid_values

    one = {"learning_rate": [1.0e-4]}
    rows = [{"config": c, **hp, "seed": 1, "epoch": e, "status": "complete",
             "failure_reason": "", "loss": 1.0, "val_accuracy": 0.1 * c + 0.01 * e,
             "val_loss": 1.0, "test_accuracy": 0.5, "test_loss": 1.0, "seconds": 1.0}
            for c, hp in enumerate(configurations(SPACE, one)) for e in (1, 2, 3)]  # fmt: skip
    table = Table(pd.DataFrame(rows), SPACE)
    live = _live(lambda c, i: 0.0).iloc[:0]
    settings = {"budget": {"max_epochs": EPOCHS}, "data_seed": 1}
    found = between_grid_values(table, SPACE, one, "val_accuracy", live, settings)
    assert found["held_out"].empty and found["scores"]["all"]["rho"] is None
    assert found["fidelity"] is None


def test_an_interval_leaves_out_resamples_where_rho_is_undefined():
    from bloomtune.reporting.fidelity import cluster_intervals

    # search ("a", 1) scores every trial alike: a resample of it alone has no rank correlation
    frame = pd.DataFrame({"tuner": ["a"] * 4 + ["b"] * 4, "seed": [1] * 8,
                          "live": [0.5] * 4 + [0.1, 0.2, 0.3, 0.4],
                          "seed_1": [0.1, 0.2, 0.3, 0.4] * 2})  # fmt: skip
    low, high = cluster_intervals(frame, [1])["rho"]
    assert not math.isnan(low) and low <= high
