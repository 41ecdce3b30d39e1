"""The Trainer the toolkit runs: transformers.Trainer with the toolkit's schedule and callbacks."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import torch
from transformers import (EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments)

from toolkit.augment.epoch import TransformEpochCallback, epoch_aware_transform
from toolkit.config import RunConfig
from toolkit.distributed import check_mixed_precision
from toolkit.errors import UserError
from toolkit.param_groups import build_param_groups, uses_param_groups
from toolkit.schedules import lr_factor


def build_training_arguments(config: RunConfig,
                             task_defaults: dict[str, Any] | None = None) -> TrainingArguments:
    """TrainingArguments from the config; `task_defaults` fill keys the config leaves out."""
    kwargs = {**(task_defaults or {}), **config.training}
    best_metric = config.metrics[0]
    kwargs.setdefault("metric_for_best_model", best_metric)
    kwargs.setdefault("greater_is_better", "loss" not in kwargs["metric_for_best_model"])
    # Pinned memory only helps copies to a GPU; on CPU-only machines torch warns every epoch.
    kwargs.setdefault("dataloader_pin_memory", torch.cuda.is_available())
    if kwargs["dataloader_pin_memory"]:
        kwargs["accelerator_config"] = with_non_blocking_copies(kwargs.get("accelerator_config"))
    # The Trainer's NaN/inf filter reads every step's loss on the host (one GPU sync per step,
    # stalling the queue of kernels) only to hide bad losses from the log; off, a NaN shows.
    kwargs.setdefault("logging_nan_inf_filter", False)
    # A resumed run continues with the early-stopping counter its checkpoint saved.
    kwargs.setdefault("restore_callback_states_from_checkpoint", True)
    # The toolkit pushes the finished run directory itself (toolkit/hub.py); the Trainer's own
    # push would upload checkpoints mid-run and a card without the toolkit's metadata.
    kwargs["push_to_hub"] = False
    check_mixed_precision(kwargs)
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        # ddp_backend only matters across processes; transformers 5 fails on it in a single
        # process ("Default process group has not been initialized"), so one recipe serves both.
        kwargs.pop("ddp_backend", None)
    if config.augment.text:
        # The lazy train transform reads the raw text columns, which the Trainer would drop.
        kwargs["remove_unused_columns"] = False
    try:
        return TrainingArguments(**kwargs)
    except (ValueError, TypeError) as exc:
        raise UserError(f"The training settings were rejected by transformers.TrainingArguments: "
                        f"{exc}") from None


def with_non_blocking_copies(accelerator_config: Any) -> Any:
    """accelerator_config with non_blocking on, unless the config set it (or names a file).

    By default accelerate copies each pinned batch to the GPU with a blocking copy, which waits
    for the GPU to finish the previous step; the host then collates the next batch and runs the
    Trainer's per-step code while the GPU idles. Measured on an H100 (BERT-base, fp32, batch
    32): 469 samples/s blocking, 540 non-blocking, 545 for a hand-written loop (BENCHMARKS.md).
    """
    if accelerator_config is None:
        return {"non_blocking": True}
    if isinstance(accelerator_config, dict):
        return {"non_blocking": True, **accelerator_config}
    return accelerator_config  # a JSON file or an AcceleratorConfig: the user's choice stands


def steps_per_epoch(num_examples: int, args: TrainingArguments,
                    world_size: int | None = None) -> int:
    """Optimizer updates per epoch, computed the way Trainer counts them.

    `world_size` (processes) defaults to the one `args` runs under; `ftk schedule` passes the
    one a launch would use.
    """
    processes = world_size or args.world_size
    batches = num_examples / (args.per_device_train_batch_size * max(1, processes))
    batches = math.floor(batches) if args.dataloader_drop_last else math.ceil(batches)
    return max(1, math.ceil(batches / args.gradient_accumulation_steps))


def total_steps(num_examples: int, args: TrainingArguments, world_size: int | None = None) -> int:
    if args.max_steps > 0:
        return args.max_steps
    return math.ceil(args.num_train_epochs * steps_per_epoch(num_examples, args, world_size))


class ToolkitTrainer(Trainer):
    """A Trainer whose LR follows the toolkit's schedule (a LambdaLR, restored by checkpoints)."""

    def __init__(self, *args: Any, run_config: RunConfig, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.run_config = run_config
        # Classification heads return the batch-mean loss and ignore `num_items_in_batch`. Left
        # True (the model's forward takes **kwargs), transformers 5 treats that loss as a sum
        # over items: under DDP it multiplies it by the world size (logged loss and gradients
        # N times too large) and it skips the division by gradient_accumulation_steps. False
        # gives the mean over the global batch, as one process with the same batch would.
        self.model_accepts_loss_kwargs = False

    def get_eval_dataloader(self, eval_dataset: Any = None) -> Any:
        # With persistent DataLoader workers, transformers caches one "eval" DataLoader and hands
        # it back for ANY dataset passed later (the overfitting watch's training sample got the
        # validation scores). The validation split keeps the cached loader; others get their own
        # from get_test_dataloader, which builds the same sequential loader and caches nothing.
        if eval_dataset is None or isinstance(eval_dataset, str) or \
                eval_dataset is self.eval_dataset:
            return super().get_eval_dataloader(eval_dataset)
        return self.get_test_dataloader(eval_dataset)

    def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
        if self.lr_scheduler is None:
            per_epoch = steps_per_epoch(len(self.train_dataset), self.args)
            factor = lr_factor(self.run_config.schedule, num_training_steps, per_epoch)
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer or self.optimizer,
                                                                  factor)
            self._created_lr_scheduler = True
        return self.lr_scheduler

    def create_optimizer(self, model: Any = None) -> Any:
        """The Trainer's optimizer, over named per-layer groups when layer decay is asked for."""
        schedule = self.run_config.schedule
        if self.optimizer is not None or not uses_param_groups(schedule):
            return super().create_optimizer(model)
        opt_model = self.model if model is None else model
        groups = build_param_groups(opt_model, schedule, self.args.learning_rate,
                                    self.args.weight_decay,
                                    set(self.get_decay_parameter_names(opt_model)))
        optimizer_cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
        self.optimizer = optimizer_cls(groups, **kwargs)
        return self.optimizer

    def _load_best_model(self) -> None:
        """Load the best checkpoint through from_pretrained, which renames saved keys.

        transformers 5 models such as ViT name their tensors differently in memory
        (`vit.layers.0.attention.q_proj`) than on disk (`vit.encoder.layer.0.attention.attention
        .query`); Trainer's own loader copies the file's tensors by name, so every encoder
        tensor is reported "unexpected" and silently stays at the last epoch's values.
        """
        checkpoint = Path(self.state.best_model_checkpoint or "")
        plain = not (self.is_deepspeed_enabled or self.is_fsdp_enabled) and \
            hasattr(self.model, "from_pretrained") and (checkpoint / "model.safetensors").is_file()
        if not plain:
            return super()._load_best_model()
        best = type(self.model).from_pretrained(checkpoint, config=self.model.config)
        self.model.load_state_dict(best.state_dict(), strict=True)


