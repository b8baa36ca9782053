"""The report's headline: one sentence of verdict, then the graded evidence, from a comparison
(comparison.py). Never claims more than the tests show: no first place without a significant
test."""

from __future__ import annotations

from dataclasses import dataclass, field

from bloomtune.reporting import statistics
from bloomtune.reporting.comparison import Comparison

CALL = 0.95  # the posterior probability from which the report calls one tuner better
PRIMARY = ("test_accuracy", "test accuracy")  # what the verdict is about: the protocol's end
ANYTIME = ("anytime_area", "the any-time score")
MAX_LISTED = 4  # significant pairs named in the verdict; more are counted (and tabled below)


@dataclass(frozen=True)
class Headline:
    """The answer: one sentence of verdict (bold, first on the page, about the test measure),
    a warning where the repetitions are not independent, then the graded evidence (plain, under
    the figure of repetitions)."""

    verdict: str
    evidence: list[str] = field(default_factory=list)
    warning: str | None = None

    def __str__(self) -> str:
        return " ".join([self.verdict, *filter(None, [self.warning]), *self.evidence])


def _names(tuners) -> str:
    tuners = list(tuners)
    return tuners[0] if len(tuners) == 1 else f"{', '.join(tuners[:-1])} and {tuners[-1]}"


def spread(comparison: Comparison, measure: str) -> str:
    """The mean ranks' spread, and the Friedman test across tuners: what can be said of an order
    without a significant difference."""
    ranks, k = comparison.mean_ranks(measure), len(comparison.tuners)
    friedman = statistics.friedman(comparison.table(measure))
    tested = f", Friedman p = {friedman['p']:.2g}" if friedman else ""
    return f"mean ranks {ranks.min():.2f} to {ranks.max():.2f} of {k}{tested}"


def wins(comparison: Comparison, measure: str) -> list[tuple[str, str, float]]:
    """The design's pairs a Holm-corrected test separates, better tuner first: (better, worse,
    adjusted p)."""
    out = []
    for row in comparison.pairwise(measure).itertuples():
        if row.p_holm < comparison.design.alpha:
            better, worse = (row.a, row.b) if row.effect > 0 else (row.b, row.a)
            out.append((better, worse, float(row.p_holm)))
    return out


def _shown(comparison: Comparison, measure: str) -> str:
    """The significant differences on one measure in words (a clause)."""
    found = wins(comparison, measure)
    if comparison.design.comparisons == "control":
        control = comparison.design.control
        better = [b for b, w, _ in found if w == control]
        worse = [w for b, w, _ in found if b == control]
        said = [f"better than the control {control}: {_names(better)}"] if better else []
        said += [f"worse than it: {_names(worse)}"] if worse else []
        rest = len(comparison.pairs) - len(found)
        return "; ".join(said) + f"; {rest} of {len(comparison.pairs)} not separated from it"
    if leader := comparison.significant_leader(measure):
        return f"{leader} is better than every other tuner"
    if len(found) > MAX_LISTED:
        listed = f"{len(found)} pairs differ (named under Statistics)"
    else:
        by: dict[str, list[str]] = {}
        for better, worse, _ in found:
            by.setdefault(better, []).append(worse)
        listed = "; ".join(f"{b} is better than {_names(w)}" for b, w in by.items())
    m = len(comparison.pairs)
    return f"{listed}; {m - len(found)} of {m} pairs are not separated"


def verdict(comparison: Comparison) -> str:
    """One sentence: what the tests show on test accuracy at the design's alpha, what they do
    not, and N against the N the design needs; never a first place without a test."""
    n, design, m = comparison.n, comparison.design, len(comparison.pairs)
    needed, alpha = comparison.needed, design.alpha
    measure, label = PRIMARY
    tests = f"{m} paired Wilcoxon test{'' if m == 1 else 's'} on {label}, Holm-corrected"
    if n == 1:
        return (
            f"Nothing is shown: with one run per tuner no difference can be tested; this design "
            f"({tests}) needs at least {needed} repetitions to reach p < {alpha}."
        )
    if n < needed:
        return (
            f"Nothing is shown at {alpha}: with {n} repetitions of the {needed} this design "
            f"needs, no difference in {label} can be significant ({tests}: the smallest "
            f"adjusted p {n} pairs can give is {comparison.smallest_adjusted_p:.3g}); "
            f"{spread(comparison, measure)}."
        )
    if not wins(comparison, measure):
        smallest = float(comparison.pairwise(measure)["p_holm"].min())
        return (
            f"Nothing is shown at {alpha}: over {n} repetitions ({needed} needed), no difference "
            f"in {label} is significant ({tests}; smallest adjusted p {smallest:.2g}); "
            f"{spread(comparison, measure)}."
        )
    return f"Shown at {alpha} over {n} repetitions ({tests}): {_shown(comparison, measure)}."


