"""From prepared data to a finished fine-tuning run directory: model, fit, score, diagnosis,
the saved run, then the baselines and their verdict. `ftk train` runs it on its data; `ftk
search` on the chosen trial's values.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from datasets import DatasetDict
from transformers import PreTrainedTokenizerBase, TrainerCallback

from toolkit.advice.baselines.fit import start_baselines_for_run
from toolkit.advice.data_size import (
    DataSizeAdvice,
    count_parameters,
    data_size_advice,
    imbalance_warning,
    o_share_warning,
    report_advice,
)
from toolkit.advice.diagnosis import Diagnosis
from toolkit.advice.overfitting import (
    WATCH_SPLIT,
    OverfittingWatch,
    describe_watch,
    training_sample,
    watch_sample_size,
)
from toolkit.core.columns import column_values
from toolkit.core.distributed import on_main_then_everywhere
from toolkit.core.log import is_main_process, say, warn
from toolkit.metrics.tag_sets import tag_set
from toolkit.model.lora import lora_summary
from toolkit.model.target_scale import target_scale_of
from toolkit.run.assembly import assemble_trainer
from toolkit.run.derived import derived_facts
from toolkit.run.diagnosis import diagnose, with_baselines
from toolkit.run.outputs import write_outputs
from toolkit.run.stages import (
    Plan,
    PreparedData,
    RunResult,
    announce_schedule,
    build_model,
    push_when_asked,
    save_and_finish,
    training_rows,
)
from toolkit.run.tagged_test import word_test_reader
from toolkit.training.divergence import check_not_diverged
from toolkit.training.precision import precision_name
from toolkit.training.resume import (
    LOSS_SUM_FILE,
    checkpoint_step,
    loss_sum_at,
    train_loss_over_run,
)
from toolkit.training.scoring import TestRows, final_metrics, peak_rss_mb
from toolkit.training.trainer import ToolkitTrainer


def fit_and_finish(
    plan: Plan,
    prepared: PreparedData,
    compute_metrics: Any,
    open_dir: Callable[[], None],
    checkpoint: Path | None = None,
    callbacks: Sequence[TrainerCallback] = (),
    started: float | None = None,
) -> RunResult:
    """From prepared data to a finished run directory: baselines, model, fit, score, outputs.
    `open_dir` readies plan.output_dir (`ftk search` trains its chosen trial into the folder
    that already holds its study); `started`: when the command began (total_wall_time_s)."""
    started = time.perf_counter() if started is None else started
    collect_baselines = start_baselines_for_run(
        plan.config, prepared.data, plan.output_dir, on_gpu=plan.args.device.type == "cuda"
    )
    model = build_model(plan, prepared.data)
    data_size = advise_on_data_size(plan, prepared, model)
    schedule = announce_schedule(plan, training_rows(plan, prepared), model)
    trainer, history = assemble_trainer(plan, model, prepared, compute_metrics, open_dir)
    watch = watch_overfitting(trainer, plan, prepared, callbacks)
    resume_loss_sum(trainer, checkpoint)
    fit = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    check_not_diverged(trainer)
    metrics, test_rows = score_run(trainer, plan, prepared, fit.metrics, checkpoint, started)
    diagnosis = diagnose(plan, prepared, history, watch, data_size, metrics)
    limit_to_run_length(prepared.processor, plan.config.data.max_length)
    outputs = partial(write_outputs, plan, prepared, schedule, metrics)
    if plan.config.baseline.enabled:  # the model first: fitting the baselines may run out of memory
        save_and_finish(trainer, plan, lambda: outputs(awaiting_baselines(diagnosis, plan), False))
        baselines = collect_baselines()
        diagnosis = with_baselines(diagnosis, plan, prepared, baselines, metrics, test_rows)
        if baselines is None and is_main_process():  # the others never fit them
            diagnosis.baselines_missing = BASELINES_FAILED.format(run=plan.output_dir)
        on_main_then_everywhere(lambda: outputs(diagnosis, True))
    else:
        save_and_finish(trainer, plan, lambda: outputs(diagnosis, True))
    push_when_asked(plan)
    written = {**metrics, **diagnosis.to_dict(), **derived_facts(plan.config)}
    return RunResult(plan.output_dir, written, trainer, diagnosis.verdict)


# What report.md and metrics.json say while the baselines are being fitted: the model, its
# config and metrics are saved by then, so a kill (out of memory) leaves a run that loads.
BASELINES_PENDING = (
    "ftk fits the baselines once the model is saved; if this line stays, the run stopped "
    "while fitting them (out of memory?). The model, run_config.yaml and metrics.json are "
    "complete. `ftk baseline --config {run}/run_config.yaml` fits the baselines alone (a lower "
    "`--baseline.max_train_rows` needs less memory)."
)
BASELINES_FAILED = (
    "the baselines failed (see Warnings). `ftk baseline --config {run}/run_config.yaml` fits "
    "them alone and shows the full error."
)


def awaiting_baselines(diagnosis: Diagnosis, plan: Plan) -> Diagnosis:
    """The diagnosis saved with the model, before the baselines are fitted."""
    pending = BASELINES_PENDING.format(run=plan.output_dir)
    return dataclasses.replace(diagnosis, baselines_missing=pending)


def limit_to_run_length(processor: Any, max_length: int) -> None:
    """The tokenizer saved with the model reads at most what the run read (`data.max_length`
    becomes its `model_max_length`), so `pipeline()` cuts a long text where training and
    `ftk predict` cut it instead of reading on to the checkpoint's own limit (often 512).
    Set after training: the truncation advice compares data.max_length with that own limit."""
    if isinstance(processor, PreTrainedTokenizerBase):
        processor.model_max_length = min(max_length, processor.model_max_length)


def resume_loss_sum(trainer: ToolkitTrainer, checkpoint: Path | None) -> None:
    """A resumed run continues the sum of training losses its checkpoint carries."""
    saved = loss_sum_at(checkpoint) if checkpoint is not None else None
    if checkpoint is not None and saved is None:
        warn(
            f"{checkpoint} holds no {LOSS_SUM_FILE} (an older ftk wrote it): metrics.json's "
            f"train_loss will cover the resumed steps only."
        )
    trainer.loss_sum_before = saved or 0.0
    trainer.resumed_with_loss_sum = saved is not None
    # read now: save_total_limit may delete the checkpoint while the resumed run trains on
    trainer.resumed_at_step = checkpoint_step(checkpoint) if checkpoint is not None else 0


def advise_on_data_size(plan: Plan, prepared: PreparedData, model: Any) -> DataSizeAdvice:
    """Enough data for this model? And are the classes so uneven that accuracy misleads?
    (A numeric target has no classes: only the total counts.)"""
    config, data = plan.config, prepared.data
    labels = column_values(data.splits["train"], data.label_column)
    counts = plan.target.class_counts(labels, data.label_names)
    if config.data.streaming:  # the head sample tells the class shares, not the data's size
        return streamed_data_size(counts, count_parameters(model), len(labels))
    tags = data.target.per_word  # counts are mentions or words per tag; the total sentences
    unit = "class"
    if tags:
        scheme = data.tag_scheme
        unit = tag_set(scheme, data.label_names).counted if scheme else "entity type"
    advice = data_size_advice(counts, count_parameters(model), total=len(labels), unit=unit)
    report_advice(advice)
    if tags:
        imbalance = o_share_warning(labels, data.label_names, config.metrics)
    else:
        imbalance = imbalance_warning(counts, config.metrics, config.class_weights is not None)
    if imbalance:
        warn(imbalance)
    return advice


def streamed_data_size(counts: dict[str, int], parameters: int, head: int) -> DataSizeAdvice:
    """A streamed run's data-size figures, from its head sample, without the size warnings: a
    stream's length is not known, and the head is no measure of it (said)."""
    advice = data_size_advice(counts, parameters, total=head)
    say(
        f"Data size: not judged, the training data is streamed (its length is not read); the "
        f"first {head:,} training rows give the class shares"
        + (f", smallest class '{advice.smallest_class}'" if counts else "")
    )
    return dataclasses.replace(advice, warnings=[])


