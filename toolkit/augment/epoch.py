"""Tells the train split's lazy transform which epoch is starting.

A transform seeds each example from (seed, epoch, index), so it must know the epoch. The
Trainer calls `on_epoch_begin` before it creates the epoch's DataLoader iterator (and with it
any worker processes, which copy the transform), so setting it here reaches the workers too.
Any transform with a `set_epoch(int)` method is served: text and image alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from transformers import TrainerCallback

if TYPE_CHECKING:
    import datasets


class EpochAware(Protocol):
    def set_epoch(self, epoch: int) -> None: ...


def epoch_aware_transform(dataset: datasets.Dataset) -> EpochAware | None:
    """The dataset's lazy transform when it has set_epoch, else None."""
    fmt = getattr(dataset, "format", None) or {}
    transform = (fmt.get("format_kwargs") or {}).get("transform")
    return transform if hasattr(transform, "set_epoch") else None


class TransformEpochCallback(TrainerCallback):
    def __init__(self, transform: EpochAware):
        self.transform = transform

    def on_epoch_begin(self, args, state, control, **kwargs):
        # state.epoch is a float that reaches e exactly when epoch e-1 ends (0 at the start).
        self.transform.set_epoch(round(state.epoch or 0))
