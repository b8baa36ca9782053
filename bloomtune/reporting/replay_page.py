"""The replay's page (results/report/replay/replay.md, replay.html): what only a table gives,
in its order around the blocks every page has (reporting/document.py): each search's regret
against the grid's best, the landscape, how far the replay agrees with the live runs, the grid
and the cost."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bloomtune.files import write_json
from bloomtune.reporting import figures, render
from bloomtune.reporting.contents import Contents
from bloomtune.reporting.document import (
    answer_blocks,
    budget_blocks,
    independence_blocks,
    statistics_blocks,
)
from bloomtune.reporting.fidelity import between_text, describe, epoch_table
from bloomtune.reporting.tables import HEADERS, rounded
from bloomtune.reporting.trust import DISAGREES, ranking_text
from bloomtune.settings import ReplayReportSettings

PER_REPLAY = ["tuner", "seed", "test_accuracy", "best_validation", "regret", "anytime_area",
              "trials", "pruned", "failed", "tuning_epochs", "best_hyperparameters"]  # fmt: skip
TEST_MEASURE = (
    "The test measure of a replayed search is the table's test accuracy of its chosen "
    "configuration at its best epoch, from the curve the trial replayed (trained on the tuning "
    "split; the live runs retrain on train and validation before testing), so its numbers are "
    "not the live report's."
)


class ReplayPage:
    name = "replay"

    def __init__(self, settings: ReplayReportSettings, verdict_path: Path):
        self.settings, self.grid = settings, dict(settings.grid)
        self.verdict_path = Path(verdict_path)
        self.title = f"{settings.report.title or 'bloomtune report'}: replayed against a table"

    def figures(self, contents: Contents, out_dir: Path) -> dict[str, tuple[Path, str]]:
        n, objective = contents.comparison.n, contents.objective
        drawn = figures.landscape(
            contents.source.landscape.per_config[objective],
            contents.summary,
            objective,
            out_dir / "landscape.png",
            contents.colours,
        )
        caption = (
            f"Every grid configuration's {objective} (mean over its training seeds), best "
            f"first; each tuner's mean best {objective} over its {n} replays as a line."
        )
        out = {"landscape": (drawn, caption)}
        if (fid := contents.source.fidelity) is not None:
            out["fidelity"] = (
                figures.fidelity(
                    fid.pairs, fid.per_epoch, objective, out_dir / "fidelity.png", contents.colours
                ),  # fmt: skip
                f"Left: every compared live trial's best {objective} against the table's at its "
                "grid point (the mean over its training seeds); on the dashed line they agree. "
                "Right: per epoch, Spearman's rho of live against the table (its mean, and its "
                "other seeds as the ceiling is) and the noise ceiling (one training seed against "
                "the others).",
            )
        found = contents.source.surrogate
        if found is not None and len(found["held_out"]):
            out["held_out"] = (
                figures.held_out(found["held_out"], objective, out_dir / "held_out.png"),
                "The curve model's predictions of each grid value's configurations with that "
                "value left out, against the table.",
            )
        return out

    def blocks(self, contents: Contents, drawn) -> list[tuple[str, object]]:
        summary, n, source = contents.summary, contents.comparison.n, contents.source
        shown = pd.DataFrame({
            "tuner": summary["tuner"],
            "test accuracy (table)": summary["test_accuracy"].map(lambda v: f"{v:.4f}"),
            "best validation": summary["best_validation"].map(lambda v: f"{v:.4f}"),
            "regret": summary["regret"].map(lambda v: f"{v:.3f}"),
            "any-time score": summary["anytime_area"].map(lambda v: f"{v:.4f}"),
            "mean rank (test accuracy)": summary["mean_rank"].map(lambda v: f"{v:.2f}"),
            "tuning epochs": summary["tuning_epochs"].map(lambda v: f"{v:.1f}"),
        })  # fmt: skip
        said = source.verdict
        opening = answer_blocks(contents, drawn)
        if said is not None and said[0] == DISAGREES:
            # Never presented as the answer: the headline says why, the replay's own verdict
            # follows as what it alone would say.
            opening = [
                ("headline", f"Not an answer: {said[1]} Its ranking below is kept to inspect, "
                             "not to choose an optimiser by."),
                ("text", f"What the replay alone would say: {opening[0][1]}"),
                *opening[1:],
            ]  # fmt: skip
        out = [
            ("title", self.title),
            *opening,
            ("text", TEST_MEASURE),
            ("heading", "Comparison"),
            ("table", render.Table(shown, {})),
            ("text", f"Means over {n} replayed repetitions per tuner. Regret: normalised "
                     "against the grid's best and worst tabulated curves (0: the best any curve "
                     "reached)."),
            ("heading", "Statistics"),
            *statistics_blocks(contents, drawn),
            *independence_blocks(contents),
            ("heading", "Any-time performance"), ("image", drawn["anytime"]),
            ("heading", "The answer at every budget"), ("image", drawn["rank_over_budget"]),
            *budget_blocks(contents),
            ("heading", "The landscape"), ("text", source.landscape.describe()),
            ("image", drawn["landscape"]),
            ("heading", "How far to trust the replay"),
            *self.trust_blocks(contents, drawn),
        ]  # fmt: skip
        reps = contents.repetitions
        out += [
            ("heading", "The grid"), ("text", self.discretisation(contents)),
            ("heading", "Cost"), ("text", cost_text(contents)),
            ("heading", "Every replay"),
            ("table", render.Table(rounded(reps[PER_REPLAY]), {**HEADERS, "regret": "regret"})),
        ]  # fmt: skip
        return out

    def trust_blocks(self, contents: Contents, drawn) -> list[tuple[str, object]]:
        """The verdict, the trial-level fidelity against its ceiling (figure, per epoch), then
        the tuners' ranking with its interval, each tuner's percentile and spread."""
        source, objective = contents.source, contents.objective
        fid, found, said = source.fidelity, source.agreement, source.verdict
        out = [] if said is None else [("verdict" if said[0] == "agrees" else "unfair", said[1])]
        out += [("subheading", "Trial by trial"), ("text", describe(fid, objective))]
        if fid is not None:
            out += [("image", drawn["fidelity"]), ("table", render.Table(epoch_table(fid), {}))]
        grid = fid if source.model == "grid" else source.other
        out += [
            ("subheading", "Between grid values"),
            ("text", between_text(source.surrogate, source.model, grid, objective)),
        ]
        if "held_out" in drawn:
            out.append(("image", drawn["held_out"]))
        out += [("subheading", "The tuners' ranking"), ("text", ranking_text(found, objective))]
        if found is not None:
            means, spread = found["means"], found["spread"].set_index("tuner")
            out.append(("table", render.Table(pd.DataFrame({
                "tuner": found["tuners"],
                "live best validation": [f"{v:.4f}" for v in means["score_live"]],
                "replay best validation": [f"{v:.4f}" for v in means["score_replay"]],
                "live mean rank": [f"{v:.2f}" for v in found["live_ranks"]],
                "replay mean rank": [f"{v:.2f}" for v in found["replay_ranks"]],
                "live mean's percentile": [f"{spread.loc[t, 'percentile']:.0f}"
                                           for t in found["tuners"]],
                "live SD": [f"{spread.loc[t, 'live_sd']:.4f}" for t in found["tuners"]],
                "replay SD": [f"{spread.loc[t, 'replay_sd']:.4f}" for t in found["tuners"]],
            }), {})))  # fmt: skip
            out.append(("text", "Means and ranks over the seeds both have; percentile and "
                                "standard deviations (SD) of best validation over every live "
                                "and every replayed repetition of each tuner."))  # fmt: skip
        return out

    def discretisation(self, contents: Contents) -> str:
        said = []
        for dim in contents.space:
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

    def aggregates(self, contents: Contents) -> dict:
        return {
            "regret": {r.tuner: round(float(r.regret), 6) for r in contents.summary.itertuples()},
            **trust_record(contents.source),
        }

    def write_own(self, contents: Contents, drawn, out_dir: Path) -> None:
        """The verdict the main report quotes (and DVC shows as a metric)."""
        write_json(self.verdict_path, trust_record(contents.source))


def _rounded(value, digits: int = 4):
    if value is None or isinstance(value, int | bool):
        return value
    if isinstance(value, tuple):
        return [_rounded(v, digits) for v in value]
    return None if value != value else round(float(value), digits)  # NaN: None


def trust_record(source) -> dict:
    """The verdict and the numbers under it, for aggregates.json and the main report."""
    fid, found, said = source.fidelity, source.agreement, source.verdict
    between = source.surrogate
    return {
        "model": source.model,
        "verdict": said[0] if said else None,
        "reason": said[1] if said else describe(None, ""),
        "fidelity": None if fid is None else {
            "trials": fid.trials, "searches": fid.searches, "training_seeds": fid.seeds,
            **{name: _rounded(getattr(fid, name)) for name in (
                "rho", "rho_ci", "matched", "ceiling", "gap_ci", "mad", "mad_matched",
                "mad_ceiling", "mad_gap_ci", "bias", "bias_ci")},
        },
        "surrogate": None if between is None else {
            **{f"held_out_{k}": {n: _rounded(v) for n, v in scores.items()}
               for k, scores in between["scores"].items()},
            "live": None if between["fidelity"] is None else {
                n: _rounded(getattr(between["fidelity"], n))
                for n in ("rho", "rho_ci", "mad", "matched", "ceiling", "gap_ci", "mad_matched",
                          "mad_ceiling", "mad_gap_ci")},
        },
        "agreement": None if found is None else {
            "seeds": found["seeds"], "kendall_tau": _rounded(found["tau"]),
            "tau_ci": _rounded(found["tau_ci"]), "p": _rounded(found["p"]),
            "same_order": found["same_order"], "same_first": found["same_first"],
            "percentile": {r.tuner: _rounded(r.percentile, 1)
                           for r in found["spread"].itertuples()},
        },
    }  # fmt: skip


def cost_text(contents: Contents) -> str:
    land, reps = contents.source.landscape, contents.repetitions
    return (
        f"The table: {land.epochs} epochs, {land.seconds:.0f} s of training. The replays: "
        f"{len(reps)} searches, {reps['tuning_epochs'].sum():.0f} epochs looked up "
        f"({reps['tuning_s'].sum():.0f} s of the table's, not measured), "
        f"{reps['replay_s'].sum():.1f} s measured (the optimisers' decisions and bloomtune's "
        "bookkeeping; each job's process start-up not counted)."
    )
