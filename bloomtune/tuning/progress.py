"""The progress line each finished trial logs."""

from __future__ import annotations

from bloomtune.stopwatch import hms
from bloomtune.tuning.ledger import best_row


class Progress:
    """One log line per finished trial: its number (the ledger's), status and score, the best so
    far and its trial, then the budget spent (trials and epochs of their limits), the search's
    seconds so far and an ETA from the budget, whichever limit is nearer."""

    def __init__(self, tuner: str, objective: str, budget, log):
        self.tuner, self.objective, self.budget, self.log = tuner, objective, budget, log

    def trial_done(self, row: dict, rows: list[dict]) -> None:
        best = best_row(rows, self.objective)
        elapsed = sum(r["wall_s"] for r in rows)
        epochs = sum(r["epochs_run"] for r in rows)
        score = "-" if row["score"] is None else f"{row['score']:.4f}"
        best_text = "-" if best is None else f"{best['score']:.4f} (trial {best['trial']})"
        reason = f" ({row['failure_reason']})" if row["failure_reason"] else ""
        b = self.budget
        spent = [len(rows) / b.max_trials]
        epochs_text = f"epochs {epochs}"
        if b.max_total_epochs:
            spent.append(epochs / b.max_total_epochs)
            epochs_text += f"/{b.max_total_epochs}"
        share = min(1.0, max(spent))
        eta = hms(elapsed * (1 - share) / share) if 0 < share < 1 else "0m00s"
        self.log.info(
            "%s trial %d %s%s score %s best %s | trials %d/%d, %s, elapsed %s, ETA %s",
            self.tuner,
            row["trial"],
            row["status"],
            reason,
            score,
            best_text,
            len(rows),
            b.max_trials,
            epochs_text,
            hms(elapsed),
            eta,
        )
