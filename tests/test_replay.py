"""Replay: every default tuner's real search against a tiny table of tabulated learning curves,
looked up instead of trained (bloomtune/replay)."""

from __future__ import annotations

import itertools
import json
import math

import pandas as pd
import pytest
from tuning_data import smoke_params, tune_settings

from bloomtune.model_settings import TabulateSettings
from bloomtune.replay.evaluator import Table, TableEvaluator
from bloomtune.replay.grid import configurations, snap
from bloomtune.tuning.frameworks import framework
from bloomtune.tuning.ledger import Ledger
from bloomtune.tuning.runner import TrialRunner

SPACE = {
    "search_space": {
        "filters": {"type": "categorical", "choices": [64, 128]},
        "kernel_size": {"type": "fixed", "value": 3},
        "strides": {"type": "categorical", "choices": [1, 2]},
        "activation": {"type": "fixed", "value": "relu"},
        "learning_rate": {"type": "float", "low": 1.0e-5, "high": 1.0e-3, "log": True},
    }
}
GRID = {"learning_rate": [1.0e-5, 1.0e-4, 1.0e-3]}
SEEDS, EPOCHS = (1, 2), 3
TOO_LARGE = "too large: model would have 580,000,000 parameters, over tuning.max_model_params"


def _table(space, failing: bool = True) -> pd.DataFrame:
    """2 x 2 x 3 configurations x 2 seeds x 3 epochs; filters 128 with strides 1 failed."""
    rows = []
    for config, hp in enumerate(configurations(space, GRID)):
        for seed in SEEDS:
            if failing and hp["filters"] == 128 and hp["strides"] == 1:
                rows.append({"config": config, **hp, "seed": seed, "epoch": 0,
                             "status": "failed", "failure_reason": TOO_LARGE})  # fmt: skip
                continue
            top = 0.3 + 0.1 * config / 12 + 0.05 * seed
            for epoch in range(1, EPOCHS + 1):
                rows.append({"config": config, **hp, "seed": seed, "epoch": epoch,
                             "status": "complete", "failure_reason": "",
                             "loss": 2.0 / epoch, "val_accuracy": top * epoch / EPOCHS,
                             "val_loss": 1.5 / epoch, "test_accuracy": top * epoch / EPOCHS - 0.01,
                             "test_loss": 1.6 / epoch, "seconds": 1.5 + 0.1 * config})  # fmt: skip
    return pd.DataFrame(rows)


def _replay(folder, tuner, **budget):
    settings = tune_settings(tuner, SPACE, max_epochs=EPOCHS, **budget)
    folder.mkdir(parents=True)
    ledger = Ledger(tuner, "val_accuracy", settings.space.names, folder / "ledger.jsonl")
    table = Table(_table(settings.space), settings.space)
    evaluator = TableEvaluator(table, settings.space, GRID, settings.seed)
    runner = TrialRunner(settings, ledger, folder, evaluator)
    framework(settings.tuner.framework).adapter().search(settings, runner, folder)
    return settings, evaluator, sorted(runner.rows(), key=lambda r: r["trial"])


def test_the_grid_holds_every_configuration_and_snaps_to_the_nearest():
    space = tune_settings("kt_random", SPACE).space
    grid = configurations(space, GRID)
    assert len(grid) == 2 * 2 * 3 and len({tuple(sorted(c.items())) for c in grid}) == 12
    near = snap(space, GRID, {"filters": 64, "kernel_size": 3, "strides": 2,
                              "activation": "relu", "learning_rate": 2.9e-4})  # fmt: skip
    assert near["learning_rate"] == 1.0e-4  # nearer on the log scale than 1e-3


STABLE = ["trial", "status", "filters", "strides", "learning_rate", "score", "best_epoch",
          "epochs_run", "wall_s", "failure_reason"]  # fmt: skip


