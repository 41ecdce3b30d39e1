"""`ftk train`, top to bottom: config -> data -> task -> trainer -> artifacts.

Every stage is one call with a typed value in between; read `train` to follow a whole run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from datasets import DatasetDict
from transformers import TrainerCallback, set_seed
from toolkit.advice.data_size import class_counts, count_parameters, data_size_advice, report_advice
from toolkit.core.run_files import BASELINE_FILE, HISTORY, read_history
from toolkit.outputs.run_dir import check_output_dir_free, prepare_output_dir, remove_checkpoints, write_run_files
from toolkit.advice.baselines.fit import start_baselines_for_run, write_baselines
from toolkit.config.schema import RunConfig
from toolkit.data.load import LoadedData, load_data
from toolkit.core.distributed import on_main_then_everywhere, wait_for_everyone
from toolkit.core.errors import UserError
from toolkit.outputs.hub import authenticated_api, push_run
from toolkit.core.log import WARNINGS, is_main_process, reset_warnings, say
from toolkit.metrics.classification import classification_metrics
from toolkit.outputs.model_card import write_model_card
from toolkit.advice.overfitting import OverfittingWatch, summarize, training_sample
from toolkit.outputs.report import data_summary, write_report
from toolkit.training.resume import checkpoint_step, last_checkpoint, train_loss_over_run, truncate_history
from toolkit.training.schedule_report import group_multipliers, report_schedule, schedule_summary
from toolkit.tasks import get_task
from toolkit.training.history import HistoryCallback
from toolkit.training.trainer import build_trainer
from toolkit.training.arguments import build_training_arguments
from toolkit.advice.verdict import verdict_for_run
from toolkit.outputs.console import describe_results
from toolkit.outputs.model_card import report_card_section
from toolkit.training.scoring import final_metrics, peak_rss_mb


def train(config: RunConfig, overwrite: bool = False, resume: bool = False,
          callbacks: Sequence[TrainerCallback] = ()) -> Path:
    """Fine-tune as `config` says; returns the run directory.

    `resume`: continue the killed run in output_dir from its last complete checkpoint.
    `callbacks`: extra TrainerCallbacks, for library use (benchmarks/overhead.py times steps
    with one).
    """
    started = time.perf_counter()
    output_dir = Path(config.training["output_dir"])
    checkpoint = resume_point(output_dir, overwrite) if resume else None
    if checkpoint is None:
        check_output_dir_free(output_dir, overwrite)
    reset_warnings()
    task = get_task(config.task)
    compute_metrics = classification_metrics(config.metrics)  # fails fast on a bad metric name
    task_defaults = task.training_defaults(config) if hasattr(task, "training_defaults") else {}
    args = build_training_arguments(config, task_defaults)
    push_to = config.training.get("hub_model_id") if config.training.get("push_to_hub") else None
    if push_to:  # a missing or rejected token fails now, not after training
        on_main_then_everywhere(lambda: authenticated_api(push_to))

    columns = task.input_columns(config)
    with args.main_process_first(desc="data preparation"):  # the others reuse its datasets cache
        data = load_data(config.data, columns, seed=split_seed(config))
        say(describe_data(data))
        processor = task.load_processor(config)
        splits = task.prepare(data.splits, processor, config)
    # Cheap models on the same splits, fitted by the main process alone: before training, or
    # beside it when the model trains on a GPU.
    collect_baselines = start_baselines_for_run(config, data, output_dir,
                                                on_gpu=args.device.type == "cuda")
    set_seed(args.seed)  # the new head's initial weights must not depend on what ran before
    model = task.load_model(config, data.label_names)
    advice = data_size_advice(class_counts(data.splits["train"][data.label_column],
                                           data.label_names), count_parameters(model))
    report_advice(advice)
    schedule = schedule_summary(config, args, len(splits["train"]))
    report_schedule(schedule, group_multipliers(config, model))  # no findable layers: fails here
    say(f"Processes: {args.world_size} (device {args.device}, {args.parallel_mode.value})")

    if args.should_save:
        if checkpoint is None:
            prepare_output_dir(output_dir, overwrite)
        else:
            truncate_history(output_dir / HISTORY, checkpoint_step(checkpoint))
    wait_for_everyone()  # nobody trains into a run directory that is still being (re)made
    history = HistoryCallback(output_dir / HISTORY)
    trainer = build_trainer(config, model, args, splits, processor, task.collator(processor),
                            compute_metrics, history)
    sample = unaugmented_training_sample(task, data, processor, config, args.seed)
    watch = OverfittingWatch(sample, config.overfitting.patience).attach(trainer)
    for callback in callbacks:
        trainer.add_callback(callback)
    train_output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    baselines = collect_baselines()
    if baselines and args.should_save:
        write_baselines(output_dir / BASELINE_FILE, baselines)

    metrics = final_metrics(trainer, splits, data, train_output.metrics)
    metrics.update(data.report)  # e.g. skipped_images
    if checkpoint is not None:  # the Trainer's train_loss covers only this session's steps
        whole = train_loss_over_run(read_history(output_dir / HISTORY), trainer.state.global_step)
        metrics["train_loss"] = whole if whole is not None else metrics["train_loss"]
    metrics["total_wall_time_s"] = round(time.perf_counter() - started, 1)
    metrics["peak_rss_mb"] = peak_rss_mb()
    metrics["overfitting"] = summarize(read_history(output_dir / HISTORY) if is_main_process()
                                       else history.rows,
                                       args.metric_for_best_model.removeprefix("eval_"),
                                       args.greater_is_better, watch.warning)
    metrics["data_size"] = advice
    metrics["verdict"] = verdict_for_run(baselines, metrics, config.metrics[0]) \
        if baselines else None
    metrics["warnings"] = list(WARNINGS)
    trainer.save_model(str(output_dir))  # on every process: FSDP/DeepSpeed gather the weights

    def finish() -> None:
        (output_dir / "training_args.bin").unlink(missing_ok=True)  # pickled; run_config.yaml replaces it
        write_run_files(output_dir, config, metrics)
        write_report(output_dir, title=output_dir.name,
                     summary=data_summary(data, columns, splits, config.data.max_length),
                     advice=advice, schedule="\n".join(schedule.lines()), metrics=metrics,
                     baselines=baselines, history=read_history(output_dir / HISTORY),
                     label_names=data.label_names, metric_names=config.metrics,
                     warnings=list(WARNINGS))
        write_model_card(output_dir / "README.md", config, task.pipeline_tag, metrics,
                         data.label_names, model_name=output_dir.name,
                         extra_sections=[report_card_section(metrics)])
        remove_checkpoints(output_dir)
        say(describe_results(metrics, config.metrics, output_dir))
        if push_to:
            push_run(output_dir, push_to, private=bool(config.training.get("hub_private_repo")))

    # The main process writes (and pushes); the others wait, and exit with its error if any.
    on_main_then_everywhere(finish)
    return output_dir


def unaugmented_training_sample(task: Any, data: LoadedData, processor: Any, config: RunConfig,
                                seed: int) -> Any:
    """The overfitting watch's fixed training examples, prepared the way validation is: never
    augmented, so their scores compare with the validation scores."""
    raw = training_sample(data.splits["train"], config.overfitting.train_sample_size, seed)
    if raw is None:
        return None
    return task.prepare(DatasetDict({"validation": raw}), processor, config)["validation"]


def resume_point(output_dir: Path, overwrite: bool) -> Path:
    if overwrite:
        raise UserError("--resume continues the run in output_dir and --overwrite deletes it; "
                        "pass only one of them.")
    checkpoint = last_checkpoint(output_dir)
    say(f"Resuming from {checkpoint} (step {checkpoint_step(checkpoint)})")
    return checkpoint


def split_seed(config: RunConfig) -> int:
    """The hold-out seed: data.split_seed when set, so the training seed can vary alone."""
    seed = config.data.split_seed
    return seed if seed is not None else config.training["seed"]


def describe_data(data: LoadedData) -> str:
    sizes = ", ".join(f"{split} {len(ds):,}" for split, ds in data.splits.items())
    return f"Data: {sizes} examples; {len(data.label_names)} classes: " \
           f"{', '.join(data.label_names)}"