def watch_overfitting(
    trainer: ToolkitTrainer,
    plan: Plan,
    prepared: PreparedData,
    callbacks: Sequence[TrainerCallback],
) -> OverfittingWatch:
    """The overfitting watch (and any callbacks a library caller passes), attached."""
    settings = plan.config.overfitting
    num_train = len(prepared.data.splits["train"])  # a stream's: its head sample
    share, between = settings.max_epoch_share, None
    if plan.config.data.streaming:  # no epochs: the cost is against the rows between evaluations
        args = plan.args
        per_step = args.per_device_train_batch_size * args.world_size
        between = int(args.eval_steps or 1) * per_step * args.gradient_accumulation_steps
        share = None
    size = watch_sample_size(settings.train_sample_size, num_train, share)
    say(describe_watch(size, num_train, settings.train_sample_size, share, between))
    sample = unaugmented_training_sample(plan, prepared, size)
    watch = OverfittingWatch(sample, settings.patience).attach(trainer)
    for callback in callbacks:
        trainer.add_callback(callback)
    return watch


def unaugmented_training_sample(plan: Plan, prepared: PreparedData, size: int) -> Any:
    """The overfitting watch's fixed training examples, prepared the way validation is: never
    augmented, so their scores compare with the validation scores."""
    raw = training_sample(prepared.data.splits["train"], size, plan.args.seed)
    if raw is None:
        return None
    # Any split name but "train" is prepared as validation is; this one also names the sample
    # in the console ("Tokenizing training sample"), apart from the validation split.
    validation_like = DatasetDict({WATCH_SPLIT: raw})
    return plan.task.prepare(validation_like, prepared.processor, plan.config)[WATCH_SPLIT]


