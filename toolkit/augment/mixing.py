"""MixUp / CutMix of the training batches of an image task: whether a config asks for them, the
console line that says so, and the transform the train collator applies to each stacked batch.

torchvision (the optional `image` extra) is imported only where the transform is built: the
training stages import this module for every run, text runs included.
"""

from __future__ import annotations

from typing import Any

from toolkit.config.schema import AugmentConfig


def batch_mixing(augment: AugmentConfig, num_classes: int) -> Any | None:
    """MixUp / CutMix for a stacked batch `(pixel_values, labels)`, or None when both are off.

    One draw per batch: MixUp with probability `mixup`, CutMix with probability `cutmix`, the
    batch unchanged (hard labels) otherwise. A mixed batch's labels come back as a
    (batch, num_classes) float tensor whose rows sum to 1. The draws use torch's generator, so
    a seeded process (or DataLoader worker) mixes reproducibly."""
    from torchvision.transforms import v2  # here, not above: text runs import this module

    choices: list[Any] = []
    weights: list[float] = []
    if augment.mixup > 0:
        choices.append(v2.MixUp(alpha=augment.mixup_alpha, num_classes=num_classes))
        weights.append(augment.mixup)
    if augment.cutmix > 0:
        choices.append(v2.CutMix(alpha=augment.cutmix_alpha, num_classes=num_classes))
        weights.append(augment.cutmix)
    if not choices:
        return None
    unmixed = 1.0 - sum(weights)
    if unmixed > 1e-9:
        choices.append(v2.Identity())
        weights.append(unmixed)
    return v2.RandomChoice(choices, p=weights)


def mixing_is_on(augment: AugmentConfig) -> bool:
    return augment.mixup > 0 or augment.cutmix > 0


def describe_mixing(augment: AugmentConfig) -> str:
    """The console line of a run with MixUp/CutMix on."""
    ways = []
    if augment.mixup > 0:
        ways.append(f"MixUp p {augment.mixup:g} (alpha {augment.mixup_alpha:g})")
    if augment.cutmix > 0:
        ways.append(f"CutMix p {augment.cutmix:g} (alpha {augment.cutmix_alpha:g})")
    unmixed = 1.0 - augment.mixup - augment.cutmix
    left = f", unmixed {unmixed:g}" if unmixed > 1e-9 else ""
    return (
        f"Training batches mixed: {', '.join(ways)}{left}; their loss is the cross-entropy "
        f"against the soft labels (validation and test are never mixed)"
    )
