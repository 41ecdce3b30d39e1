"""`ftk train`, top to bottom: plan, data, baselines, model, trainer, fit, score, outputs.

Each line of `train` is one stage call (toolkit/commands/stages.py and the stage packages);
docs/architecture.md walks through it line by line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from datasets import DatasetDict
from transformers import TrainerCallback

from toolkit.advice.baselines.candidate import Baselines
from toolkit.advice.baselines.fit import start_baselines_for_run, write_baselines
from toolkit.advice.data_size import (
    DataSizeAdvice,
    count_parameters,
    data_size_advice,
    imbalance_warning,
    o_share_warning,
    report_advice,
)
from toolkit.advice.diagnosis import Diagnosis
from toolkit.advice.findings import RunFacts, diagnose_run
from toolkit.advice.overfitting import (
    OverfittingWatch,
    describe_watch,
    summarize_overfitting,
    training_sample,
    watch_sample_size,
)
from toolkit.advice.truncation import truncation_facts
from toolkit.advice.verdict import verdict_for_run
from toolkit.commands.stages import (
    Plan,
    PreparedData,
    RunResult,
    announce_schedule,
    build_model,
    build_run_trainer,
    check_hub_token,
    open_run_dir,
    plan_for_data,
    plan_run,
    prepare_labelled,
    save_and_finish,
)
from toolkit.config.schema import RunConfig
from toolkit.core.errors import UserError
from toolkit.core.log import WARNINGS, is_main_process, reset_warnings, say, warn
from toolkit.core.run_files import BASELINE_FILE, HISTORY, read_history
from toolkit.model.lora import lora_summary
from toolkit.outputs.console import describe_results
from toolkit.outputs.hub import push_run
from toolkit.outputs.model_card import report_card_section, write_model_card
from toolkit.outputs.report import data_summary, write_report
from toolkit.outputs.run_dir import check_output_dir_free, remove_checkpoints, write_run_files
from toolkit.training.history import HistoryCallback
from toolkit.training.precision import precision_name
from toolkit.training.resume import (
    LOSS_SUM_FILE,
    checkpoint_step,
    last_checkpoint,
    loss_sum_at,
    train_loss_over_run,
)
from toolkit.training.schedules import ScheduleSummary
from toolkit.training.scoring import TestRows, final_metrics, peak_rss_mb
from toolkit.training.trainer import ToolkitTrainer


def train(
    config: RunConfig,
    overwrite: bool = False,
    resume: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
) -> RunResult:
    """Fine-tune as `config` says; returns the run directory, its metrics, the verdict and the
    Trainer.

    `resume`: continue the killed run in output_dir from its last complete checkpoint.
    `callbacks`: extra TrainerCallbacks, for library use (benchmarks/overhead.py times steps
    with one).
    """
    started = time.perf_counter()
    checkpoint = start_run(config, overwrite, resume)
    plan = plan_run(config)
    # a metric that cannot load fails first, before any data loads
    plan.task.target.compute_metrics(config.metrics, config.trust_metric_code)
    check_hub_token(plan)
    prepared = prepare_labelled(plan)
    plan, compute_metrics = plan_for_data(plan, prepared.data)
    return fit_and_finish(
        plan,
        prepared,
        compute_metrics,
        open_dir=lambda: open_run_dir(plan, overwrite, checkpoint),
        checkpoint=checkpoint,
        callbacks=callbacks,
        started=started,
    )


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
    model = build_model(plan, prepared.data.label_names)
    data_size = advise_on_data_size(plan, prepared, model)
    schedule = announce_schedule(plan, len(prepared.splits["train"]), model)
    open_dir()
    history = HistoryCallback(plan.output_dir / HISTORY)
    trainer = build_run_trainer(plan, model, prepared, compute_metrics, history)
    watch = watch_overfitting(trainer, plan, prepared, callbacks)
    resume_loss_sum(trainer, checkpoint)
    fit = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    baselines = collect_baselines()
    metrics, test_rows = score_run(trainer, plan, prepared, fit.metrics, checkpoint, started)
    diagnosis = diagnose(plan, prepared, history, watch, data_size, baselines, metrics, test_rows)
    save_and_finish(
        trainer, plan, lambda: write_outputs(plan, prepared, schedule, metrics, diagnosis)
    )
    written = {**metrics, **diagnosis.to_dict()}
    return RunResult(plan.output_dir, written, trainer, diagnosis.verdict)


def start_run(config: RunConfig, overwrite: bool, resume: bool) -> Path | None:
    """The checkpoint to resume from (None: a new run, whose output_dir must be free)."""
    output_dir = Path(config.training["output_dir"])
    checkpoint = resume_point(output_dir, overwrite) if resume else None
    if checkpoint is None:
        check_output_dir_free(output_dir, overwrite, config.local_inputs())  # before slow work
    reset_warnings()
    return checkpoint


def resume_point(output_dir: Path, overwrite: bool) -> Path:
    if overwrite:
        raise UserError(
            "--resume continues the run in output_dir and --overwrite deletes it; "
            "pass only one of them."
        )
    checkpoint = last_checkpoint(output_dir)
    say(f"Resuming from {checkpoint} (step {checkpoint_step(checkpoint)})")
    return checkpoint


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
    labels = data.splits["train"][data.label_column]
    counts = plan.task.target.class_counts(labels, data.label_names)
    tags = data.target.per_word  # counts are entity mentions per type; sentences the total
    unit = "entity type" if tags else "class"
    advice = data_size_advice(counts, count_parameters(model), total=len(labels), unit=unit)
    report_advice(advice)
    if tags:
        imbalance = o_share_warning(labels, data.label_names, config.metrics)
    else:
        imbalance = imbalance_warning(counts, config.metrics, config.class_weights is not None)
    if imbalance:
        warn(imbalance)
    return advice


def watch_overfitting(
    trainer: ToolkitTrainer,
    plan: Plan,
    prepared: PreparedData,
    callbacks: Sequence[TrainerCallback],
) -> OverfittingWatch:
    """The overfitting watch (and any callbacks a library caller passes), attached."""
    settings = plan.config.overfitting
    num_train = len(prepared.data.splits["train"])
    size = watch_sample_size(settings.train_sample_size, num_train, settings.max_epoch_share)
    say(describe_watch(size, num_train, settings.train_sample_size, settings.max_epoch_share))
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
    validation_like = DatasetDict({"validation": raw})
    return plan.task.prepare(validation_like, prepared.processor, plan.config)["validation"]


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
    target = plan.task.target
    # Multi-label targets tune a decision threshold on validation; the others have nothing to tune.
    tuned = getattr(target, "tuned_report", None)
    metrics, test_rows = final_metrics(
        trainer,
        prepared.splits,
        prepared.data.label_names,
        train_metrics,
        target,
        partial(tuned, plan.config.metrics) if tuned else None,
    )
    if "eval_threshold_tuned" in metrics:  # saved in config.json: `ftk predict` decides with it
        trainer.model.config.decision_threshold = metrics["eval_threshold_tuned"]
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
    return metrics, test_rows


def diagnose(
    plan: Plan,
    prepared: PreparedData,
    history: HistoryCallback,
    watch: OverfittingWatch,
    data_size: DataSizeAdvice,
    baselines: Baselines | None,
    metrics: dict[str, Any],
    test_rows: TestRows | None,
) -> Diagnosis:
    args, config = plan.args, plan.config
    # The main process reads the file: after a resume it also holds the earlier sessions' rows.
    rows = read_history(plan.output_dir / HISTORY) if is_main_process() else history.rows
    metric = args.metric_for_best_model.removeprefix("eval_")
    overfitting = summarize_overfitting(rows, metric, args.greater_is_better, watch.warning)
    findings = diagnose_run(rows, run_facts(plan, prepared, metric))
    score = plan.task.target.scorer(
        config.metrics, config.trust_metric_code, prepared.data.label_names
    )
    verdict = verdict_for_run(baselines, metrics, config.metrics, test_rows, score, args.seed)
    return Diagnosis(data_size, overfitting, baselines, verdict, list(WARNINGS), findings)


def run_facts(plan: Plan, prepared: PreparedData, metric: str) -> RunFacts:
    """What the diagnosis rules need beside the history: class counts, sizes, settings."""
    config, data, args = plan.config, prepared.data, plan.args
    target = plan.task.target
    train, validation = data.splits["train"], data.splits["validation"]
    given = config.data.validation_file or config.data.validation_dir
    train_labels = train[data.label_column]
    chosen = config.metrics_chosen  # else metrics_for_data may have moved f1_macro first
    return RunFacts(
        metric=metric,
        greater_is_better=bool(args.greater_is_better),
        train_counts=target.class_counts(train_labels, data.label_names),
        validation_counts=target.class_counts(validation[data.label_column], data.label_names),
        validation_size=len(validation),
        num_train_epochs=float(args.num_train_epochs),
        learning_rate=float(args.learning_rate),
        patience=config.overfitting.patience,
        target_variance=None if data.label_names else float(np.var(train_labels)),
        validation_fraction=None if given else config.data.validation_size,
        metrics_reordered=config.metrics[0] != config.kind.target.default_metrics[0] and not chosen,
        **truncation_facts(prepared.truncation),
    )


def write_outputs(
    plan: Plan,
    prepared: PreparedData,
    schedule: ScheduleSummary,
    metrics: dict[str, Any],
    diagnosis: Diagnosis,
) -> None:
    """The run directory's files (main process only), then the push when asked for."""
    config, output_dir, data = plan.config, plan.output_dir, prepared.data
    (output_dir / "training_args.bin").unlink(missing_ok=True)  # pickled; run_config.yaml says it
    if diagnosis.baselines:
        write_baselines(output_dir / BASELINE_FILE, diagnosis.baselines)
    write_run_files(output_dir, config, {**metrics, **diagnosis.to_dict()})
    columns = plan.task.input_columns(config)
    write_report(
        output_dir,
        title=output_dir.name,
        summary=data_summary(data, columns, prepared.splits, config.data.max_length),
        schedule=schedule.text(),
        metrics=metrics,
        diagnosis=diagnosis,
        history=read_history(output_dir / HISTORY),
        label_names=data.label_names,
        metric_names=config.metrics,
    )
    write_model_card(
        output_dir / "README.md",
        config,
        plan.task.pipeline_tag,
        metrics,
        data.label_names,
        model_name=output_dir.name,
        extra_sections=[report_card_section(diagnosis.verdict, diagnosis.findings)],
        history=read_history(output_dir / HISTORY),
    )
    remove_checkpoints(output_dir)
    say(describe_results(metrics, diagnosis, config.metrics, output_dir))
    if plan.push_to:
        push_run(output_dir, plan.push_to, private=bool(config.training.get("hub_private_repo")))
