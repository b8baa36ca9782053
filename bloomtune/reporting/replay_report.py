"""Stage replay_report: the comparison over the replayed repetitions (results/report/replay/),
with the same statistics and any-time views as the live report, plus what only a table gives
(each search's regret against the grid's best, the landscape) and how far the replay agrees
with the live runs."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from bloomtune.files import atomic_path, read_json, write_json
from bloomtune.reporting import captions, document, figures, render
from bloomtune.reporting.budgets import BudgetRanks
from bloomtune.reporting.comparison import Comparison, Design
from bloomtune.reporting.contents import Pooled
from bloomtune.reporting.drawing import draw_critical_difference, draw_repetitions
from bloomtune.reporting.headline import headline
from bloomtune.reporting.independence import aggregates as independence_aggregates
from bloomtune.reporting.independence import flagged_text, independence
from bloomtune.reporting.landscape import Landscape, agreement, agreement_text
from bloomtune.reporting.runs import Run, anytime_areas, run_folder
from bloomtune.reporting.tables import HEADERS, aggregates, evidence, rounded
from bloomtune.settings import ReplayReportSettings
from bloomtune.space import SearchSpace

log = logging.getLogger(__name__)
PER_REPLAY = ["tuner", "seed", "test_accuracy", "best_validation", "regret", "anytime_area",
              "trials", "pruned", "failed", "tuning_epochs", "best_hyperparameters"]  # fmt: skip
TEST_MEASURE = (
    "The test measure of a replayed search is the table's test accuracy of its chosen "
    "configuration at its best epoch, from the curve the trial replayed (trained on the tuning "
    "split; the live runs retrain on train and validation before testing), so its numbers are "
    "not the live report's."
)


def load_replays(tuners, seeds, replay_dir: Path) -> list[Run]:
    runs = []
    for tuner in tuners:
        for seed in seeds:
            folder = run_folder(replay_dir, tuner, seed)
            best = read_json(folder / "best.json")
            runs.append(Run(tuner, seed, {}, best, pd.read_csv(folder / "trials.csv"),
                            pd.DataFrame(), best["best_epoch"]))  # fmt: skip
    return runs


def _hyperparameters(values: dict) -> str:
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
    )


class ReplayContents(Pooled):
    def __init__(self, settings: ReplayReportSettings, replay_dir, table_path, tuning_dir):
        report = settings.report
        self.settings, self.grid = settings, dict(settings.grid)
        self.runs = load_replays(report.tuners, report.seeds, Path(replay_dir))
        self.objective = self.runs[0].best["objective"]
        self.space = SearchSpace.from_params(self.runs[0].best["settings"]["search_space"])
        self.landscape = Landscape(pd.read_parquet(table_path), self.objective, self.space.names)
        self.repetitions = self._repetitions()
        design = Design(report.comparisons, report.control, report.rope)
        self.comparison = Comparison(self.repetitions, self.objective, design)
        self.summary = self.comparison.summary()
        regret = self.repetitions.groupby("tuner", sort=False)["regret"].mean()
        self.summary["regret"] = self.summary["tuner"].map(regret)
        self.budgets = BudgetRanks(self.runs, self.objective, report.budget_fractions)
        self.size = len(self.landscape.per_config)  # a replay's trials are the grid's points
        self.independence = independence(self.runs, self.space.names, self.size)
        self.headline = headline(
            self.comparison, self.budgets.change(), flagged_text(self.independence)
        )
        self.colours = figures.palette(self.comparison.tuners)
        self.agreement = agreement(self._live(Path(tuning_dir)), self._scores(), self.objective)

    def _repetitions(self) -> pd.DataFrame:
        rows = []
        for run, area in zip(self.runs, anytime_areas(self.runs, self.objective), strict=True):
            best, totals = run.best, run.best["totals"]
            rows.append({
                "tuner": run.tuner, "seed": run.seed, "framework": best["framework"],
                "test_accuracy": best["test_accuracy"], "test_loss": best["test_loss"],
                "test_top5_accuracy": float("nan"), "best_validation": best["score"],
                "regret": self.landscape.regret(best["score"]), "anytime_area": area,
                "tuning_s": totals["wall_s"], "best_epoch_s": float("nan"),
                "retrain_s": float("nan"), "total_s": totals["wall_s"],
                **{k: totals[k] for k in ("trials", "complete", "pruned", "failed")},
                "tuning_epochs": totals["epochs_consumed"],
                "epochs_consumed": totals["epochs_consumed"], "replay_s": best["replay_s"],
                "best_hyperparameters": _hyperparameters(best["hyperparameters"]),
            })  # fmt: skip
        return pd.DataFrame(rows)

    def _scores(self) -> pd.DataFrame:
        return self.repetitions[["tuner", "seed"]].assign(
            score=self.repetitions["best_validation"]
        )

    def _live(self, tuning_dir: Path) -> pd.DataFrame:
        """The live searches' best validation scores for the seeds both have."""
        rows = []
        for tuner in self.settings.report.tuners:
            for seed in sorted(set(self.settings.live_seeds) & set(self.settings.report.seeds)):
                best = run_folder(tuning_dir, tuner, seed) / "best.json"
                if best.exists():
                    rows.append({"tuner": tuner, "seed": seed, "score": read_json(best)["score"]})
        return pd.DataFrame(rows, columns=["tuner", "seed", "score"])

    def discretisation(self) -> str:
        said = []
        for dim in self.space:
            if dim.choices is None:
                values = ", ".join(f"{v:g}" for v in self.grid[dim.name])
                scale = " (nearest on a log scale)" if dim.log else ""
                said.append(f"{dim.name} {dim.low:g}..{dim.high:g} becomes {values}{scale}")
        ranges = "; ".join(said) if said else "no dimension is a range: the grid is the space"
        return (
            "Each tuner searches the live space; every suggestion is snapped to the nearest "
            "grid value (1-nearest neighbour, as Syne Tune replays LCBench), so the optimiser's "
            f"own model of the space is unchanged and it is handed the configuration the table "
            f"holds. {ranges}. Categorical dimensions keep all their choices."
        )


