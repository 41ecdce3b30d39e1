"""Continued pre-training (masked-lm / masked-image-modeling), the run `ftk pretrain` makes and
`ftk train --pretrain` makes first, into a run directory laid out like a fine-tuning run
(model, processor, history, plots, card).

A pre-training output counts as finished when it holds model.safetensors and a run_config.yaml
equal to the pre-training recipe's resolved config: rerunning `ftk train --pretrain` then
fine-tunes straight away (`pretrained_base`).
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

from toolkit.config.schema import RunConfig
from toolkit.config.taxonomy import PRETRAIN_TASKS
from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.core.run_files import HISTORY, RUN_CONFIG
from toolkit.core.run_state import is_unfinished
from toolkit.model.transfer import check_architectures_match
from toolkit.outputs.run_dir import check_output_dir_free
from toolkit.run.assembly import assemble_trainer
from toolkit.run.outputs import write_pretrain_outputs
from toolkit.run.stages import (
    RunResult,
    announce_schedule,
    build_model,
    check_hub_token,
    open_run_dir,
    plan_run,
    prepare_unlabelled,
    push_when_asked,
    save_and_finish,
)
from toolkit.tasks import get_task
from toolkit.training.history import PretrainHistory, perplexity
from toolkit.training.still_schedule import refuse_still_schedule
from toolkit.training.trainer import ToolkitTrainer


def run_pretraining(config: RunConfig, overwrite: bool = False) -> RunResult:
    """Pre-train as `config` says (task masked-lm or masked-image-modeling); returns the run
    directory, its metrics and the Trainer."""
    started = time.perf_counter()
    refuse_finetuning_task(config)
    check_output_dir_free(Path(config.training["output_dir"]), overwrite, config.local_inputs())
    plan = plan_run(config, required=pretraining_arguments(config))
    check_hub_token(plan)
    prepared = prepare_unlabelled(plan)
    refuse_still_schedule(config.schedule, plan.args, len(prepared.splits["train"]))
    model = build_model(plan, None)
    announce_schedule(plan, len(prepared.splits["train"]), model)
    masked_lm = not config.kind.modality.reads_images  # its loss is a log-perplexity
    history = PretrainHistory(plan.output_dir / HISTORY, perplexity=masked_lm)
    open_dir = partial(open_run_dir, plan, overwrite)
    trainer, _ = assemble_trainer(plan, model, prepared, None, open_dir, history)  # loss only
    fit = trainer.train()
    metrics = score_pretraining(
        trainer, prepared.splits["validation"], fit.metrics, config, started
    )
    save_and_finish(trainer, plan, lambda: write_pretrain_outputs(plan, metrics))
    push_when_asked(plan)
    return RunResult(plan.output_dir, metrics, trainer)


def refuse_finetuning_task(config: RunConfig) -> None:
    if not config.kind.pretraining:
        raise UserError(
            f"`ftk pretrain` runs the pre-training tasks "
            f"({', '.join(PRETRAIN_TASKS)}); '{config.source}' has task "
            f"'{config.task}'. Use `ftk train` for it."
        )


def pretraining_arguments(config: RunConfig) -> dict[str, Any]:
    """TrainingArguments pre-training cannot run without, whatever the recipe says.

    The collators need columns the model does not take (the image for the lazy pixel
    transform; special-token masks and character offsets for masking), so none is dropped.
    `label_names`: the inputs whose presence makes the Trainer compute an evaluation loss
    (the SimMIM models take no `labels`: their target is the masked input itself).
    They go to TrainingArguments only: run_config.yaml stays equal to the recipe (`is_finished`).
    """
    return {"remove_unused_columns": False, "label_names": get_task(config.task).target_inputs}


def score_pretraining(
    trainer: ToolkitTrainer,
    validation: Any,
    train_metrics: dict[str, Any],
    config: RunConfig,
    started: float,
) -> dict[str, Any]:
    """The kept model on the whole validation split (training's evaluations may have scored a
    sample of it), and the run's time."""
    metrics: dict[str, Any] = dict(train_metrics)
    metrics.update(trainer.evaluate(validation))
    if not config.kind.modality.reads_images:  # masked-lm
        metrics["eval_perplexity"] = perplexity(metrics["eval_loss"])
    metrics["total_wall_time_s"] = round(time.perf_counter() - started, 1)
    return metrics


def is_finished(config: RunConfig) -> bool:
    """A run directory this very config already completed (same resolved config, weights saved,
    not cut off while saving)."""
    output_dir = Path(config.training["output_dir"])
    saved = output_dir / RUN_CONFIG
    return (
        not is_unfinished(output_dir)
        and (output_dir / "model.safetensors").is_file()
        and saved.is_file()
        and saved.read_text() == config.to_yaml()
    )


def pretrained_base(pretrain_config: RunConfig, finetune_config: RunConfig) -> Path:
    """P's output directory, pre-training it first unless a finished copy is already there."""
    check_architectures_match(
        pretrain_config.model,
        finetune_config.model,
        str(pretrain_config.source),
        str(finetune_config.source),
    )
    output_dir = Path(pretrain_config.training["output_dir"])
    if is_finished(pretrain_config):
        say(
            f"Reusing the finished pre-training in {output_dir} (its run_config.yaml equals "
            f"{pretrain_config.source}); delete that folder to pre-train again."
        )
        return output_dir
    if output_dir.is_dir() and any(output_dir.iterdir()):
        raise UserError(
            f"The pre-training output_dir '{output_dir}' holds files, but not a "
            f"finished run of '{pretrain_config.source}' as it is now (its "
            f"run_config.yaml differs, the model is missing, or it stopped before it "
            f"finished). Delete the folder, "
            f"or give the pre-training recipe another output_dir."
        )
    say(f"Stage 1 of 2: pre-training ({pretrain_config.task}) into {output_dir}")
    return run_pretraining(pretrain_config).run_dir