def score_run(
    trainer: ToolkitTrainer,
    plan: Plan,
    prepared: PreparedData,
    train_metrics: dict[str, Any],
    checkpoint: Path | None,
    started: float,
) -> tuple[dict[str, Any], TestRows | None]:
    """The numbers of metrics.json: the kept model on validation and test (and the task's
    test report), times, memory; and the test predictions, for the verdict."""
    target = plan.target
    # Multi-label targets tune a decision threshold on validation; the others have nothing to tune.
    tuned = getattr(target, "tuned_report", None)
    metrics, test_rows = final_metrics(
        trainer,
        prepared.splits,
        prepared.data.label_names,
        train_metrics,
        target,
        partial(tuned, plan.config.metrics) if tuned else None,
        word_test_reader(plan, prepared),  # a tagger: every word, past max_length too
    )
    if "eval_threshold_tuned" in metrics:  # saved in config.json: `ftk predict` decides with it
        model_config: Any = getattr(trainer.model, "config", None)
        model_config.decision_threshold = metrics["eval_threshold_tuned"]
    metrics.update(prepared.data.report)  # e.g. skipped_images
    if checkpoint is not None and trainer.resumed_with_loss_sum:
        # the Trainer's train_loss covers only this session's steps
        metrics["train_loss"] = train_loss_over_run(
            trainer.loss_sum_before,
            metrics["train_loss"],
            trainer.resumed_at_step,
            trainer.state.global_step,
        )
    metrics["total_wall_time_s"] = round(time.perf_counter() - started, 1)
    metrics["peak_rss_mb"] = peak_rss_mb()
    metrics["mixed_precision"] = precision_name(trainer.args)
    lora = lora_summary(trainer.model)
    if lora is not None:
        metrics["lora"] = lora  # settings, targets and the trained-parameter share
    if plan.config.kind.target.numeric:  # the training targets' mean and std the head used
        scale = target_scale_of(trainer.model)
        metrics["target_scaling"] = scale.to_dict() if scale else {"how": "none"}
    return metrics, test_rows
