"""The one place a run's Trainer is put together: run directory, history, Trainer, callbacks.

`ftk train`, `ftk pretrain`, each `ftk search` trial, the benchmarks and the tests that build a
Trainer the way `ftk train` does all call `assemble_trainer`, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from transformers import TrainerCallback

from toolkit.core.run_files import HISTORY
from toolkit.run.stages import Plan, PreparedData, PreparedInputs
from toolkit.training.divergence import DivergenceWatch
from toolkit.training.history import HistoryCallback
from toolkit.training.trainer import ToolkitTrainer, build_trainer


class AssembledTrainer(NamedTuple):
    trainer: ToolkitTrainer
    history: HistoryCallback  # its rows: what this process logged (the file: the main's)


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
        prepared.splits,
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
