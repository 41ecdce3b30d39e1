"""history.jsonl, written as training goes: every optimizer step's LR, the logged losses and
every evaluation (and, for pre-training, perplexity beside each masked-LM loss).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerState


class HistoryCallback(TrainerCallback):
    """Appends one JSON line per optimizer step (LR actually used, per group) and per log/eval.

    Rows: {"kind": "groups", "names": [...]} once per training start (names of the optimizer's
    parameter groups, null where unnamed, and "time": unix s of the training start); {"kind":
    "step", "step", "lr": [...], "time": unix s} for every update; {"kind": "train", "step",
    "loss", ...} at each logging step; {"kind": "eval", ..., "time"} after
    each evaluation, and {"kind": "train_sample", ...} (the overfitting watch's scores of a fixed
    training sample) beside it. The kept model's re-evaluation after training is an "eval" row
    with "after_training": true, so the diagnosis rules see only the evaluations that chose it.
    Written as training goes, so a crashed run keeps its history.
    """

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[dict[str, Any]] = []
        self.after_training = False

    def _write(self, row: dict[str, Any], state: TrainerState) -> None:
        self.rows.append(row)
        if state.is_world_process_zero:
            with self.path.open("a") as handle:
                handle.write(json.dumps(row) + "\n")

    def on_train_begin(self, args, state, control, optimizer=None, **kwargs):
        # Once per run: a resumed run keeps the row its first start wrote.
        if optimizer is not None and state.global_step == 0:
            names = [group.get("name") for group in optimizer.param_groups]
            self._write(
                {"kind": "groups", "step": 0, "names": names, "time": round(time.time(), 3)}, state
            )

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        # Called after optimizer.step() and before the scheduler moves: these LRs were used.
        lrs = [group["lr"] for group in optimizer.param_groups]
        self._write(
            {
                "kind": "step",
                "step": state.global_step + 1,
                "lr": lrs,
                "time": round(time.time(), 3),
            },
            state,
        )

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = dict(logs or {})
        if any(k.startswith("eval_") for k in logs):
            kind = "eval"
        elif any(k.startswith("train_sample_") for k in logs):
            kind = "train_sample"  # the overfitting watch's fixed training sample
        elif "loss" in logs:
            kind = "train"
        else:
            return  # the end-of-training summary; metrics.json holds it
        row = {"kind": kind, "step": state.global_step, "epoch": state.epoch, **logs}
        if kind == "eval":  # benchmarks/time_to_accuracy.py reads when a target was reached
            row["time"] = round(time.time(), 3)
            if self.after_training:
                row["after_training"] = True
        self._write(row, state)

    def on_train_end(self, args, state, control, **kwargs):
        self.after_training = True


class PretrainHistory(HistoryCallback):
    """History rows with perplexity (exp of the loss) beside each masked-LM loss."""

    def __init__(self, path: Path, perplexity: bool):
        super().__init__(path)
        self.perplexity = perplexity

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.perplexity and logs is not None and "eval_loss" in logs:
            logs["eval_perplexity"] = perplexity(logs["eval_loss"])
        return super().on_log(args, state, control, logs=logs, **kwargs)


def perplexity(loss: float) -> float:
    return math.exp(min(loss, 50.0))  # capped: a diverged run reports a huge number, not inf
