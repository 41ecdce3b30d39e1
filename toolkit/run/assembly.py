"""The one place a run's Trainer is put together: run directory, history, Trainer, callbacks.

`ftk train`, `ftk pretrain`, each `ftk search` trial, the benchmarks and the tests that build a
Trainer the way `ftk train` does all call `assemble_trainer`, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import datasets
from transformers import TrainerCallback

from toolkit.core.log import say
from toolkit.core.run_files import HISTORY
from toolkit.data.splits import sample_rows
from toolkit.run.stages import Plan, PreparedData, PreparedInputs
from toolkit.training.divergence import DivergenceWatch
from toolkit.training.history import HistoryCallback
from toolkit.training.trainer import ToolkitTrainer, build_trainer


class AssembledTrainer(NamedTuple):
    trainer: ToolkitTrainer
    history: HistoryCallback  # its rows: what this process logged (the file: the main's)


def with_evaluation_sample(
    prepared: PreparedInputs, rows: int | None, seed: int
) -> datasets.DatasetDict:
    """The splits, validation cut to a seeded sample of `rows` for the evaluations during
    training (stratified by class when the labels are classes), said; the whole split is
    scored once at the end (training/scoring.py)."""
    validation = prepared.splits["validation"]
    if rows is None or len(validation) <= rows:
        return prepared.splits
    classes = isinstance(prepared, PreparedData) and prepared.data.target.single_class
    sample = sample_rows(validation, rows, seed, stratify_by="labels" if classes else None)
    say(
        f"Evaluations during training score a sample of {rows:,} of the {len(validation):,} "
        f"validation rows{' (stratified by class)' if classes else ''}: "
        f"data.validation_rows_per_eval; the kept model is scored on all of them at the end."
    )
    return datasets.DatasetDict({**prepared.splits, "validation": sample})


def assemble_trainer(
    plan: Plan,
    model: Any,
    prepared: PreparedInputs,
    compute_metrics: Any,
    open_dir: Callable[[], None],
    history: HistoryCallback | None = None,
    callbacks: Sequence[TrainerCallback] = (),
) -> AssembledTrainer:
    """`open_dir` readies plan.output_dir first (usually `open_run_dir`): the history file is
    written there from the first step. `history`: the run's history callback (default: a
    HistoryCallback writing plan.output_dir/history.jsonl); `compute_metrics` None: loss only.
    `callbacks` are added after the toolkit's own."""
    open_dir()
    if history is None:
        history = HistoryCallback(plan.output_dir / HISTORY)
    config = plan.config
    # only labelled data weighs classes or mixes training batches
    labelled = prepared if isinstance(prepared, PreparedData) else None
    trainer = build_trainer(
        config.schedule,
        config.early_stopping,
        model,
        plan.args,
        with_evaluation_sample(prepared, config.data.validation_rows_per_eval, plan.args.seed),
        prepared.processor,
        prepared.collator,
        compute_metrics,
        history,
        labelled.class_weights if labelled else None,
        labelled.train_collator if labelled else None,
    )
    trainer.add_callback(DivergenceWatch())  # a non-finite loss stops training
    for callback in callbacks:
        trainer.add_callback(callback)
    return AssembledTrainer(trainer, history)