def draw(contents: ReplayContents, out_dir: Path) -> dict[str, tuple[Path, str]]:
    n, objective, colours = contents.comparison.n, contents.objective, contents.colours
    comparison = contents.comparison
    tabled = " Wall time: the table's seconds, not measured."
    return {
        "anytime": (
            figures.anytime_curves(
                contents.bands(), n, objective, out_dir / "anytime.png", colours
            ),  # fmt: skip
            captions.anytime(objective, n) + tabled,
        ),
        "rank_over_budget": (
            figures.rank_over_budget(
                contents.budgets.frame(), out_dir / "rank_over_budget.png", colours
            ),  # fmt: skip
            captions.rank_over_budget(
                n, contents.budgets.fractions, figures.coinciding(contents.budgets.frame())
            ),
        ),
        "evidence": (
            figures.evidence(
                comparison.evidence(), comparison.design.rope, out_dir / "evidence.png", colours
            ),  # fmt: skip
            captions.evidence(comparison.design.rope, n),
        ),
        "critical_difference": draw_critical_difference(
            contents, out_dir / "critical_difference.png"
        ),
        "repetitions": draw_repetitions(
            contents, out_dir / "repetitions.png", "test accuracy (the table's)"
        ),
        "landscape": (
            figures.landscape(
                contents.landscape.per_config[objective],
                contents.summary,
                objective,
                out_dir / "landscape.png",
                colours,
            ),  # fmt: skip
            f"Every grid configuration's {objective} (mean over its training seeds), best first; "
            f"each tuner's mean best {objective} over its {n} replays as a line.",
        ),
    }


