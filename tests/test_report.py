"""The report: the fairness panel, the any-time score, and a leading sentence and bold cells that
claim a difference only where a paired test over the repetitions finds one."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from bloomtune.checks import load_params
from bloomtune.model_settings import resolve
from bloomtune.reporting.comparison import Comparison, Design
from bloomtune.reporting.fairness import fairness, fairness_text
from bloomtune.reporting.headline import headline
from bloomtune.reporting.provenance import describe_training
from bloomtune.reporting.runs import Run, anytime_areas
from bloomtune.reporting.tables import aggregated_table
from bloomtune.tuning.ledger import Ledger, best_so_far
from bloomtune.tuning.results import write_results
from bloomtune.tuning.tune import live_facts


def _best_json(params: dict, tuner: str, folder, seed: int = 1) -> dict:
    """best.json as the tune stage writes it, for one recorded trial of `tuner` on 100
    validation images."""
    settings = resolve(params, "tune", tuner, seed=seed)
    ledger = Ledger(tuner, settings.budget.objective, settings.space.names, None)
    best = {"epoch": 1, "val_accuracy": 0.5, "val_loss": 1.0}  # of 10 epochs
    hp = {"filters": 64, "kernel_size": 3, "strides": 1, "activation": "relu"}
    ledger.append(ledger.row(0, hp, "complete", "", best=best, epochs_run=10))
    facts = live_facts(settings, "key", 1_000_000)
    images = {"train_images": 100, "validation_images": 100}
    return write_results(settings, ledger.rows(), folder / tuner, lambda best: facts, images)


def _panel(folder, *overlays, seeds=(1,)):
    params = load_params([ROOT / "params.yaml", *(ROOT / o for o in overlays)])
    return fairness(
        {
            (t, s): _best_json(params, t, folder / str(s), s)
            for t in params["tuners"]
            for s in seeds
        }
    )


def test_equal_budgets_keep_the_panel_quiet(tmp_path):
    table, differences = _panel(tmp_path, "config/demo.yaml")
    assert differences == []
    assert fairness_text(differences).startswith("Every tuner searched the same space")
    assert list(table.index) == list(load_params([ROOT / "params.yaml"])["tuners"])


def test_the_blog_config_is_flagged_as_not_comparable(tmp_path):
    table, differences = _panel(tmp_path, "config/blog.yaml")
    text = fairness_text(differences)
    assert text.startswith("The rows are not comparable")
    for label in ("max trials differs", "max epochs per trial differs", "batch size differs"):
        assert label in text
    assert table.loc["optuna_tpe", "max epochs per trial"] == 100
    assert table.loc["kt_random", "max epochs per trial"] == 3
    assert table.loc["kt_hyperband", "max epochs per trial"] == 10


def test_the_panel_shows_workers_and_flags_a_parallel_tuner(tmp_path):
    table, differences = _panel(tmp_path, "config/demo.yaml")
    assert set(table["workers"]) == {1}
    (tmp_path / "parallel.yaml").write_text("tuners:\n  kt_random: {workers: 2}\n")
    table, differences = _panel(tmp_path / "p", "config/demo.yaml", tmp_path / "parallel.yaml")
    assert table.loc["kt_random", "workers"] == 2
    assert table.loc["optuna_tpe", "workers"] == 1
    text = fairness_text(differences)
    assert "workers differs (optuna_tpe: 1" in text and "kt_random: 2" in text
    assert "fewer finished trials" in text


def test_the_panel_flags_precision_and_xla_and_provenance_names_them(tmp_path):
    table, _ = _panel(tmp_path, "config/demo.yaml")
    assert set(table["mixed precision"]) == {False} and set(table["XLA"]) == {False}
    overlay = "tuners:\n  kt_random: {train: {jit_compile: true, mixed_precision: bfloat16}}\n"
    (tmp_path / "numerics.yaml").write_text(overlay)
    table, differences = _panel(tmp_path / "n", "config/demo.yaml", tmp_path / "numerics.yaml")
    assert table.loc["kt_random", "XLA"] is True and table.loc["optuna_tpe", "XLA"] is False
    assert table.loc["kt_random", "mixed precision"] == "bfloat16"
    text = fairness_text(differences)
    assert "XLA differs" in text and "mixed precision differs" in text
    assert "fused kernels give other numbers" in text
    assert describe_training({"jit_compile": True, "mixed_precision": "bfloat16"}) == (
        "mixed bfloat16, XLA (jit_compile), input auto"
    )
    assert describe_training({"batch_size": 32}) == "float32, no XLA, input auto"


def test_the_cpu_kernels_are_recorded_and_a_difference_is_flagged(tmp_path, monkeypatch):
    # oneDNN picks kernels by the CPU's instruction set: reports from different CPUs, or with
    # oneDNN off, can differ in the last bits, so each best.json says which ran.
    from bloomtune.machine import cpu_kernels, describe_kernels

    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert describe_kernels(cpu_kernels()) == "Eigen kernels (oneDNN off)"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert describe_kernels(cpu_kernels()).endswith(", capped at AVX2")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    params = load_params([ROOT / "params.yaml", ROOT / "config/demo.yaml"])
    best = {(t, 1): _best_json(params, t, tmp_path / t) for t in ("kt_random", "optuna_tpe")}
    assert fairness(best)[1] == []
    best[("kt_random", 1)]["machine"]["onednn"] = False  # as if run with oneDNN off
    table, differences = fairness(best)
    assert table.loc["kt_random", "CPU kernels"] == "Eigen kernels (oneDNN off)"
    assert "CPU kernels differs" in fairness_text(differences)
    # tuning.max_model_params: auto is resolved per job and recorded: a difference shows.
    limit = best[("optuna_tpe", 1)]["model_params_limit"]
    assert isinstance(limit, int) and table.loc["optuna_tpe", "parameter limit"] == limit
    best[("optuna_tpe", 1)]["model_params_limit"] = limit // 2  # a smaller node
    assert "parameter limit differs" in fairness_text(fairness(best)[1])


def test_best_so_far_curve_follows_the_objective():
    trials = pd.DataFrame(
        {
            "trial": [0, 1, 2, 3],
            "score": [0.3, None, 0.5, 0.4],
            "epochs_run": [2, 0, 2, 1],
            "wall_s": [1.0, 0.1, 1.0, 0.5],
        }
    )
    curve = best_so_far(trials, "val_accuracy")
    assert curve["best"].tolist() == [0.3, 0.3, 0.5, 0.5]
    assert curve["epochs"].tolist() == [2, 2, 4, 5]
    loss = best_so_far(trials.assign(score=[0.9, None, 0.7, 0.8]), "val_loss")
    assert loss["best"].tolist() == [0.9, 0.9, 0.7, 0.7]


def test_repetition_seeds_are_the_design_but_unpaired_seeds_are_flagged(tmp_path):
    table, differences = _panel(tmp_path, "config/demo.yaml", seeds=(1, 2, 3))
    assert differences == []
    assert set(table["repetition seeds"]) == {"1, 2, 3"}
    params = load_params([ROOT / "params.yaml", ROOT / "config/demo.yaml"])
    best = {
        (t, s): _best_json(params, t, tmp_path / "unpaired" / str(s), s)
        for t, s in [("kt_random", 1), ("kt_random", 2), ("optuna_tpe", 1), ("optuna_tpe", 3)]
    }
    _, differences = fairness(best)
    assert differences and "different repetition seeds" in differences[0], differences


def _comparison(accuracy: dict[str, list[float]], anytime: dict[str, list[float]] | None = None,
                design: Design | None = None):  # fmt: skip
    """A Comparison of constructed results: tuner -> one test accuracy per repetition."""
    anytime = anytime or accuracy
    rows = [
        {"tuner": t, "seed": k + 1, "framework": "x", "test_accuracy": a, "anytime_area": b}
        for t in accuracy
        for k, (a, b) in enumerate(zip(accuracy[t], anytime[t], strict=True))
    ]
    return Comparison(pd.DataFrame(rows), "val_accuracy", design)


def _words(text: str) -> int:
    return len(text.split())


def test_the_headline_claims_no_difference_and_no_first_place_from_one_run():
    found = headline(_comparison({"kt_random": [0.83], "optuna_tpe": [0.71]},
                                 {"kt_random": [0.61], "optuna_tpe": [0.64]}))  # fmt: skip
    assert found.verdict.startswith("Nothing is shown: with one run per tuner no difference")
    assert "needs at least 6 repetitions to reach p < 0.05" in found.verdict
    assert found.evidence == []
    for results in ({"a": [0.5], "b": [0.5]}, {"a": [0.5], "b": [0.5], "c": [0.4]}):
        text = str(headline(_comparison(results)))
        assert "first" not in text and _words(headline(_comparison(results)).verdict) <= 60


RNG = np.random.default_rng(0)


def _wide_win(n: int) -> dict[str, list[float]]:
    """ "best" wins every one of n repetitions by about 30 points; the others are close."""
    return {
        "best": list(0.8 + RNG.uniform(0, 0.05, n)),
        "mid": list(0.5 + RNG.uniform(0, 0.05, n)),
        "low": list(0.45 + RNG.uniform(0, 0.05, n)),
    }


def test_a_wide_win_in_every_repetition_is_called_significant_when_n_allows():
    found = headline(_comparison(_wide_win(8)))
    assert found.verdict == (
        "Shown at 0.05 over 8 repetitions (3 paired Wilcoxon tests on test accuracy, "
        "Holm-corrected): best is better than every other tuner."
    )
    assert "On the any-time score (a family of its own: 3 Wilcoxon tests" in found.evidence[0]


def test_a_wide_win_with_too_few_repetitions_is_not_called_significant():
    found = headline(_comparison(_wide_win(5)))
    # 3 tuners, 3 pairs: 2^(1-5) = 0.0625, times 3 = 0.188; 7 repetitions needed.
    assert found.verdict.startswith(
        "Nothing is shown at 0.05: with 5 repetitions of the 7 this design needs"
    )
    assert "the smallest adjusted p 5 pairs can give is 0.188" in found.verdict
    assert "mean ranks 1.00 to " in found.verdict and _words(found.verdict) <= 60
    assert "is better than every" not in str(found)


def test_equal_results_are_no_significant_difference():
    same = [0.5, 0.6, 0.55, 0.52, 0.58, 0.61, 0.49, 0.57]
    found = headline(_comparison({"a": same, "b": same, "c": same}))
    assert "no difference in test accuracy is significant" in found.verdict
    assert "Friedman p = 1" in found.verdict and "first" not in str(found)


def test_bold_marks_only_a_significant_lead():
    def bolded(results):
        comparison = _comparison(results)
        frame = comparison.repetitions
        for column in ("test_loss", "test_top5_accuracy", "best_validation", "epochs_consumed",
                       "tuning_s", "total_s", "best_epoch_s", "retrain_s", "trials", "complete",
                       "pruned", "failed", "tuning_epochs"):  # fmt: skip
            frame[column] = 1.0
        frame["best_hyperparameters"] = "x=1"
        table = aggregated_table(comparison, comparison.summary())
        return table.bold, table.cells

    bold, cells = bolded(_wide_win(8))
    assert bold == {(0, "test_accuracy"), (0, "anytime_area")}
    assert cells.loc[0, "test_accuracy"].count("[") == 1  # mean [low, high]
    assert bolded(_wide_win(5))[0] == set()  # first everywhere, but 5 cannot be significant
    same = [0.5, 0.6, 0.55, 0.52, 0.58, 0.61, 0.49, 0.57]
    assert bolded({"a": same, "b": same, "c": same})[0] == set()


def _run(scores, epochs, tuner="t"):
    ledger = pd.DataFrame(
        {"trial": range(len(scores)), "score": scores, "epochs_run": epochs,
         "wall_s": [1.0] * len(scores)}
    )  # fmt: skip
    best = {"settings": {"budget": {"max_total_epochs": 4, "max_trials": 4, "max_epochs": 2}}}
    return Run(tuner, 1, {}, best, ledger, pd.DataFrame(), 1)


def test_anytime_areas_compare_searches_over_the_epochs_all_reached():
    # "slow" finds 0.9 only at epoch 6, past the 4 epochs "fast" reached: it is not counted.
    # Epoch 1, before any trial has a score, counts as 0 in both.
    fast, slow = anytime_areas([_run([0.5, 0.6], [2, 2]), _run([0.1, 0.9], [2, 4])],
                               "val_accuracy")  # fmt: skip
    assert fast == pytest.approx((0 + 0.5 + 0.5 + 0.6) / 4)  # epochs 1-4
    assert slow == pytest.approx((0 + 0.1 + 0.1 + 0.1) / 4)


def test_the_anytime_score_and_the_budget_ranks_follow_one_rule():
    # Hyperband-like "short" scores 0.3 after one epoch; "long" scores 0.5 only after three.
    # Leaving out the epochs before a first result (the old rule) gave long 0.5 > short 0.31,
    # while the ranks at a quarter of the budget put short first: the two views disagreed.
    from bloomtune.reporting.budgets import BudgetRanks

    runs = [_run([0.3, 0.3, 0.3, 0.35], [1, 1, 1, 1], "short"), _run([0.5], [3], "long")]
    short, long = anytime_areas(runs, "val_accuracy")  # over epochs 1-3, which both reached
    assert (short, long) == pytest.approx((0.3, 0.5 / 3))
    budgets = BudgetRanks(runs, "val_accuracy", [0.25, 1.0])
    assert budgets.table(0.25).iloc[0].to_dict() == {"short": 0.3, "long": 0.0}  # same fill
    assert budgets.mean_ranks(0.25).to_dict() == {"short": 1.0, "long": 2.0}


def test_a_lead_significant_over_some_tuners_only_is_said_so_and_not_bolded():
    best = [0.80, 0.82, 0.79, 0.81, 0.83, 0.80, 0.78, 0.82]
    # "close" loses five repetitions by 1-3 points and wins three by 1: no test separates it.
    close = [0.79, 0.83, 0.77, 0.80, 0.84, 0.77, 0.79, 0.79]
    low = [v - 0.3 for v in best]
    comparison = _comparison({"best": best, "close": close, "low": low})
    found = headline(comparison)
    assert found.verdict == (
        "Shown at 0.05 over 8 repetitions (3 paired Wilcoxon tests on test accuracy, "
        "Holm-corrected): best is better than low; close is better than low; 1 of 3 pairs are "
        "not separated."
    )
    assert comparison.significant_leader("test_accuracy") is None
    assert comparison.groups("test_accuracy") == [["best", "close"]]  # what the figure joins


def _ledger_run(tuner: str, overhead: list[float], wall: list[float]):
    from types import SimpleNamespace

    ledger = pd.DataFrame({"overhead_s": overhead, "wall_s": wall})
    return SimpleNamespace(tuner=tuner, ledger=ledger)


def test_optimiser_overhead_is_each_tuners_share_and_over_five_percent_is_flagged():
    from bloomtune.reporting.overhead import overhead_shares, overhead_text

    runs = [
        _ledger_run("kt_bayesian", [1.0, 2.0], [10.0, 10.0]),  # 3 of 23 s: 13.0 %
        _ledger_run("kt_bayesian", [0.0], [7.0]),  # pooled: 3 of 30 s, 10.0 %
        _ledger_run("optuna_tpe", [0.1, 0.1], [10.0, 9.8]),  # 0.2 of 20 s: 1.0 %
    ]
    shares = overhead_shares(runs)
    assert shares == {"kt_bayesian": pytest.approx(0.1), "optuna_tpe": pytest.approx(0.01)}
    said, flagged = overhead_text(shares)
    assert flagged and "kt_bayesian 10.0%, optuna_tpe 1.0%" in said
    assert "Over 5%: kt_bayesian;" in said
    said, flagged = overhead_text({"optuna_tpe": 0.01})
    assert not flagged and "Over" not in said
    old = _ledger_run("kt_random", [0.0], [1.0])
    old.ledger = old.ledger.drop(columns="overhead_s")  # a ledger from before overhead existed
    assert overhead_shares([old]) == {"kt_random": None}


def _five(n: int, seed: int = 1) -> dict[str, list[float]]:
    """Five tuners; "best" wins every one of n repetitions by about 30 points."""
    rng = np.random.default_rng(seed)
    out = {"best": list(0.8 + rng.uniform(0, 0.05, n))}
    for name in ("kt_random", "b", "c", "d"):
        out[name] = list(0.5 + rng.uniform(0, 0.05, n))
    return out


@pytest.mark.parametrize("n", [6, 8])
def test_five_tuners_pairwise_need_nine_repetitions(n):
    comparison = _comparison(_five(n))
    found = headline(comparison)
    assert f"with {n} repetitions of the 9 this design needs" in found.verdict
    assert f"can give is {min(1.0, 10 * 2 ** (1 - n)):.3g}" in found.verdict  # capped at 1
    assert "is better than" not in found.verdict and comparison.bold("test_accuracy") == set()
    assert _words(found.verdict) <= 60


def test_five_tuners_pairwise_call_the_winner_at_nine():
    comparison = _comparison(_five(9))
    found = headline(comparison)
    assert found.verdict.endswith("best is better than every other tuner.")
    assert comparison.bold("test_accuracy") == {"best"}
    assert comparison.groups("test_accuracy")[0][0] != "best"  # no bar reaches the best


def test_against_a_control_four_tests_call_it_at_eight():
    design = Design("control", "kt_random")
    comparison = _comparison(_five(8), design=design)
    assert comparison.needed == 8 and len(comparison.pairs) == 4
    found = headline(comparison)
    assert "better than the control kt_random: best; 3 of 4 not separated from it" in str(found)
    assert comparison.bold("test_accuracy") == {"best"}
    seven = _comparison(_five(7), design=design)
    assert "with 7 repetitions of the 8 this design needs" in headline(seven).verdict
    assert seven.bold("test_accuracy") == set()


def test_below_the_needed_n_the_evidence_is_graded_with_its_n_and_its_priors_pull():
    clear = str(headline(_comparison({"best": [0.80, 0.82, 0.81, 0.83],
                                      "low": [0.5, 0.52, 0.51, 0.5]})))  # fmt: skip
    assert "Graded evidence on test accuracy from 4 paired repetitions" in clear
    assert "best is better than low by more than 0.01 (probability" in clear
    assert "with prior 0.01 and 2)" in clear and "with N = 4 it rests on 4 differences" in clear
    # Three same-sign differences of 2-4 points: called, and how far it moves is shown.
    three = headline(_comparison({"a": [0.80, 0.82, 0.85], "b": [0.77, 0.795, 0.81]}))
    said = three.evidence[-1]
    assert "a is better than b by more than 0.01 (probability 0.9" in said
    import re

    default, low, high = map(float, re.search(r"probability ([\d.]+); ([\d.]+) to ([\d.]+) "
                                              r"with prior", said).groups())  # fmt: skip
    assert low < default < high or low < high  # the prior moves it
    tie = str(headline(_comparison({"a": [0.80, 0.82, 0.81], "b": [0.801, 0.819, 0.812]})))
    assert "are practically equal (probability" in tie
    noisy = str(headline(_comparison({"a": [0.80, 0.78, 0.84], "b": [0.83, 0.80, 0.79]})))
    assert "is better than" not in noisy and "no pair reaches 0.95 (the largest:" in noisy


def test_power_rows_take_the_best_mean_and_need_enough_differing_pairs():
    # "a" and "b" tie on mean rank; "b" has the better mean. a - c differs in one pair only.
    comparison = _comparison({"a": [0.6, 0.6, 0.6, 0.6], "b": [0.9, 0.5, 0.55, 0.58],
                              "c": [0.6, 0.6, 0.6, 0.652]})  # fmt: skip
    power = comparison.power().set_index("b")
    assert set(power.index) == {"a", "c"} and (comparison.power()["a"] == "b").all()
    two = _comparison({"a": [0.6, 0.6, 0.6], "b": [0.6, 0.6, 0.652]}).power()
    assert two["differing"].tolist() == [1] and two["repetitions"].isna().all()


def _budget_run(tuner: str, seed: int, scores: list[float]) -> Run:
    n = len(scores)
    ledger = pd.DataFrame(
        {"trial": range(n), "score": scores, "epochs_run": [2] * n, "wall_s": [1.0] * n}
    )
    best = {"settings": {"budget": {"max_total_epochs": 8, "max_trials": 4, "max_epochs": 2}}}
    return Run(tuner, seed, {}, best, ledger, pd.DataFrame(), 1)


def test_a_budget_leader_is_named_only_where_the_friedman_test_is_significant():
    from bloomtune.reporting.budgets import BudgetRanks

    # "early" finds 0.6 in its first trial (25 % of 8 epochs); "late" 0.9 in its third; "mid"
    # always between. Over 3 repetitions no Friedman test can be significant: nothing is said.
    def runs(seeds):
        out = [_budget_run("early", s, [0.6, 0.6, 0.6, 0.6]) for s in seeds]
        out += [_budget_run("mid", s, [0.5, 0.5, 0.7, 0.7]) for s in seeds]
        return out + [_budget_run("late", s, [0.1, 0.2, 0.9, 0.9]) for s in seeds]

    few = BudgetRanks(runs((1, 2, 3)), "val_accuracy", [0.25, 0.5, 1.0])
    assert few.leaders(0.25) == ["early"] and few.leaders(1.0) == ["late"]
    assert few.change() is None  # Friedman p 0.05 at 3 blocks, times 3 fractions by Holm
    many = BudgetRanks(runs(range(1, 9)), "val_accuracy", [0.25, 0.5, 1.0])
    said = many.change()
    assert "Holm-corrected over 3 budget fractions" in said
    assert "at 25% (adjusted p = " in said and "lowest mean rank: early, 1.00" in said
    assert "at 100% (adjusted p = " in said and "lowest mean rank: late, 1.00" in said
    text = str(headline(_comparison({t: [0.7] * 8 for t in ("early", "mid", "late")}), said))
    assert said in text and "first" not in text


def test_tuners_with_identical_results_say_only_what_their_ledgers_show():
    from bloomtune.reporting.document import identical_text

    same = [0.5, 0.6, 0.7]
    comparison = _comparison({"a": same, "b": same, "c": [0.4, 0.6, 0.7]})
    assert comparison.identical() == [("a", "b")]
    reps = comparison.repetitions
    reps["pruned"] = [0, 0, 0, 3, 0, 1, 0, 0, 0]  # b pruned 4 trials over its repetitions
    reps["best_hyperparameters"] = ["x=1", "x=2", "x=3", "x=1", "x=2", "x=9", "x=1", "x=1", "x=1"]
    said = identical_text(comparison)
    assert "would have been a best" not in said
    assert "the same best hyperparameters in 2 of 3 repetitions; trials pruned: a 0, b 4" in said


def test_coinciding_lines_of_the_rank_figure_are_named_and_drawn_apart(tmp_path):
    from bloomtune.reporting.captions import rank_over_budget
    from bloomtune.reporting.figures import coinciding
    from bloomtune.reporting.figures import rank_over_budget as draw

    frame = pd.DataFrame({"fraction": [0.5, 1.0] * 3, "tuner": ["a", "a", "b", "b", "c", "c"],
                          "mean_rank": [1.5, 1.5, 1.5, 1.5, 3.0, 3.0]})  # fmt: skip
    assert coinciding(frame) == [["a", "b"]]
    assert "Lines that lie on each other: a and b." in rank_over_budget(
        3, [0.5, 1.0], coinciding(frame)
    )
    from bloomtune.plotting import plt

    seen = {}
    original = plt.Axes.plot

    def plot(self, *args, **kwargs):
        seen[kwargs.get("label")] = (kwargs.get("marker"), kwargs.get("markersize"))
        return original(self, *args, **kwargs)

    plt.Axes.plot = plot
    try:
        draw(frame, tmp_path / "rank.png", {"a": "red", "b": "blue", "c": "green"})
    finally:
        plt.Axes.plot = original
    assert seen["a"] != seen["b"]  # a's marker shows around b's


def test_the_independence_check_flags_shifted_copies_and_not_independent_draws():
    from bloomtune.reporting.independence import overlap

    rng = np.random.default_rng(0)
    stream = [(float(v),) for v in rng.uniform(size=40)]
    shifted = [stream[k : k + 8] for k in range(0, 24, 3)]  # each 3 trials on from the last
    found = overlap(shifted, math.inf)
    assert found["flagged"] and found["run_share"] > 0.5 and found["expected_share"] == 0
    independent = [[(float(v),) for v in rng.uniform(size=8)] for _ in range(8)]
    assert overlap(independent, math.inf) == pytest.approx({
        "trials": 64, "share": 0.0, "expected_share": 0.0, "run_share": 0.0,
        "expected_run_share": 0.0, "flagged": False})  # fmt: skip
    # A small grid: independent draws coincide by chance, as often as its size says, and a
    # configuration repeated back to back (an optimiser that converged) is no shared run.
    grid = [[(int(v),) for v in rng.integers(0, 6, 4)] for _ in range(200)]
    found = overlap(grid, 6)
    assert found["share"] == pytest.approx(found["expected_share"], abs=0.02)
    assert not found["flagged"]
    assert overlap([[(1,), (1,), (2,)], [(1,), (1,), (3,)]], math.inf)["run_share"] == 0.0
