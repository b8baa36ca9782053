"""What a trial asks of an evaluator and what each epoch reports back: the seam between the
trial runner and whatever gives a configuration's results (training, or a table's lookup).

The runner asks an evaluator for one trial (`Request`) and hears each epoch's record through
`on_epoch` (epoch from 1, training loss, validation accuracy and loss, and the seconds it cost),
which answers whether to stop after it; the runner alone decides what the trial's status is.
No Keras here: a replay imports this, not the training stack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# An epoch's record, and the runner's answer: True stops the trial after this epoch. It may
# raise (a pruner's exception) to end the trial there.
OnEpoch = Callable[[dict], bool]


@dataclass(frozen=True)
class Request:
    """One trial to evaluate: train epochs initial_epoch+1..epochs of configuration `hp`.

    `warm_start`: weights to continue from (Keras Tuner Hyperband's promoted trials);
    `keep_weights`: where `keep` writes the best epoch's weights once the trial is closed."""

    trial: int
    hp: dict
    epochs: int
    initial_epoch: int = 0
    warm_start: Path | None = None
    keep_weights: Path | None = None
    parent: int | None = None  # the trial a promoted (Hyperband) trial continues


class Evaluator(Protocol):
    def evaluate(self, request: Request, on_epoch: OnEpoch) -> None:
        """Report every epoch to `on_epoch` until it answers stop or the epochs are done; raise
        what made the configuration fail (too large, out of memory, anything else). Each
        epoch's `seconds` is what it cost: measured by an evaluator that trains (the first
        epoch's from the call, so building the model counts), a table's by a replay; the
        ledger's seconds of the trial are their sum (0 for a trial that fails before its
        first epoch).

        An evaluator may also have `resolve(hp) -> hp`: the values it evaluates a suggestion at
        (a replay snaps it to the grid); the runner records those."""

    def keep(self, request: Request) -> None:
        """Write the trial's best weights to request.keep_weights (after a trial that did not
        fail)."""