def _anytime(comparison: Comparison) -> str:
    measure, label = ANYTIME
    family = (
        f"a family of its own: {len(comparison.pairs)} Wilcoxon tests, Holm-corrected within them"
    )
    if comparison.n < comparison.needed:
        return (
            f"On {label} ({family}) no difference can be significant either; "
            f"{spread(comparison, measure)}."
        )
    if not wins(comparison, measure):
        said = spread(comparison, measure)
        return f"On {label} ({family}) no difference is significant; {said}."
    return f"On {label} ({family}): {_shown(comparison, measure)}."


def _priors(comparison: Comparison, a: str, b: str, key: str) -> str:
    """How far a called probability moves under baycomp's other priors."""
    table, higher = comparison.table(PRIMARY[0]), comparison.higher_is_better(PRIMARY[0])
    rope = comparison.design.rope
    moved = [
        statistics.bayes_signed_rank(table[a], table[b], rope, higher, prior=prior)[key]
        for prior in statistics.BAYES_OTHER_PRIORS
    ]
    priors = " and ".join(f"{p:g}" for p in statistics.BAYES_OTHER_PRIORS)
    return f"{min(moved):.2f} to {max(moved):.2f} with prior {priors}"


def _graded(comparison: Comparison) -> str:
    """The Bayesian signed-rank tests in words: a pair is called only from CALL, each call with
    its N and how far it moves under other priors."""
    n, rope = comparison.n, comparison.design.rope
    evidence = comparison.evidence(PRIMARY[0])
    if evidence.empty:
        return (
            f"Graded evidence (a Bayesian signed-rank test) needs at least "
            f"{statistics.BAYES_MIN_N} repetitions."
        )
    said, largest = [], None
    for row in evidence.itertuples():
        calls = [  # (probability, its key, the call, the same uncalled)
            (row.p_a, "p_a", f"{row.a} is better than {row.b} by more than {rope:g}",
             f"{row.a} ahead of {row.b} by more than {rope:g}"),
            (row.p_b, "p_b", f"{row.b} is better than {row.a} by more than {rope:g}",
             f"{row.b} ahead of {row.a} by more than {rope:g}"),
            (row.p_rope, "p_rope", f"{row.a} and {row.b} are practically equal",
             f"{row.a} and {row.b} within {rope:g}"),
        ]  # fmt: skip
        p, key, claim, uncalled = max(calls, key=lambda c: c[0])
        if p >= CALL:
            said.append(f"{claim} (probability {p:.2f}; {_priors(comparison, row.a, row.b, key)})")
        elif largest is None or p > largest[0]:
            largest = (p, uncalled)
    head = (
        f"Graded evidence on {PRIMARY[1]} from {n} paired repetitions (Bayesian signed-rank "
        f"test, baycomp, prior {statistics.BAYES_PRIOR:g}; differences within {rope:g} count as "
        f"practically equal; called from {CALL}; a posterior, not a significance test: with "
        f"N = {n} it rests on {n} differences)"
    )
    if not said:
        return (
            f"{head}: no pair reaches {CALL} (the largest: {largest[1]}, probability "
            f"{largest[0]:.2f})."
        )
    rest = len(evidence) - len(said)
    tail = f"; no other of the {len(evidence)} pairs reaches {CALL}" if rest else ""
    return f"{head}: " + "; ".join(said) + tail + "."


def headline(
    comparison: Comparison, budget_change: str | None = None, warning: str | None = None
) -> Headline:
    """The answer in plain words, never more than the data can show: the verdict on test
    accuracy under the design's correction; then the any-time score (its own family), the graded
    Bayesian evidence with its N and its prior's pull, and the budget fractions at which the
    ranks differ significantly (if any)."""
    evidence = [] if comparison.n < 2 else [_anytime(comparison), _graded(comparison)]
    return Headline(verdict(comparison), evidence + ([budget_change] if budget_change else []),
                    warning)  # fmt: skip
