"""The Trainer the toolkit runs: transformers.Trainer with the toolkit's schedule and callbacks."""

from __future__ import annotations

import json
from collections.abc import Callable, Sized
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets
import torch
from torch import nn
from transformers import (
    BaseImageProcessor,
    DataCollator,
    EvalPrediction,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainerCallback,
    TrainerState,
    TrainingArguments,
)

from toolkit.augment.epoch import TransformEpochCallback, epoch_aware_transform
from toolkit.config.schema import EarlyStoppingConfig, ScheduleConfig
from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.training.arguments import steps_per_epoch
from toolkit.training.best_epoch import EarlyStoppingOnBest, wins_a_tie
from toolkit.training.history import HistoryCallback
from toolkit.training.param_groups import build_param_groups, uses_param_groups
from toolkit.training.resume import LOSS_SUM_FILE
from toolkit.training.resume_batch import Launch, write_launch
from toolkit.training.schedules import lr_factor
from toolkit.training.soft_targets import is_soft, smoothed, soft_target_cross_entropy
from toolkit.training.stream_passes import endless_loader

if TYPE_CHECKING:
    import optuna
    from peft import PeftModel
    from torch.utils.data import DataLoader, Dataset

MULTI_LABEL = "multi_label_classification"  # the config.json problem_type of a multi-label head


