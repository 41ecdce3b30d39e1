"""TrainingArguments from a run config, and the optimizer-step counts the Trainer will take."""

from __future__ import annotations

import math
from typing import Any

import torch
from transformers import TrainingArguments
from transformers.trainer_pt_utils import AcceleratorConfig

from toolkit.config.schema import RunConfig
from toolkit.config.taxonomy import greater_is_better
from toolkit.core.distributed import check_mixed_precision, keep_ddp_timeout
from toolkit.core.errors import UserError
from toolkit.core.launch import (
    check_launch,
    check_processes_joined,
    cpu_processes,
    sharding_on_cpus,
    world_size,
)
from toolkit.core.log import say
from toolkit.training.precision import with_automatic_precision


def build_training_arguments(
    config: RunConfig,
    task_defaults: dict[str, Any] | None = None,
    required: dict[str, Any] | None = None,
) -> TrainingArguments:
    """TrainingArguments from the config; `task_defaults` fill keys the config leaves out,
    `required` (what a command cannot run without) replaces whatever the config says."""
    check_launch()  # a launch that started fewer processes than asked stops before any work
    kwargs = {**(task_defaults or {}), **config.training, **(required or {})}
    for adapted in (cpu_processes(kwargs), sharding_on_cpus(kwargs)):
        if adapted:
            say(adapted)
    best_metric = config.metrics[0]
    kwargs.setdefault("metric_for_best_model", best_metric)
    kwargs.setdefault("greater_is_better", greater_is_better(kwargs["metric_for_best_model"]))
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
    kwargs = with_automatic_precision(kwargs)
    check_mixed_precision(kwargs)
    if world_size() == 1:
        # ddp_backend only matters across processes; transformers 5 fails on it in a single
        # process ("Default process group has not been initialized"), so one recipe serves both.
        kwargs.pop("ddp_backend", None)
    if config.augment.text:
        # The lazy train transform reads the raw text columns, which the Trainer would drop.
        kwargs["remove_unused_columns"] = False
    try:
        args = TrainingArguments(**kwargs)
    except (ValueError, TypeError) as exc:
        raise UserError(
            f"The training settings were rejected by transformers.TrainingArguments: {exc}"
        ) from None
    check_processes_joined(world_size(), args.world_size)
    keep_ddp_timeout(args.ddp_timeout)
    return args


def with_non_blocking_copies(
    accelerator_config: dict[str, Any] | str | AcceleratorConfig | None,
) -> dict[str, Any] | str | AcceleratorConfig:
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


def steps_per_epoch(
    num_examples: int,
    args: TrainingArguments,
    world_size: int | None = None,
    batch_size: int | None = None,
) -> int:
    """Optimizer updates per epoch, computed the way Trainer counts them.

    `world_size` (processes) defaults to the one `args` runs under; `ftk schedule` passes the
    one a launch would use. `batch_size` (per device) defaults to the configured one; the
    Trainer passes the one `auto_find_batch_size` settled on.
    """
    batches = batches_per_epoch(num_examples, args, world_size, batch_size)
    return max(1, math.ceil(batches / args.gradient_accumulation_steps))


def batches_per_epoch(
    num_examples: int,
    args: TrainingArguments,
    world_size: int | None = None,
    batch_size: int | None = None,
) -> int:
    """Batches each process reads per epoch (before gradient accumulation joins them)."""
    processes = world_size or args.world_size
    per_device = batch_size or args.per_device_train_batch_size
    batches = num_examples / (per_device * max(1, processes))
    return math.floor(batches) if args.dataloader_drop_last else math.ceil(batches)


def total_steps(num_examples: int, args: TrainingArguments, world_size: int | None = None) -> int:
    if args.max_steps > 0:
        return args.max_steps
    return math.ceil(args.num_train_epochs * steps_per_epoch(num_examples, args, world_size))
