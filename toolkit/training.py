"""The Trainer the toolkit runs: transformers.Trainer with the toolkit's schedule and callbacks."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from transformers import (EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments)

from toolkit.config import RunConfig
from toolkit.errors import UserError
from toolkit.schedules import lr_factor


def build_training_arguments(config: RunConfig) -> TrainingArguments:
    kwargs = dict(config.training)
    best_metric = config.metrics[0]
    kwargs.setdefault("metric_for_best_model", best_metric)
    kwargs.setdefault("greater_is_better", "loss" not in kwargs["metric_for_best_model"])
    # Pinned memory only helps copies to a GPU; on CPU-only machines torch warns every epoch.
    kwargs.setdefault("dataloader_pin_memory", torch.cuda.is_available())
    try:
        return TrainingArguments(**kwargs)
    except (ValueError, TypeError) as exc:
        raise UserError(f"The training settings were rejected by transformers.TrainingArguments: "
                        f"{exc}") from None


def steps_per_epoch(num_examples: int, args: TrainingArguments) -> int:
    """Optimizer updates per epoch, computed the way Trainer counts them."""
    batches = num_examples / (args.per_device_train_batch_size * max(1, args.world_size))
    batches = math.floor(batches) if args.dataloader_drop_last else math.ceil(batches)
    return max(1, math.ceil(batches / args.gradient_accumulation_steps))


def total_steps(num_examples: int, args: TrainingArguments) -> int:
    if args.max_steps > 0:
        return args.max_steps
    return math.ceil(args.num_train_epochs * steps_per_epoch(num_examples, args))


class ToolkitTrainer(Trainer):
    """A Trainer whose LR follows the toolkit's schedule (a LambdaLR, restored by checkpoints)."""

    def __init__(self, *args: Any, run_config: RunConfig, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.run_config = run_config

    def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
        if self.lr_scheduler is None:
            per_epoch = steps_per_epoch(len(self.train_dataset), self.args)
            factor = lr_factor(self.run_config.schedule, num_training_steps, per_epoch)
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer or self.optimizer,
                                                                  factor)
            self._created_lr_scheduler = True
        return self.lr_scheduler


class HistoryCallback(TrainerCallback):
    """Appends one JSON line per optimizer step (LR actually used, per group) and per log/eval.

    Rows: {"kind": "step", "step", "lr": [...], "time": unix seconds} for every update;
    {"kind": "train", "step", "loss", ...} at each logging step; {"kind": "eval", ...} after
    each evaluation. Written as training goes, so a crashed run keeps its history.
    """

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[dict[str, Any]] = []

    def _write(self, row: dict[str, Any], state: Any) -> None:
        self.rows.append(row)
        if state.is_world_process_zero:
            with self.path.open("a") as handle:
                handle.write(json.dumps(row) + "\n")

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        # Called after optimizer.step() and before the scheduler moves: these LRs were used.
        lrs = [group["lr"] for group in optimizer.param_groups]
        self._write({"kind": "step", "step": state.global_step + 1, "lr": lrs,
                     "time": round(time.time(), 3)}, state)

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = dict(logs or {})
        if any(k.startswith("eval_") for k in logs):
            kind = "eval"
        elif "loss" in logs:
            kind = "train"
        else:
            return  # the end-of-training summary; metrics.json holds it
        self._write({"kind": kind, "step": state.global_step, "epoch": state.epoch, **logs}, state)


def build_trainer(config: RunConfig, model: Any, args: TrainingArguments, splits: Any,
                  processor: Any, collator: Any, compute_metrics: Any,
                  history: HistoryCallback) -> ToolkitTrainer:
    callbacks: list[TrainerCallback] = [history]
    patience = config.early_stopping.patience
    if patience is not None:
        if not args.load_best_model_at_end:
            raise UserError("early_stopping.patience needs load_best_model_at_end: true (the "
                            "default); set early_stopping.patience: null to turn it off.")
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=patience,
                                               early_stopping_threshold=config.early_stopping.threshold))
    return ToolkitTrainer(
        model=model,
        args=args,
        train_dataset=splits["train"],
        eval_dataset=splits["validation"],
        processing_class=processor,
        data_collator=collator,
        compute_metrics=compute_metrics,
        callbacks=callbacks,
        run_config=config,
    )