class ToolkitTrainer(Trainer):
    """A Trainer whose LR follows the toolkit's schedule (a LambdaLR, restored by checkpoints)."""

    def __init__(
        self,
        *args: Any,
        schedule: ScheduleConfig,
        class_weights: torch.Tensor | None = None,
        train_collator: DataCollator | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.schedule = schedule
        self.class_weights = class_weights  # per class id, in the cross-entropy (or None)
        # The training batches' collator when it is not `data_collator` (image MixUp/CutMix);
        # evaluation, prediction and the overfitting watch always get `data_collator`.
        self.train_collator = train_collator
        # Classification heads return the batch-mean loss and ignore `num_items_in_batch`. Left
        # True (the model's forward takes **kwargs), transformers 5 treats that loss as a sum
        # over items: under DDP it multiplies it by the world size (logged loss and gradients
        # N times too large) and it skips the division by gradient_accumulation_steps. False
        # gives the mean over the global batch, as one process with the same batch would.
        self.model_accepts_loss_kwargs = False
        # Training losses summed over the steps before this session (a resumed run sets it
        # from its checkpoint), so every checkpoint carries the sum over all steps so far.
        self.loss_sum_before = 0.0
        self.resumed_with_loss_sum = False
        self.resumed_at_step = 0  # the step of the checkpoint a resumed run started from

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, torch.Tensor | Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        """The model's own loss; with class weights the weighted cross-entropy (the model's
        head has no weight argument, so the logits are scored here); with soft labels (a mixed
        batch) the cross-entropy against them (training/soft_targets.py: the model's head
        would take float labels for multi-label ones), class weights and label smoothing
        applied to it."""
        labels = inputs.get("labels")
        # A multi-label head's multi-hot targets are float too, but not soft labels: the head's
        # own BCE scores them, or with class weights the BCE with per-label pos_weight below.
        assert self.model is not None  # Trainer.__init__ sets it
        multi_label = getattr(self.model.config, "problem_type", None) == MULTI_LABEL
        soft = labels is not None and is_soft(labels) and not multi_label
        if labels is None or (self.class_weights is None and not soft):
            return super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
        outputs = model(**{k: v for k, v in inputs.items() if k != "labels"})
        logits = outputs["logits"]
        if soft:  # never multi-label
            targets = smoothed(labels, self.args.label_smoothing_factor)
            loss = soft_target_cross_entropy(logits, targets, self.class_weights)
        else:
            assert self.class_weights is not None  # hard labels got here for their weights
            weight = self.class_weights.to(device=logits.device, dtype=logits.dtype)
            if multi_label:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    logits, labels.to(logits.dtype), pos_weight=weight
                )
            else:
                loss = torch.nn.functional.cross_entropy(logits, labels, weight=weight)
        return (loss, outputs) if return_outputs else loss

    def _determine_best_metric(
        self, metrics: dict[str, float], trial: optuna.Trial | dict[str, Any] | None
    ) -> bool:
        """transformers' choice, and a tie on the selection metric won by a lower validation
        loss (training/best_epoch.py)."""
        if super()._determine_best_metric(metrics, trial):
            return True
        if not wins_a_tie(self.state, self.args, metrics):
            return False
        self.state.best_global_step = self.state.global_step
        return True

    def get_train_dataloader(self) -> DataLoader:
        """The Trainer's training DataLoader, with `train_collator` when there is one; for a
        stream (data.streaming), this process's share read pass after pass (stream_passes.py)."""
        if self.train_collator is None:
            return self.training_loader()
        shared, self.data_collator = self.data_collator, self.train_collator
        try:
            return self.training_loader()
        finally:
            self.data_collator = shared

    def training_loader(self) -> DataLoader:
        stream = self.train_dataset
        if not isinstance(stream, datasets.IterableDataset):
            return super().get_train_dataloader()
        args = self.args
        options = {
            "num_workers": args.dataloader_num_workers,
            "pin_memory": args.dataloader_pin_memory,
            "persistent_workers": args.dataloader_persistent_workers,
            "prefetch_factor": args.dataloader_prefetch_factor,
        }
        collate = self._get_collator_with_removed_columns(self.data_collator, "training")
        return endless_loader(
            stream,
            self._train_batch_size,
            collate,
            options,
            args.device,
            non_blocking=self.accelerator.non_blocking,
        )

    def get_resumed_dataloader(self, dataloader: DataLoader, num_batches: int) -> DataLoader:
        if isinstance(self.train_dataset, datasets.IterableDataset):
            rows = num_batches * self._train_batch_size * self.args.world_size
            say(
                f"Resuming a streamed run: reading again and skipping the {rows:,} training "
                f"rows trained on before the checkpoint ({num_batches:,} batches on each "
                f"process), so the stream goes on where it stopped, in the same order; this "
                f"takes time in proportion to the rows skipped."
            )
        return super().get_resumed_dataloader(dataloader, num_batches)

    def _run_epoch(self, *args: Any, **kwargs: Any) -> None:
        """One pass over the training data; none when the run resumes from a checkpoint saved
        after its last step (early stopping had fired, or max_steps was reached, and the kill
        came before the run's end was written). transformers clears the saved stop when
        training begins and would train one more epoch (or step) before it stops again, so the
        resumed run would end unlike the uninterrupted one."""
        first_resumed = kwargs.get("resume_from_checkpoint") is not None and kwargs.get(
            "epoch"
        ) == kwargs.get("epochs_trained")
        if first_resumed and stopped_when_saved(self.state):
            self.control.should_training_stop = True
            return None
        return super()._run_epoch(*args, **kwargs)

    def _save_checkpoint(
        self, model: nn.Module, trial: optuna.Trial | dict[str, Any] | None
    ) -> None:
        super()._save_checkpoint(model, trial)
        folder = Path(self._get_output_dir(trial)) / f"checkpoint-{self.state.global_step}"
        if self.args.should_save and folder.is_dir():
            # The Trainer keeps the session's losses in _total_loss_scalar (drained at each log)
            # plus _tr_loss (since the last log); nothing of it is in trainer_state.json.
            session = self._total_loss_scalar + float(self._tr_loss.item())
            row = {"step": self.state.global_step, "loss_sum": self.loss_sum_before + session}
            (folder / LOSS_SUM_FILE).write_text(json.dumps(row) + "\n")
            # a resume on another number of processes must keep this global batch
            launch = Launch(
                self.args.world_size,
                self._train_batch_size,
                self.args.gradient_accumulation_steps,
            )
            write_launch(folder, launch)

    def get_eval_dataloader(self, eval_dataset: str | Dataset | None = None) -> DataLoader:
        # With persistent DataLoader workers, transformers caches one "eval" DataLoader and hands
        # it back for ANY dataset passed later (the overfitting watch's training sample got the
        # validation scores). The validation split keeps the cached loader; others get their own
        # from get_test_dataloader, which builds the same sequential loader and caches nothing.
        if (
            eval_dataset is None
            or isinstance(eval_dataset, str)
            or eval_dataset is self.eval_dataset
        ):
            return super().get_eval_dataloader(eval_dataset)
        return self.get_test_dataloader(eval_dataset)

    def create_scheduler(
        self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None
    ) -> torch.optim.lr_scheduler.LRScheduler:
        if self.lr_scheduler is None:
            # `auto_find_batch_size` halves the batch after an out-of-memory error and starts
            # again, creating the schedule anew: count the epoch in the batch it now runs.
            per_device = self._train_batch_size // max(1, self.args.n_gpu)
            if per_device != self.args.per_device_train_batch_size:
                say(
                    f"auto_find_batch_size: a batch of {self.args.per_device_train_batch_size} "
                    f"ran out of memory; training with {per_device} per device, "
                    f"{num_training_steps} optimizer steps on the same schedule"
                )
            if isinstance(self.train_dataset, Sized):  # a datasets.Dataset
                rows = len(self.train_dataset)
                per_epoch = steps_per_epoch(rows, self.args, batch_size=per_device)
            else:  # a stream (data.streaming) has no epochs: the run is one pass of max_steps
                per_epoch = num_training_steps
            factor = lr_factor(self.schedule, num_training_steps, per_epoch)
            optimizer = optimizer or self.optimizer
            assert optimizer is not None  # create_optimizer ran first
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
            self._created_lr_scheduler = True
        return self.lr_scheduler

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        """The Trainer's optimizer, over named per-layer groups when layer decay is asked for."""
        schedule = self.schedule
        if self.optimizer is not None or not uses_param_groups(schedule):
            return super().create_optimizer(model)
        opt_model = self.model if model is None else model
        assert opt_model is not None  # Trainer.__init__ sets self.model
        groups = build_param_groups(
            opt_model,
            schedule,
            self.args.learning_rate,
            self.args.weight_decay,
            set(self.get_decay_parameter_names(opt_model)),
        )
        # transformers annotates the model PreTrainedModel; its own create_optimizer passes
        # whatever module it trains, as here
        optimizer_cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)  # type: ignore[arg-type]
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
        model = self.model
        if (
            self.is_deepspeed_enabled
            or self.is_fsdp_enabled
            or not isinstance(model, PreTrainedModel)  # a PeftModel saves adapter files instead
            or not (checkpoint / "model.safetensors").is_file()
        ):
            return super()._load_best_model()
        best = type(model).from_pretrained(checkpoint, config=model.config)
        model.load_state_dict(best.state_dict(), strict=True)


