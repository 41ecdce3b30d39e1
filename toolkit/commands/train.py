"""`ftk train`, top to bottom: plan, data, then the fine-tuning run (run/fine_tuning.py:
baselines, model, trainer, fit, score, outputs); `ftk train --pretrain` pre-trains first.

Each line of `train` is one stage call (the toolkit/run/ package and the stage packages);
docs/architecture.md walks through it line by line.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import yaml
from transformers import TrainerCallback

from toolkit.config.compare import comparable, describe_differences, differing
from toolkit.config.load import read_keys
from toolkit.config.schema import RunConfig
from toolkit.config.streaming import refuse_streamed, resume_stream_elsewhere
from toolkit.core.disk_full import out_of_space_said
from toolkit.core.errors import UserError
from toolkit.core.launch import check_launch, world_size
from toolkit.core.log import reset_warnings, say
from toolkit.core.run_files import STARTED_CONFIG
from toolkit.core.run_lock import run_lock
from toolkit.outputs.run_dir import check_output_dir_free
from toolkit.run.fine_tuning import fit_and_finish
from toolkit.run.pretraining import pretrained_base
from toolkit.run.stages import (
    RunResult,
    check_hub_token,
    open_run_dir,
    plan_for_data,
    plan_run,
    prepare_labelled,
    training_rows,
)
from toolkit.training.checkpoint_files import check_checkpoint_files
from toolkit.training.resume import (
    StartedConfig,
    checkpoint_step,
    last_checkpoint,
)
from toolkit.training.resume_batch import (
    BATCH_KEYS,
    check_global_batch,
    launch_from_trainer_files,
    launch_now,
    missing_random_states,
    saved_launch,
    say_missing_random_states,
)
from toolkit.training.still_schedule import refuse_still_schedule


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
    check_launch()  # a launch that started fewer processes than asked: before anything else
    with run_lock(Path(config.training["output_dir"])):  # one run per output_dir
        checkpoint = start_run(config, overwrite, resume)
        plan = plan_run(config)
        # a metric that cannot load fails first, before any data loads
        plan.target.compute_metrics(config.metrics, config.trust_metric_code)
        check_hub_token(plan)
        prepared = prepare_labelled(plan)
        plan, compute_metrics = plan_for_data(plan, prepared)
        # the step count is known now: a run whose every step has LR 0 stops before the model
        refuse_still_schedule(plan.config.schedule, plan.args, training_rows(plan, prepared))
        with out_of_space_said(plan.output_dir):  # checkpoints and the final files
            return fit_and_finish(
                plan,
                prepared,
                compute_metrics,
                open_dir=lambda: open_run_dir(plan, overwrite, checkpoint),
                checkpoint=checkpoint,
                callbacks=(StartedConfig(config.to_yaml()), *callbacks),
                started=started,
            )


def start_run(config: RunConfig, overwrite: bool, resume: bool) -> Path | None:
    """The checkpoint to resume from (None: a new run, whose output_dir must be free)."""
    output_dir = Path(config.training["output_dir"])
    checkpoint = resume_point(output_dir, overwrite, config) if resume else None
    if checkpoint is None:
        check_output_dir_free(output_dir, overwrite, config.local_inputs())  # before slow work
    reset_warnings()
    return checkpoint


def resume_point(output_dir: Path, overwrite: bool, config: RunConfig) -> Path:
    if overwrite:
        raise UserError(
            "--resume continues the run in output_dir and --overwrite deletes it; "
            "pass only one of them."
        )
    checkpoint = last_checkpoint(output_dir)
    batch_kept = check_resumed_launch(checkpoint, config)
    check_resumed_config(output_dir, checkpoint, config, free=BATCH_KEYS if batch_kept else ())
    check_checkpoint_files(checkpoint)  # before the data and the model load
    say(f"Resuming from {checkpoint} (step {checkpoint_step(checkpoint)})")
    return checkpoint


# Keys a resumed run may change: where it reports and pushes, how evaluation batches are
# loaded. Anything else (data, model, batch, LR, schedule, seed, ...) changes what is trained.
FREE_ON_RESUME = {
    "report_to",
    "logging_dir",
    "push_to_hub",
    "hub_model_id",
    "hub_private_repo",
    "dataloader_num_workers",
    "dataloader_persistent_workers",
    "dataloader_pin_memory",
    "per_device_eval_batch_size",
    "disable_tqdm",
}


def check_resumed_launch(checkpoint: Path, config: RunConfig) -> bool:
    """A resume on another number of processes keeps the global batch (or is refused); True
    when it did, so the per-process batch and accumulation may differ from the start. On the
    same number, the config check alone decides (naming every key that changed)."""
    accumulation = int(config.training.get("gradient_accumulation_steps", 1))
    saved = saved_launch(checkpoint) or launch_from_trainer_files(checkpoint, accumulation)
    missing = missing_random_states(checkpoint, saved)
    if missing and saved is not None and saved.processes == world_size():
        say(say_missing_random_states(checkpoint, missing))  # elsewhere all start afresh
    if saved is None or saved.processes == world_size():
        return False
    elsewhere = resume_stream_elsewhere(saved.processes, world_size())
    refuse_streamed(config, "--resume on another number of processes", elsewhere)
    now = launch_now(config.training, world_size(), saved)
    check_global_batch(checkpoint, saved, now)
    say(
        f"Resuming on {now.describe()}; {checkpoint.name} was trained on "
        f"{saved.describe()}: the same global batch, so the schedule, the epoch and the data "
        f"order go on where they stopped. The random states (dropout) start afresh: the "
        f"Trainer restores them only on the process count that saved them."
    )
    return True


def check_resumed_config(
    output_dir: Path, checkpoint: Path, config: RunConfig, free: tuple[str, ...] = ()
) -> None:
    """The config must be the one the run started with (a run started by an ftk that did not
    keep it cannot be checked: said); keys in `free` may differ too."""
    saved_file = output_dir / STARTED_CONFIG
    if not saved_file.is_file():
        say(f"{output_dir} holds no {STARTED_CONFIG}: the config cannot be checked.")
        return
    saved = comparable(read_keys(yaml.safe_load(saved_file.read_text()) or {}))
    differences = [
        diff
        for diff in differing(saved, comparable(config))
        if diff[0].split(".")[0] not in FREE_ON_RESUME and diff[0] not in free
    ]
    if differences:
        raise UserError(
            f"--resume: the config differs from the one {checkpoint} was trained with "
            f"({describe_differences(differences, 'then', 'now')}). A resumed run must go on "
            f"as it started: resume with the same config and overrides, or start a new run "
            f"in another output_dir."
        )


def train_after_pretrain(
    finetune_config: RunConfig, pretrain_config: RunConfig, overwrite: bool = False
) -> RunResult:
    """`ftk train --pretrain`: pre-train (or reuse that finished pre-training), then fine-tune
    `finetune_config` from its output."""
    check_output_dir_free(
        Path(finetune_config.training["output_dir"]), overwrite, finetune_config.local_inputs()
    )
    base = pretrained_base(pretrain_config, finetune_config)
    finetune_config.model.name_or_path = str(base)
    finetune_config.model.from_config = None  # the architecture now comes from the checkpoint
    say(f"Stage 2 of 2: fine-tuning ({finetune_config.task}) from {base}")
    return train(finetune_config, overwrite=overwrite)
