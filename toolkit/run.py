"""`ftk train`, top to bottom: config -> data -> task -> trainer -> artifacts.

Every stage is one call with a typed value in between; read `train` to follow a whole run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from transformers import set_seed

from toolkit.artifacts import (HISTORY, check_output_dir_free, prepare_output_dir,
                               remove_checkpoints, write_run_files)
from toolkit.config import RunConfig
from toolkit.data import LoadedData, load_data
from toolkit.log import say
from toolkit.metrics import classification_metrics, per_class_report
from toolkit.modelcard import write_model_card
from toolkit.tasks import get_task
from toolkit.training import (HistoryCallback, build_trainer, build_training_arguments,
                              steps_per_epoch, total_steps)


def train(config: RunConfig, overwrite: bool = False) -> Path:
    """Fine-tune as `config` says; returns the run directory."""
    started = time.perf_counter()
    output_dir = Path(config.training["output_dir"])
    check_output_dir_free(output_dir, overwrite)
    task = get_task(config.task)
    compute_metrics = classification_metrics(config.metrics)  # fails fast on a bad metric name
    args = build_training_arguments(config)

    data = load_data(config.data, task.input_columns(config), seed=split_seed(config))
    say(describe_data(data))
    processor = task.load_processor(config)
    splits = task.prepare(data.splits, processor, config)
    set_seed(args.seed)  # the new head's initial weights must not depend on what ran before
    model = task.load_model(config, data.label_names)
    say(describe_schedule(config, args, len(splits["train"])))

    if args.should_save:
        prepare_output_dir(output_dir, overwrite)
    history = HistoryCallback(output_dir / HISTORY)
    trainer = build_trainer(config, model, args, splits, processor, task.collator(processor),
                            compute_metrics, history)
    train_output = trainer.train()

    metrics = final_metrics(trainer, splits, data, train_output.metrics)
    metrics["total_wall_time_s"] = round(time.perf_counter() - started, 1)
    if trainer.is_world_process_zero():
        trainer.save_model(str(output_dir))
        (output_dir / "training_args.bin").unlink(missing_ok=True)  # pickled; run_config.yaml replaces it
        write_run_files(output_dir, config, metrics)
        write_model_card(output_dir / "README.md", config, task.pipeline_tag, metrics,
                         data.label_names, model_name=output_dir.name)
        remove_checkpoints(output_dir)
        say(describe_results(metrics, config.metrics, output_dir))
    return output_dir


def split_seed(config: RunConfig) -> int:
    """The hold-out seed: data.split_seed when set, so the training seed can vary alone."""
    seed = config.data.split_seed
    return seed if seed is not None else config.training["seed"]


def final_metrics(trainer: Any, splits: Any, data: LoadedData,
                  train_metrics: dict[str, float]) -> dict[str, Any]:
    """Validation metrics of the kept (best) model, then the one look at the test split."""
    metrics: dict[str, Any] = {k: v for k, v in train_metrics.items()}
    metrics.update(trainer.evaluate())
    metrics["best_checkpoint_step"] = best_step(trainer.state.best_model_checkpoint)
    if "test" in splits:
        prediction = trainer.predict(splits["test"], metric_key_prefix="test")
        metrics.update(prediction.metrics)
        predicted = np.argmax(prediction.predictions, axis=-1)
        metrics["test_per_class"] = per_class_report(prediction.label_ids, predicted,
                                                     data.label_names)
    return metrics


def best_step(checkpoint: str | None) -> int | None:
    return int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else None


# ----------------------------------------------------------------------------- console


def describe_data(data: LoadedData) -> str:
    sizes = ", ".join(f"{split} {len(ds):,}" for split, ds in data.splits.items())
    return f"Data: {sizes} examples; {len(data.label_names)} classes: " \
           f"{', '.join(data.label_names)}"


def describe_schedule(config: RunConfig, args: Any, num_train: int) -> str:
    from toolkit.schedules import warmup_steps

    per_epoch = steps_per_epoch(num_train, args)
    steps = total_steps(num_train, args)
    warmup = warmup_steps(config.schedule, steps, per_epoch)
    return (f"Schedule: {steps} optimizer steps ({per_epoch} per epoch); warm-up {warmup} steps "
            f"({100 * warmup / max(1, steps):.1f}%, {warmup / per_epoch:.2f} epochs) to peak LR "
            f"{args.learning_rate:g}, then {config.schedule.decay} decay to "
            f"{args.learning_rate * config.schedule.min_lr_ratio:g}")


def describe_results(metrics: dict[str, Any], names: list[str], output_dir: Path) -> str:
    lines = ["", "Results:"]
    for name in ["loss", *names]:
        cells = [f"{split} {metrics[f'{prefix}_{name}']:.4f}"
                 for split, prefix in (("validation", "eval"), ("test", "test"))
                 if f"{prefix}_{name}" in metrics]
        lines.append(f"  {name:<12} " + "   ".join(cells))
    lines.append(f"  wall time    {metrics['total_wall_time_s']:.0f} s")
    lines.append(f"Run directory: {output_dir}  (model card: {output_dir / 'README.md'})")
    return "\n".join(lines)