class HistoryCallback(TrainerCallback):
    """Appends one JSON line per optimizer step (LR actually used, per group) and per log/eval.

    Rows: {"kind": "groups", "names": [...]} once per training start (names of the optimizer's
    parameter groups, null where unnamed, and "time": unix s of the training start); {"kind":
    "step", "step", "lr": [...], "time": unix s} for every update; {"kind": "train", "step",
    "loss", ...} at each logging step; {"kind": "eval", ..., "time"} after
    each evaluation, and {"kind": "train_sample", ...} (the overfitting watch's scores of a fixed
    training sample) beside it. Written as training goes, so a crashed run keeps its history.
    """

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[dict[str, Any]] = []

    def _write(self, row: dict[str, Any], state: Any) -> None:
        self.rows.append(row)
        if state.is_world_process_zero:
            with self.path.open("a") as handle:
                handle.write(json.dumps(row) + "\n")

    def on_train_begin(self, args, state, control, optimizer=None, **kwargs):
        # Once per run: a resumed run keeps the row its first start wrote.
        if optimizer is not None and state.global_step == 0:
            names = [group.get("name") for group in optimizer.param_groups]
            self._write({"kind": "groups", "step": 0, "names": names,
                         "time": round(time.time(), 3)}, state)

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        # Called after optimizer.step() and before the scheduler moves: these LRs were used.
        lrs = [group["lr"] for group in optimizer.param_groups]
        self._write({"kind": "step", "step": state.global_step + 1, "lr": lrs,
                     "time": round(time.time(), 3)}, state)

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
        self._write(row, state)


def build_trainer(config: RunConfig, model: Any, args: TrainingArguments, splits: Any,
                  processor: Any, collator: Any, compute_metrics: Any,
                  history: HistoryCallback) -> ToolkitTrainer:
    callbacks: list[TrainerCallback] = [history]
    transform = epoch_aware_transform(splits["train"])
    if transform is not None:  # lazy augmentation: new variants every epoch
        callbacks.append(TransformEpochCallback(transform))
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