def blocks(contents: ReplayContents, title: str, drawn) -> list[tuple[str, object]]:
    summary, n = contents.summary, contents.comparison.n
    shown = pd.DataFrame({
        "tuner": summary["tuner"],
        "test accuracy (table)": summary["test_accuracy"].map(lambda v: f"{v:.4f}"),
        "best validation": summary["best_validation"].map(lambda v: f"{v:.4f}"),
        "regret": summary["regret"].map(lambda v: f"{v:.3f}"),
        "any-time score": summary["anytime_area"].map(lambda v: f"{v:.4f}"),
        "mean rank (test accuracy)": summary["mean_rank"].map(lambda v: f"{v:.2f}"),
        "tuning epochs": summary["tuning_epochs"].map(lambda v: f"{v:.1f}"),
    })  # fmt: skip
    found = contents.agreement
    out = [
        ("title", title),
        *document.answer_blocks(contents, drawn),
        ("text", TEST_MEASURE),
        ("heading", "Comparison"),
        ("table", render.Table(shown, {})),
        ("text", f"Means over {n} replayed repetitions per tuner. Regret: normalised against "
                 "the grid's best and worst tabulated curves (0: the best any curve reached)."),
        ("heading", "Statistics"),
        *document.statistics_blocks(contents, drawn),
        *document.independence_blocks(contents),
        ("heading", "Any-time performance"), ("image", drawn["anytime"]),
        ("heading", "The answer at every budget"), ("image", drawn["rank_over_budget"]),
        *document.budget_blocks(contents),
        ("heading", "The landscape"), ("text", contents.landscape.describe()),
        ("image", drawn["landscape"]),
        ("heading", "How far to trust the replay"),
        ("verdict", agreement_text(found, contents.objective)),
    ]  # fmt: skip
    if found is not None:
        means, live, replay = found["means"], found["live_ranks"], found["replay_ranks"]
        out.append(("table", render.Table(pd.DataFrame({
            "tuner": found["tuners"],
            "live best validation": [f"{v:.4f}" for v in means["score_live"]],
            "replay best validation": [f"{v:.4f}" for v in means["score_replay"]],
            "live mean rank": [f"{v:.2f}" for v in live],
            "replay mean rank": [f"{v:.2f}" for v in replay],
        }), {})))  # fmt: skip
    reps = contents.repetitions
    out += [
        ("heading", "The grid"), ("text", contents.discretisation()),
        ("heading", "Cost"), ("text", cost_text(contents)),
        ("heading", "Every replay"),
        ("table", render.Table(rounded(reps[PER_REPLAY]), {**HEADERS, "regret": "regret"})),
    ]  # fmt: skip
    return out


def cost_text(contents: ReplayContents) -> str:
    land, reps = contents.landscape, contents.repetitions
    return (
        f"The table: {land.epochs} epochs, {land.seconds:.0f} s of training. The replays: "
        f"{len(reps)} searches, {reps['tuning_epochs'].sum():.0f} epochs looked up "
        f"({reps['tuning_s'].sum():.0f} s of the table's, not measured), "
        f"{reps['replay_s'].sum():.1f} s measured (the optimisers' decisions and bloomtune's "
        "bookkeeping; each job's process start-up not counted)."
    )


def build_replay_report(settings: ReplayReportSettings, replay_dir: Path, table: Path,
                        tuning_dir: Path, out_dir: Path) -> ReplayContents:  # fmt: skip
    contents = ReplayContents(settings, replay_dir, table, tuning_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = draw(contents, out_dir)
    title = f"{settings.report.title or 'bloomtune report'}: replayed against a table"
    page = blocks(contents, title, drawn)
    with atomic_path(out_dir / "summary.csv") as tmp:
        contents.summary.to_csv(tmp, index=False)
    with atomic_path(out_dir / "repetitions.csv") as tmp:
        contents.repetitions.to_csv(tmp, index=False)
    found = contents.agreement
    write_json(out_dir / "aggregates.json", {
        **aggregates(contents.comparison, contents.summary),
        "statistics": evidence(contents.comparison, contents.budgets),
        "regret": {r.tuner: round(float(r.regret), 6) for r in contents.summary.itertuples()},
        "independence": independence_aggregates(contents.independence),
        "agreement": None if found is None else {
            "seeds": found["seeds"], "kendall_tau": found["tau"], "p": found["p"],
            "same_order": found["same_order"], "same_first": found["same_first"],
        },
    })  # fmt: skip
    with atomic_path(out_dir / "replay.md") as tmp:
        tmp.write_text(render.markdown(page))
    with atomic_path(out_dir / "replay.html") as tmp:
        tmp.write_text(render.html_page(title, page))
    log.info("replay report: %d tuners x %d replays, written to %s",
             len(contents.comparison.tuners), contents.comparison.n, out_dir)  # fmt: skip
    return contents