def stopped_when_saved(state: TrainerState) -> bool:
    """The checkpoint `state` was loaded from was saved with training told to stop."""
    callbacks = state.stateful_callbacks
    control: dict[str, Any] = (
        callbacks.get("TrainerControl") if isinstance(callbacks, dict) else None
    ) or {}
    return bool((control.get("args") or {}).get("should_training_stop"))  # its flags: args


def build_trainer(
    schedule: ScheduleConfig,
    early_stopping: EarlyStoppingConfig,
    model: PreTrainedModel | PeftModel,
    args: TrainingArguments,
    splits: datasets.DatasetDict,
    processor: PreTrainedTokenizerBase | BaseImageProcessor,
    collator: DataCollator,
    compute_metrics: Callable[[EvalPrediction], dict[str, float]] | None,
    history: HistoryCallback,
    class_weights: torch.Tensor | None = None,
    train_collator: DataCollator | None = None,
) -> ToolkitTrainer:
    callbacks: list[TrainerCallback] = [history]
    transform = epoch_aware_transform(splits["train"])
    if transform is not None:  # lazy augmentation: new variants every epoch
        callbacks.append(TransformEpochCallback(transform))
    patience = early_stopping.patience
    if patience is not None:
        if not args.load_best_model_at_end:
            raise UserError(
                "early_stopping.patience needs load_best_model_at_end: true (the "
                "default); set early_stopping.patience: null to turn it off."
            )
        callbacks.append(
            EarlyStoppingOnBest(
                early_stopping_patience=patience, early_stopping_threshold=early_stopping.threshold
            )
        )
    return ToolkitTrainer(
        model=model,
        args=args,
        train_dataset=splits["train"],
        eval_dataset=splits["validation"],
        processing_class=processor,
        data_collator=collator,
        compute_metrics=compute_metrics,
        callbacks=callbacks,
        schedule=schedule,
        class_weights=class_weights,
        train_collator=train_collator,
    )