@pytest.mark.parametrize("tuner", list(smoke_params()["tuners"]))
def test_every_default_tuner_replays_the_same_ledger_twice(tmp_path, tuner):
    # The same state folder name: Optuna's Hyperband pruner picks brackets by the study's name.
    settings, evaluator, first = _replay(tmp_path / "a" / "state", tuner, max_trials=5,
                                         max_total_epochs=12)  # fmt: skip
    _, _, again = _replay(tmp_path / "b" / "state", tuner, max_trials=5, max_total_epochs=12)
    assert [[r[k] for k in STABLE] for r in first] == [[r[k] for k in STABLE] for r in again]
    table = _table(settings.space)
    for row in first:
        assert row["learning_rate"] in GRID["learning_rate"]  # the grid point evaluated
        if row["status"] == "failed":
            assert row["failure_reason"] == TOO_LARGE
            continue
        seed = evaluator.assigned[row["trial"]]
        mine = table[(table["filters"] == row["filters"]) & (table["strides"] == row["strides"])
                     & (table["learning_rate"] == row["learning_rate"])
                     & (table["seed"] == seed)]  # fmt: skip
        reached = mine[mine["epoch"] <= row["best_epoch"]]
        assert row["score"] == pytest.approx(reached["val_accuracy"].max())
    assert sum(r["epochs_run"] for r in first) <= 12 + EPOCHS  # the budget held


def test_a_replayed_trials_epochs_and_seconds_are_the_tables(tmp_path):
    settings = tune_settings("optuna_tpe", SPACE, max_trials=1, max_epochs=EPOCHS)
    table = _table(settings.space)
    evaluator = TableEvaluator(Table(table, settings.space), settings.space, GRID, settings.seed)
    ledger = Ledger("optuna_tpe", "val_accuracy", settings.space.names, tmp_path / "l.jsonl")
    runner = TrialRunner(settings, ledger, tmp_path, evaluator)
    hp = {"filters": 64, "kernel_size": 3, "strides": 2, "activation": "relu",
          "learning_rate": 9e-4}  # fmt: skip
    heard = []
    row = runner.run(0, hp, on_epoch=heard.append)
    seed = evaluator.assigned[0]
    mine = table[(table["filters"] == 64) & (table["strides"] == 2)
                 & (table["learning_rate"] == 1.0e-3) & (table["seed"] == seed)]  # fmt: skip
    assert [h["val_accuracy"] for h in heard] == mine["val_accuracy"].tolist()
    assert row["learning_rate"] == 1.0e-3 and row["epochs_run"] == EPOCHS
    assert row["wall_s"] == pytest.approx(mine["seconds"].sum())  # simulated, not measured


def test_a_pruner_prunes_in_replay(tmp_path):
    _, _, rows = _replay(tmp_path / "s", "optuna_tpe_hyperband", max_trials=16,
                         max_total_epochs=None)  # fmt: skip
    assert any(r["status"] == "pruned" for r in rows)
    pruned = [r for r in rows if r["status"] == "pruned"]
    assert all(r["epochs_run"] < EPOCHS for r in pruned)


def test_keras_tuners_hyperband_continues_its_parents_curve(tmp_path):
    settings = tune_settings("kt_hyperband", SPACE, max_trials=8, max_epochs=EPOCHS)
    folder = tmp_path / "s"
    folder.mkdir()
    table = Table(_table(settings.space, failing=False), settings.space)
    evaluator = TableEvaluator(table, settings.space, GRID, settings.seed)
    asked = []
    evaluate = evaluator.evaluate

    def evaluate_and_note(request, on_epoch):
        first = []
        out = evaluate(request, lambda r: (first.append(r["epoch"]), on_epoch(r))[1])
        asked.append((request.trial, request.parent, request.initial_epoch, first[:1]))
        return out

    evaluator.evaluate = evaluate_and_note
    ledger = Ledger("kt_hyperband", "val_accuracy", settings.space.names, folder / "l.jsonl")
    runner = TrialRunner(settings, ledger, folder, evaluator)
    framework("keras_tuner").adapter().search(settings, runner, folder)
    promoted = [(t, p, start, first) for t, p, start, first in asked if p is not None]
    assert promoted, asked
    for trial, parent, start, first in promoted:
        assert start > 0 and evaluator.assigned[trial] == evaluator.assigned[parent]
        assert first in ([start + 1], [])  # its curve goes on where the parent's stopped
    assert list(itertools.chain.from_iterable(f for *_, f in promoted))  # some epochs replayed


