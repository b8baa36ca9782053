"""Where a report's runs come from: the live pipeline's stages, or the replays against a table.

A source loads its runs, writes each one's row of repetitions.csv, and adds what only it has
(live: the fairness check and the optimisers' overhead; replayed: the landscape, each search's
regret and the agreement with the live runs); everything else in reporting/contents.py is
computed once for both."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pandas as pd

from bloomtune.files import read_json
from bloomtune.replay.evaluator import Table
from bloomtune.reporting.fairness import fairness
from bloomtune.reporting.fidelity import GridCurves, between_grid_values, fidelity
from bloomtune.reporting.landscape import Landscape
from bloomtune.reporting.overhead import overhead_shares
from bloomtune.reporting.runs import Run, hyperparameters_text, run_folder
from bloomtune.reporting.trust import agreement, verdict


class RunSource(Protocol):
    """What reporting/contents.py asks of a source (`contents`: the Contents being gathered,
    which imports this module)."""

    test_label: str  # what the test measure is, on the figure of every repetition
    wall_note: str  # what the any-time figure's wall seconds are

    def load(self, tuners, seeds) -> list[Run]: ...

    def prepare(self, contents) -> None:
        """What the rows need, once the runs, objective and space are known."""

    def row(self, run: Run, area: float) -> dict:
        """The run's row of repetitions.csv (`area`: its any-time score)."""

    def summarise(self, contents) -> None:
        """The source's own numbers, once the comparison and summary are made."""

    def size(self, contents) -> int:
        """How many configurations a trial could draw (for the independence check)."""


class LiveRuns:
    """The live pipeline's runs: tune, best_epoch and evaluate outputs, one per tuner and seed."""

    test_label = "test accuracy"
    wall_note = ""

    def __init__(self, tuning_dir: Path, metrics_dir: Path, best_epoch_dir: Path):
        self.tuning_dir, self.metrics_dir = Path(tuning_dir), Path(metrics_dir)
        self.best_epoch_dir = Path(best_epoch_dir)

    def load(self, tuners, seeds) -> list[Run]:
        """Every run the params list, tuner by tuner, in seed order."""
        runs = []
        for tuner in tuners:
            for seed in seeds:
                tuning = run_folder(self.tuning_dir, tuner, seed)
                epochs = run_folder(self.best_epoch_dir, tuner, seed)
                runs.append(
                    Run(
                        tuner,
                        seed,
                        read_json(run_folder(self.metrics_dir, tuner, seed).with_suffix(".json")),
                        read_json(tuning / "best.json"),
                        pd.read_csv(tuning / "trials.csv"),
                        pd.read_csv(epochs / "history.csv"),
                        read_json(epochs / "best_epoch.json")["best_epoch"],
                    )
                )
        return runs

    def prepare(self, contents) -> None:
        pass

    def row(self, run: Run, area: float) -> dict:
        """Test scores, the search's best validation score and any-time area, seconds per
        phase, trials by status and the epochs each phase consumed."""
        m = run.metrics
        return {
            "tuner": run.tuner,
            "seed": run.seed,
            "framework": m["framework"],
            "test_loss": m["test_loss"],
            "test_accuracy": m["test_accuracy"],
            "test_top5_accuracy": m["test_top5_accuracy"],
            "best_validation": run.best["score"],
            "anytime_area": area,
            "tuning_s": m["seconds"]["tuning"],
            "best_epoch_s": m["seconds"]["best_epoch"],
            "retrain_s": m["seconds"]["retrain"],
            "total_s": m["seconds"]["total"],
            **m["trials"],
            "tuning_epochs": run.best["totals"]["epochs_consumed"],
            "epochs_consumed": m["epochs_consumed"],
            "best_hyperparameters": hyperparameters_text(m["hyperparameters"]),
        }

    def summarise(self, contents) -> None:
        self.fairness_table, self.differences = fairness(
            {(r.tuner, r.seed): r.best for r in contents.runs}
        )
        self.overheads = overhead_shares(contents.runs)
        contents.summary["overhead_share"] = contents.summary["tuner"].map(self.overheads)

    def size(self, contents) -> int:
        return contents.space.size  # configurations: independent draws rarely coincide


