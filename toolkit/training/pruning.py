"""Reports each evaluation of a search trial to its optuna trial, and stops the trial when the
pruner says its scores lag (median pruning): `ftk search` reads `pruned` afterwards.

Stopping goes through the Trainer's own `should_training_stop`, not optuna's TrialPruned
exception, so the Trainer ends the epoch cleanly (the kept model and its checkpoints stay
consistent) and the search decides what to record. Under `accelerate launch` the main process
holds the trial and decides; every process stops at the same evaluation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from transformers import TrainerCallback

from toolkit.core.distributed import main_decides

if TYPE_CHECKING:
    import optuna


class PruningCallback(TrainerCallback):
    """`trial`: anything with `report(value, step)` and `should_prune()` (an optuna Trial) on
    the main process, None on the others. `metric`: the Trainer's metric key, e.g.
    eval_f1_macro (every process sees the same value: the Trainer gathers the predictions)."""

    def __init__(self, trial: optuna.Trial | None, metric: str):
        self.trial = trial
        self.metric = metric
        self.scores: list[float] = []  # one per evaluation, in order
        self.pruned = False

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not metrics or self.metric not in metrics:
            return
        score = float(metrics[self.metric])
        self.scores.append(score)
        if should_stop(self.trial, score, step=len(self.scores)):
            self.pruned = True
            control.should_training_stop = True


def should_stop(trial: optuna.Trial | None, score: float, step: int) -> bool:
    """Report `score` at `step` to the trial (held by the main process; None on the others)
    and return whether the pruner stops it, on every process."""

    def ask() -> bool:
        assert trial is not None  # main_decides asks the main process, which holds it
        trial.report(score, step=step)
        return bool(trial.should_prune())

    return main_decides(ask)