def test_a_tabulated_grid_resumes_and_replays_its_own_curves(tmp_path):
    # Two configurations, one seed, two epochs, trained for real on tiny data; a second run of
    # the shard trains nothing (each finished configuration is in its journal); a replayed
    # trial then hears the tabulated epochs.
    from tuning_data import tiny_data

    from bloomtune.replay.shards import merge
    from bloomtune.replay.tabulate import tabulate_shard

    data = tiny_data(tmp_path)
    space = {"search_space": {**SPACE["search_space"],
                              "strides": {"type": "fixed", "value": 2},
                              "filters": {"type": "fixed", "value": 8}}}  # fmt: skip
    settings = tune_settings("kt_random", space, max_trials=2, max_epochs=2)
    grid = {"learning_rate": [1.0e-4, 1.0e-3]}
    shard = TabulateSettings(settings.data_seed, settings.train, settings.space, 2, "auto",
                             grid, 1, 1)  # fmt: skip
    out, state = tmp_path / "shard_1.jsonl", tmp_path / "state"
    assert tabulate_shard(shard, data, state, out) == 2
    assert tabulate_shard(shard, data, state, out) == 0  # resumed: nothing trained
    # Killed while writing configuration 1's rows: its cut line is mended, it alone retrains.
    (journal,) = state.glob("*/journal.jsonl")
    lines = journal.read_text().splitlines(keepends=True)
    kept = [line for line in lines if '"config": 0' in line]
    journal.write_text("".join(kept) + lines[-1][:20])
    out.unlink()
    assert tabulate_shard(shard, data, state, out) == 1

    def rows(text):  # all but the seconds, measured
        return [{k: v for k, v in json.loads(r).items() if k != "seconds"}
                for r in text.splitlines()]  # fmt: skip

    assert rows(out.read_text()) == rows("".join(lines))  # same seed: the same training
    table = merge([out], tmp_path / "table.parquet")
    assert pd.read_parquet(tmp_path / "table.parquet").equals(table)
    assert table.groupby("config")["epoch"].apply(list).tolist() == [[1, 2], [1, 2]]
    assert table["test_accuracy"].between(0, 1).all() and (table["seconds"] > 0).all()
    evaluator = TableEvaluator(Table(table, settings.space), settings.space, grid, settings.seed)
    ledger = Ledger("kt_random", "val_accuracy", settings.space.names, tmp_path / "l.jsonl")
    runner = TrialRunner(settings, ledger, tmp_path, evaluator)
    heard = []
    runner.run(0, {"learning_rate": 2e-3}, on_epoch=heard.append)
    assert [h["val_accuracy"] for h in heard] == table[table["config"] == 1][
        "val_accuracy"
    ].tolist()


def test_tabulation_keeps_what_the_runner_decides_and_stops_on_a_full_disk(tmp_path, monkeypatch):
    # Tabulation trains through the trial runner, so a table says of a configuration what a
    # live search's runner would: too large is a failed row, a NaN curve is kept to its NaN
    # epoch (a replay fails it there), and a full disk stops the shard with nothing recorded.
    import errno

    from tuning_data import tiny_data

    from bloomtune.errors import ModelTooLargeError, NoSpaceError
    from bloomtune.replay.tabulate import tabulate_shard
    from bloomtune.tuning.keras_evaluator import KerasEvaluator

    def evaluate(self, request, on_epoch):  # instead of training: what each configuration does
        assert self.stream == "tabulate" and self.test is not None
        if request.hp["learning_rate"] == 1.0e-5:
            raise ModelTooLargeError(TOO_LARGE.removeprefix("too large: "))
        if request.hp["learning_rate"] == 1.0e-3 and full:
            raise OSError(errno.ENOSPC, "No space left on device")
        for epoch, loss in enumerate([1.0, float("nan"), 0.5], start=1):
            record = {"epoch": epoch, "loss": loss, "val_accuracy": 0.5, "val_loss": 1.0,
                      "test_accuracy": 0.4, "test_loss": 1.1, "seconds": 0.25}  # fmt: skip
            if on_epoch(record):
                break

    monkeypatch.setattr(KerasEvaluator, "evaluate", evaluate)
    fixed = {"filters": {"type": "fixed", "value": 8}, "strides": {"type": "fixed", "value": 2}}
    data, space = tiny_data(tmp_path), {"search_space": {**SPACE["search_space"], **fixed}}
    settings = tune_settings("kt_random", space, max_trials=3, max_epochs=3)
    shard = TabulateSettings(settings.data_seed, settings.train, settings.space, 3, "auto",
                             GRID, 1, 1)  # fmt: skip
    out, state = tmp_path / "shard_1.jsonl", tmp_path / "state"
    full = True
    with pytest.raises(NoSpaceError, match="no space left on device"):
        tabulate_shard(shard, data, state, out)
    assert not out.exists()
    full = False
    assert tabulate_shard(shard, data, state, out) == 1  # the one the full disk stopped
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["config"], r["epoch"], r["status"], r["failure_reason"]) for r in rows] == [
        (0, 0, "failed", TOO_LARGE), (1, 1, "complete", ""), (1, 2, "complete", ""),
        (2, 1, "complete", ""), (2, 2, "complete", ""),
    ]  # fmt: skip
    assert math.isnan(rows[2]["loss"]) and rows[1]["test_accuracy"] == 0.4


