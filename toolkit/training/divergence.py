"""A diverged run is a failure, not a model: the first non-finite training loss, evaluation loss
or gradient norm in the logs stops training, and the run ends with an error that says where and
what to change instead of saving weights that are no longer numbers."""

from __future__ import annotations

import math
from typing import Any

from transformers import Trainer, TrainerCallback

from toolkit.core.errors import UserError

WATCHED = ("loss", "grad_norm", "eval_loss")


class DivergenceWatch(TrainerCallback):
    def __init__(self) -> None:
        self.seen: tuple[int, str, float] | None = None  # (step, logged key, its value)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
        for key in WATCHED:
            value = (logs or {}).get(key)
            if self.seen is None and isinstance(value, float) and not math.isfinite(value):
                self.seen = (state.global_step, key, value)
                control.should_training_stop = True


def check_not_diverged(trainer: Trainer) -> None:
    """A UserError (exit 2) when the trainer's DivergenceWatch saw a non-finite value."""
    watch = next(
        (c for c in trainer.callback_handler.callbacks if isinstance(c, DivergenceWatch)), None
    )
    if watch is None or watch.seen is None:
        return
    step, key, value = watch.seen
    rate, clip = trainer.args.learning_rate, trainer.args.max_grad_norm
    raise UserError(
        f"Training diverged: the {key.replace('_', ' ')} was {value} at step {step}, so the "
        f"weights are no longer numbers and nothing was saved as a fine-tuned model (earlier "
        f"checkpoints, if any, stay in output_dir). Lower the learning rate (now {rate:g}, e.g. "
        f"--learning_rate {rate / 10:g}), keep gradient clipping on (max_grad_norm, now "
        f"{clip:g}), or use fp32 instead of fp16."
    )
