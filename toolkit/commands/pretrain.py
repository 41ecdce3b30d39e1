"""`ftk pretrain` and `ftk train --pretrain`: continued pre-training, then fine-tuning from it.

    pretrain(config)            masked-lm / masked-image-modeling -> a run directory laid out
                                like a fine-tuning run (model, processor, history, plots, card)
    train_after_pretrain(C, P)  pre-train P (or reuse its finished output), then fine-tune C
                                with model.name_or_path = P's output directory

A pre-training output counts as finished when it holds model.safetensors and a run_config.yaml
equal to P's resolved config: rerunning the chain then fine-tunes straight away.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any
from transformers import set_seed
from toolkit.core.run_files import HISTORY, RUN_CONFIG
from toolkit.outputs.run_dir import check_output_dir_free, prepare_output_dir, remove_checkpoints, write_run_files
from toolkit.config.schema import PRETRAIN_TASKS, RunConfig
from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.outputs.pretrain_card import write_pretrain_card
from toolkit.commands.train import split_seed
from toolkit.training.schedule_report import group_multipliers, report_schedule, schedule_summary
from toolkit.tasks import get_task
from toolkit.training.trainer import build_trainer
from toolkit.training.arguments import build_training_arguments
from toolkit.model.transfer import check_architectures_match
from toolkit.data.unlabelled import load_unlabelled
from toolkit.outputs.console import describe_pretrain_results
from toolkit.training.history import PretrainHistory, perplexity


def pretrain(config: RunConfig, overwrite: bool = False) -> Path:
    """Pre-train as `config` says (task masked-lm or masked-image-modeling); returns the run dir."""
    started = time.perf_counter()
    if config.task not in PRETRAIN_TASKS:
        raise UserError(f"`ftk pretrain` runs the pre-training tasks "
                        f"({', '.join(PRETRAIN_TASKS)}); '{config.source}' has task "
                        f"'{config.task}'. Use `ftk train` for it.")
    output_dir = Path(config.training["output_dir"])
    check_output_dir_free(output_dir, overwrite)
    task = get_task(config.task)
    # The collators need columns the model does not take (the image for the lazy pixel
    # transform; special-token masks and character offsets for masking), so none is dropped.
    # `label_names`: the inputs whose presence makes the Trainer compute an evaluation loss
    # (ViTForMaskedImageModeling takes no `labels`: its target is the masked input itself).
    # Set on a copy: run_config.yaml must stay equal to the recipe (see `is_finished`).
    args = build_training_arguments(dataclasses.replace(config, training={
        **config.training, "remove_unused_columns": False, "label_names": task.label_names}))
    processor = task.load_processor(config)
    collator = task.collator(processor, config)  # checks the masking settings before the data

    splits = load_unlabelled(config.data, task.input_column(config), task.input_key,
                             split_seed(config))
    say(f"Unlabelled data: train {len(splits['train']):,}, validation "
        f"{len(splits['validation']):,} examples (column '{task.input_column(config)}'"
        f"{', test inputs included' if config.data.pretrain_include_test else ''})")
    splits = task.prepare(splits, processor, config)
    set_seed(args.seed)
    model = task.load_model(config)
    report_schedule(schedule_summary(config, args, len(splits["train"])),
                    group_multipliers(config, model))

    if args.should_save:
        prepare_output_dir(output_dir, overwrite)
    history = PretrainHistory(output_dir / HISTORY, perplexity=config.task == "masked-lm")
    trainer = build_trainer(config, model, args, splits, processor, collator, None, history)
    train_output = trainer.train()

    metrics: dict[str, Any] = dict(train_output.metrics)
    metrics.update(trainer.evaluate())
    if config.task == "masked-lm":
        metrics["eval_perplexity"] = perplexity(metrics["eval_loss"])
    metrics["total_wall_time_s"] = round(time.perf_counter() - started, 1)
    if trainer.is_world_process_zero():
        trainer.save_model(str(output_dir))
        (output_dir / "training_args.bin").unlink(missing_ok=True)
        write_run_files(output_dir, config, metrics)
        write_pretrain_card(output_dir / "README.md", config, task.pipeline_tag, metrics,
                            output_dir.name)
        remove_checkpoints(output_dir)
        say(describe_pretrain_results(metrics, output_dir))
    return output_dir


def is_finished(config: RunConfig) -> bool:
    """A run directory this very config already completed (same resolved config, weights saved)."""
    output_dir = Path(config.training["output_dir"])
    saved = output_dir / RUN_CONFIG
    return (output_dir / "model.safetensors").is_file() and saved.is_file() \
        and saved.read_text() == config.to_yaml()


def pretrained_base(pretrain_config: RunConfig, finetune_config: RunConfig) -> Path:
    """P's output directory, pre-training it first unless a finished copy is already there."""
    check_architectures_match(pretrain_config.model, finetune_config.model,
                              str(pretrain_config.source), str(finetune_config.source))
    output_dir = Path(pretrain_config.training["output_dir"])
    if is_finished(pretrain_config):
        say(f"Reusing the finished pre-training in {output_dir} (its run_config.yaml equals "
            f"{pretrain_config.source}); delete that folder to pre-train again.")
        return output_dir
    if output_dir.is_dir() and any(output_dir.iterdir()):
        raise UserError(f"The pre-training output_dir '{output_dir}' holds files, but not a "
                        f"finished run of '{pretrain_config.source}' as it is now (its "
                        f"run_config.yaml differs or the model is missing). Delete the folder, "
                        f"or give the pre-training recipe another output_dir.")
    say(f"Stage 1 of 2: pre-training ({pretrain_config.task}) into {output_dir}")
    return pretrain(pretrain_config)


def train_after_pretrain(finetune_config: RunConfig, pretrain_config: RunConfig,
                         overwrite: bool = False) -> Path:
    from toolkit.commands.train import train

    check_output_dir_free(Path(finetune_config.training["output_dir"]), overwrite)
    base = pretrained_base(pretrain_config, finetune_config)
    finetune_config.model.name_or_path = str(base)
    finetune_config.model.from_config = None  # the architecture now comes from the checkpoint
    say(f"Stage 2 of 2: fine-tuning ({finetune_config.task}) from {base}")
    return train(finetune_config, overwrite=overwrite)