class ReplayedRuns:
    """Each tuner's searches replayed against the table (results/replay/{tuner}/seed_{seed}),
    checked against the live searches: every live trial against the table at its grid point
    (reporting/fidelity.py), and the tuners' ranking on the seeds both have
    (reporting/trust.py)."""

    test_label = "test accuracy (the table's)"
    wall_note = " Wall time: the table's seconds, not measured."

    def __init__(self, replay_dir: Path, table_path: Path, tuning_dir: Path, live_seeds,
                 grid: dict, model: str = "grid"):  # fmt: skip
        self.replay_dir, self.table_path = Path(replay_dir), Path(table_path)
        self.tuning_dir, self.live_seeds = Path(tuning_dir), tuple(live_seeds)
        self.grid, self.model = dict(grid), model

    def load(self, tuners, seeds) -> list[Run]:
        runs = []
        for tuner in tuners:
            for seed in seeds:
                folder = run_folder(self.replay_dir, tuner, seed)
                best = read_json(folder / "best.json")
                runs.append(Run(tuner, seed, {}, best, pd.read_csv(folder / "trials.csv"),
                                pd.DataFrame(), best["best_epoch"]))  # fmt: skip
        return runs

    def prepare(self, contents) -> None:
        self.frame = pd.read_parquet(self.table_path)
        self.landscape = Landscape(self.frame, contents.objective, contents.space.names)

    def row(self, run: Run, area: float) -> dict:
        best, totals = run.best, run.best["totals"]
        return {
            "tuner": run.tuner, "seed": run.seed, "framework": best["framework"],
            "test_accuracy": best["test_accuracy"], "test_loss": best["test_loss"],
            "test_top5_accuracy": float("nan"), "best_validation": best["score"],
            "regret": self.landscape.regret(best["score"]), "anytime_area": area,
            "tuning_s": totals["wall_s"], "best_epoch_s": float("nan"),
            "retrain_s": float("nan"), "total_s": totals["wall_s"],
            **{k: totals[k] for k in ("trials", "complete", "pruned", "failed")},
            "tuning_epochs": totals["epochs_consumed"],
            "epochs_consumed": totals["epochs_consumed"], "replay_s": best["replay_s"],
            "best_hyperparameters": hyperparameters_text(best["hyperparameters"]),
        }  # fmt: skip

    def summarise(self, contents) -> None:
        reps = contents.repetitions
        regret = reps.groupby("tuner", sort=False)["regret"].mean()
        contents.summary["regret"] = contents.summary["tuner"].map(regret)
        scores = reps[["tuner", "seed"]].assign(score=reps["best_validation"])
        trials, best = self._live(contents)
        self.agreement = agreement(best, scores, contents.objective)
        space, objective = contents.space, contents.objective
        table = Table(self.frame, space)
        grid = fidelity(trials, GridCurves(table, space, self.grid, objective), space, objective)
        self.surrogate = between_grid_values(table, space, self.grid, objective, trials,
                                             contents.runs[0].best["settings"])  # fmt: skip
        surrogate = self.surrogate["fidelity"] if self.surrogate else None
        # the verdict is on what the replay read; the page shows the other beside it
        self.fidelity, self.other = (surrogate, grid) if self.model == "surrogate" else (
            grid, surrogate)  # fmt: skip
        self.verdict = verdict(self.fidelity, self.agreement)

    def _live(self, contents) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Every live search's trials (with its seed as `search_seed`) and best score."""
        trials, best = [], []
        for tuner in contents.settings.tuners:
            for seed in self.live_seeds:
                folder = run_folder(self.tuning_dir, tuner, seed)
                if (folder / "best.json").exists():
                    best.append({"tuner": tuner, "seed": seed,
                                 "score": read_json(folder / "best.json")["score"]})  # fmt: skip
                    trials.append(pd.read_csv(folder / "trials.csv").assign(search_seed=seed))
        return (pd.concat(trials, ignore_index=True) if trials else pd.DataFrame(),
                pd.DataFrame(best, columns=["tuner", "seed", "score"]))  # fmt: skip

    def size(self, contents) -> int:
        return len(self.landscape.per_config)  # a replay's trials are the grid's points
