"""The running trial's clock: its epoch history, the seconds its epochs cost, its CPU time."""

from __future__ import annotations

import time

from bloomtune.stopwatch import utc_now


class TrialClock:
    """The running trial: its number, hyperparameters and epoch history, the seconds its epochs
    cost and the CPU seconds it has taken since it began. `overhead_s` is what the search spent
    outside training before it (the optimiser's suggestion and update)."""

    def __init__(self, trial: int, hp: dict, overhead_s: float = 0.0):
        self.trial, self.hp, self.overhead_s = int(trial), hp, overhead_s
        self.history: list[dict] = []
        self.start_time = utc_now()
        self._cpu0 = time.process_time()

    @property
    def epoch_s(self) -> float:
        """The seconds its evaluator reported for the epochs it ran (the trial's cost)."""
        return sum(float(h.get("seconds") or 0.0) for h in self.history)

    @property
    def cpu_s(self) -> float:
        return time.process_time() - self._cpu0
