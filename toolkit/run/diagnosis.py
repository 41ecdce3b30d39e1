"""The diagnosis of a finished fine-tuning run: overfitting, the history's findings, and the
verdict against the baselines (metrics.json's `diagnosis`, the report's last sections)."""

from __future__ import annotations

import dataclasses
from typing import Any

from toolkit.advice.baselines.candidate import Baselines
from toolkit.advice.data_size import DataSizeAdvice
from toolkit.advice.diagnosis import Diagnosis
from toolkit.advice.findings import RunFacts, ScoredSplit, diagnose_run
from toolkit.advice.overfitting import OverfittingWatch, summarize_overfitting
from toolkit.advice.truncation import truncation_facts
from toolkit.advice.verdict import verdict_for_run
from toolkit.config.schema import RunConfig
from toolkit.core.columns import column_values
from toolkit.core.log import WARNINGS, is_main_process
from toolkit.core.run_files import HISTORY, read_history
from toolkit.data.load import LoadedData
from toolkit.data.streaming import REPORT_KEY
from toolkit.run.stages import Plan, PreparedData
from toolkit.training.history import HistoryCallback
from toolkit.training.scoring import TestRows


def diagnose(
    plan: Plan,
    prepared: PreparedData,
    history: HistoryCallback,
    watch: OverfittingWatch,
    data_size: DataSizeAdvice,
    metrics: dict[str, Any],
) -> Diagnosis:
    """What the run's history and metrics say; the baselines and the verdict come after the
    model is saved (`with_baselines`)."""
    args = plan.args
    # The main process reads the file: after a resume it also holds the earlier sessions' rows.
    rows = read_history(plan.output_dir / HISTORY) if is_main_process() else history.rows
    # build_training_arguments always sets both
    assert args.metric_for_best_model is not None and args.greater_is_better is not None
    metric = args.metric_for_best_model.removeprefix("eval_")
    streamed = plan.config.data.streaming
    overfitting = summarize_overfitting(
        rows, metric, args.greater_is_better, watch.warning, streamed
    )
    findings = diagnose_run(rows, run_facts(plan, prepared, metric, metrics))
    return Diagnosis(data_size, overfitting, None, None, list(WARNINGS), findings)


def with_baselines(
    diagnosis: Diagnosis,
    plan: Plan,
    prepared: PreparedData,
    baselines: Baselines | None,
    metrics: dict[str, Any],
    test_rows: TestRows | None,
) -> Diagnosis:
    """The diagnosis with the baselines and the verdict they give (and every warning so far)."""
    config = plan.config
    score = plan.target.scorer(config.metrics, config.trust_metric_code, prepared.data.label_names)
    verdict = verdict_for_run(baselines, metrics, config.metrics, test_rows, score, plan.args.seed)
    return dataclasses.replace(
        diagnosis, baselines=baselines, verdict=verdict, warnings=list(WARNINGS)
    )


def run_facts(plan: Plan, prepared: PreparedData, metric: str, metrics: dict[str, Any]) -> RunFacts:
    """What the diagnosis rules need beside the history: class counts, sizes, settings, what
    knowing nothing scores in the loss, and what the kept model predicted (`metrics`: the
    final ones, test report and tuned threshold included)."""
    config, data, args = plan.config, prepared.data, plan.args
    target, kind = plan.target, config.kind.target
    train, validation = data.splits["train"], data.splits["validation"]
    given = config.data.validation_file or config.data.validation_dir
    train_labels = column_values(train, data.label_column)
    chosen = config.metrics_chosen  # else metrics_for_data may have moved f1_macro first
    prior_loss, prior_knows = knowing_nothing(plan, prepared, train_labels)
    return RunFacts(
        metric=metric,
        greater_is_better=bool(args.greater_is_better),
        train_counts=target.class_counts(train_labels, data.label_names),
        validation_counts=target.class_counts(
            column_values(validation, data.label_column), data.label_names
        ),
        validation_size=len(validation),
        num_train_epochs=float(args.num_train_epochs),
        learning_rate=float(args.learning_rate),
        patience=config.overfitting.patience,
        prior_loss=prior_loss,
        prior_knows=prior_knows,
        single_class=kind.single_class,
        class_weights=config.class_weights,
        decision_threshold=metrics.get("eval_threshold_tuned"),
        scored=scored_test(metrics, data.label_names),
        output_dir=str(plan.output_dir),
        # a stream holds out a head of rows, not a share (data.validation_size does not apply)
        validation_fraction=None if given or config.data.streaming else config.data.validation_size,
        metrics_reordered=config.metrics[0] != kind.default_metrics[0] and not chosen,
        max_steps=args.max_steps if args.max_steps > 0 else None,  # -1: num_train_epochs
        metrics=list(config.metrics),
        train_seconds=metrics.get("train_runtime"),
        chosen_by_folds=plan.chosen_by_folds,
        streamed=config.data.streaming,
        stream_validation_rows=held_validation_rows(config, data),
        **truncation_facts(prepared.truncation),
    )


def held_validation_rows(config: RunConfig, data: LoadedData) -> int | None:
    """data.stream_validation_rows when a streamed run held its validation head out of the
    stream (None: not streamed, or the validation split was given)."""
    if not config.data.streaming:
        return None
    facts = data.report.get(REPORT_KEY, {})
    held = str(facts.get("validation", "")).startswith("the stream")
    return config.data.stream_validation_rows if held else None


def knowing_nothing(plan: Plan, prepared: PreparedData, train_labels: Any) -> tuple[float, str]:
    """The training loss of a model that knows nothing about the inputs, as this run's loss
    weighs the classes or labels (`class_weights`), and what such a model knows."""
    weights = prepared.class_weights
    loss = plan.target.prior_loss(
        train_labels, prepared.data.label_names, None if weights is None else weights.numpy()
    )
    knows = plan.config.kind.target.prior_knows
    if weights is not None:
        knows += ", weighted as the loss weighs them"
    return loss, knows


def scored_test(metrics: dict[str, Any], label_names: list[str]) -> ScoredSplit | None:
    """The kept model's test predictions counted by class, where the target's test report
    holds a confusion matrix (one class per input, and a test split)."""
    confusion = metrics.get("test_confusion_matrix")
    return None if confusion is None else ScoredSplit("test", label_names, confusion)
