"""Mixed precision chosen for the hardware when the user has not chosen it.

On a CPU that multiplies bf16 natively (AMX, AVX512-BF16), bf16 autocast ran the BBC recipe's
training steps faster at the same accuracy (BENCHMARKS.md, "CPU bf16"); on an Ampere or newer
GPU bf16 is the standard choice. Elsewhere fp32 stays: emulated bf16 is slower, and fp16 needs
loss scaling that can fail silently, so it is only ever the user's call. The weights stay fp32
either way (autocast computes in bf16, the parameters and the saved model do not change).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.core import hardware
from toolkit.core.distributed import PRECISIONS
from toolkit.core.log import say

if TYPE_CHECKING:
    from torch import nn
    from transformers import TrainingArguments


@dataclass(frozen=True)
class Hardware:
    accelerator: bool  # a GPU torch can train on
    gpu_bf16: str | None  # the GPU's name when it computes bf16 natively
    cpu_bf16: str | None  # the CPU's native bf16 feature ("AMX", "AVX512-BF16")

    @classmethod
    def probe(cls) -> Hardware:
        return cls(
            accelerator=hardware.has_accelerator(),
            gpu_bf16=hardware.gpu_bf16_name(),
            cpu_bf16=hardware.cpu_bf16_feature(),
        )


def choose_precision(
    training: dict[str, Any], machine: Hardware, launched: str | None
) -> tuple[dict[str, Any], str | None]:
    """TrainingArguments keys to add to `training`, and the line that says why (or None).

    `launched`: accelerate's ACCELERATE_MIXED_PRECISION when run by `accelerate launch`, whose
    config then decides. A user's `bf16`/`fp16` (true or false) always stands.
    """
    on_cpu = bool(training.get("use_cpu")) or not machine.accelerator
    if any(key in training for key in PRECISIONS) or launched is not None:
        if training.get("bf16") and on_cpu and "use_cpu" not in training:
            # TrainingArguments refuses bf16 on a machine without a GPU unless told it is the CPU.
            return {"use_cpu": True}, None
        return {}, None
    if on_cpu and machine.cpu_bf16:
        note = f"CPU bf16 autocast: {machine.cpu_bf16} found; `bf16: false` to turn it off"
        return {"bf16": True, "use_cpu": True}, note
    if not on_cpu and machine.gpu_bf16:
        note = f"GPU bf16 mixed precision: {machine.gpu_bf16}; `bf16: false` to turn it off"
        return {"bf16": True}, note
    return {}, None


def with_automatic_precision(training: dict[str, Any]) -> dict[str, Any]:
    """`training` plus the precision chosen for this machine (said on the console)."""
    added, note = choose_precision(
        training, Hardware.probe(), os.environ.get("ACCELERATE_MIXED_PRECISION")
    )
    if note:
        say_once(note)
    return {**training, **added}


@functools.cache
def say_once(note: str) -> None:
    """Once per process: `ftk search` plans every trial, and the machine does not change."""
    say(note)


def precision_name(args: TrainingArguments) -> str:
    """The mixed precision a run trained with, as metrics.json records it: bf16, fp16 or no."""
    return next((name for name in PRECISIONS if getattr(args, name, False)), "no")


@contextmanager
def without_autocast(model: nn.Module) -> Iterator[None]:
    """Inside the block `model` computes in fp32, as `ftk predict`/`ftk evaluate` and
    `pipeline()` will run the saved model; the run's reported scores are then theirs.

    Under bf16/fp16 accelerate wraps the prepared model's `forward` in autocast and keeps the
    plain one as `_original_forward`; it is swapped back in for the block. A model that was
    never wrapped (fp32 runs) is left alone.
    """
    original = model.__dict__.get("_original_forward")
    if original is None:
        yield
        return
    wrapped = model.__dict__["forward"]
    model.forward = original
    try:
        yield
    finally:
        model.forward = wrapped