def test_the_replay_stage_writes_each_seeds_ledger_and_the_tables_test_measure(tmp_path):
    from dataclasses import replace

    from bloomtune.model_settings import ReplaySettings
    from bloomtune.replay.search import replay_tuner

    settings = tune_settings("kt_hyperband", SPACE, max_trials=6, max_epochs=EPOCHS,
                             max_total_epochs=12)  # fmt: skip
    frame = _table(settings.space)
    frame.to_parquet(tmp_path / "table.parquet")
    replays = ReplaySettings(tuple(replace(settings, seed=s) for s in (1, 2)), GRID)
    for out in ("a", "b"):
        replay_tuner(replays, tmp_path / "table.parquet", tmp_path / out)
    for seed in (1, 2):
        first, again = (pd.read_csv(tmp_path / out / f"seed_{seed}" / "trials.csv")
                        for out in ("a", "b"))  # fmt: skip
        assert first[STABLE].equals(again[STABLE])
        best = json.loads((tmp_path / "a" / f"seed_{seed}" / "best.json").read_text())
        hp = best["hyperparameters"]
        row = frame[(frame["epoch"] == best["best_epoch"])
                    & (frame["seed"] == best["tabulated_seed"])
                    & (frame[list(hp)] == pd.Series(hp)).all(axis=1)]  # fmt: skip
        assert best["test_accuracy"] == row["test_accuracy"].item()
        assert best["score"] == row["val_accuracy"].item() and best["replay_s"] > 0


def test_a_surrogate_replay_evaluates_suggestions_where_they_lie(tmp_path):
    # replay.model: surrogate: the ledger records the suggestion itself, off the grid; its
    # curve is the model's, the same in a second job; the grid's failures stay failures.
    from dataclasses import replace

    from bloomtune.model_settings import ReplaySettings
    from bloomtune.replay.search import replay_tuner

    settings = tune_settings("optuna_tpe", SPACE, max_trials=8, max_epochs=EPOCHS)
    _table(settings.space).to_parquet(tmp_path / "table.parquet")
    replays = ReplaySettings(tuple(replace(settings, seed=s) for s in (1, 2)), GRID, "surrogate")
    for out in ("a", "b"):
        replay_tuner(replays, tmp_path / "table.parquet", tmp_path / out)
    trials = []
    for seed in (1, 2):
        first, again = (pd.read_csv(tmp_path / out / f"seed_{seed}" / "trials.csv")
                        for out in ("a", "b"))  # fmt: skip
        assert first[STABLE].equals(again[STABLE])
        trials.append(first)
    trials = pd.concat(trials)
    assert not trials["learning_rate"].isin(GRID["learning_rate"]).any()
    failed = trials[(trials["filters"] == 128) & (trials["strides"] == 1)]
    assert (failed["status"] == "failed").all() and (failed["failure_reason"] == TOO_LARGE).all()
    done = trials[trials["status"] == "complete"]
    assert len(done) and done["score"].between(0.3, 0.5).all()  # within the table's range


def test_a_table_lacking_configurations_is_refused_before_any_replay(tmp_path):
    # It replayed, failing those trials ("not in the table"), and ended well.
    from bloomtune.errors import DataError
    from bloomtune.model_settings import ReplaySettings
    from bloomtune.replay.search import replay_tuner

    settings = tune_settings("optuna_tpe", SPACE, max_trials=4, max_epochs=EPOCHS)
    frame = _table(settings.space)
    frame[frame["config"] != 5].to_parquet(tmp_path / "table.parquet")
    with pytest.raises(DataError, match=r"table.parquet: the table lacks 1 of the grid's 12 "):
        replay_tuner(ReplaySettings((settings,), GRID), tmp_path / "table.parquet", tmp_path)
    assert not (tmp_path / "seed_1").exists()
