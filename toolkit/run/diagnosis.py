"""The diagnosis of a finished fine-tuning run: overfitting, the history's findings, and the
verdict against the baselines (metrics.json's `diagnosis`, the report's last sections)."""

from __future__ import annotations

from typing import Any

import numpy as np

from toolkit.advice.baselines.candidate import Baselines
from toolkit.advice.data_size import DataSizeAdvice
from toolkit.advice.diagnosis import Diagnosis
from toolkit.advice.findings import RunFacts, diagnose_run
from toolkit.advice.overfitting import OverfittingWatch, summarize_overfitting
from toolkit.advice.truncation import truncation_facts
from toolkit.advice.verdict import verdict_for_run
from toolkit.core.log import WARNINGS, is_main_process
from toolkit.core.run_files import HISTORY, read_history
from toolkit.run.stages import Plan, PreparedData
from toolkit.training.history import HistoryCallback
from toolkit.training.scoring import TestRows


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
    # build_training_arguments always sets both
    assert args.metric_for_best_model is not None and args.greater_is_better is not None
    metric = args.metric_for_best_model.removeprefix("eval_")
    overfitting = summarize_overfitting(rows, metric, args.greater_is_better, watch.warning)
    findings = diagnose_run(rows, run_facts(plan, prepared, metric))
    score = plan.target.scorer(config.metrics, config.trust_metric_code, prepared.data.label_names)
    verdict = verdict_for_run(baselines, metrics, config.metrics, test_rows, score, args.seed)
    return Diagnosis(data_size, overfitting, baselines, verdict, list(WARNINGS), findings)


def run_facts(plan: Plan, prepared: PreparedData, metric: str) -> RunFacts:
    """What the diagnosis rules need beside the history: class counts, sizes, settings."""
    config, data, args = plan.config, prepared.data, plan.args
    target = plan.target
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
