"""Class weights for the cross-entropy loss: `class_weights: balanced | {label: weight}`.

balanced: class c weighs n / (k x n_c) over the n training examples of k classes, as
scikit-learn's `compute_class_weight("balanced")`: every class then contributes the same total
weight to the loss, however rare. The loss is the weighted mean, sum_i w_yi l_i / sum_i w_yi,
as torch's `cross_entropy(weight=...)` computes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import torch

from toolkit.core.errors import UserError, did_you_mean


def class_weight_vector(
    setting: str | dict[str, float] | None, label_names: list[str], train_labels: Sequence[int]
) -> torch.Tensor | None:
    """One weight per class id (None: the plain, unweighted loss)."""
    if setting is None:
        return None
    if setting == "balanced":
        return balanced_weights(label_names, train_labels)
    unknown = [label for label in setting if label not in label_names]
    if unknown:
        raise UserError(
            f"class_weights names {unknown[0]!r}, which is not a training label; the labels "
            f"are: {', '.join(label_names)}.{did_you_mean(unknown[0], label_names)}"
        )
    return torch.tensor([setting.get(name, 1.0) for name in label_names], dtype=torch.float32)


def balanced_weights(label_names: list[str], train_labels: Sequence[int]) -> torch.Tensor:
    counts = Counter(train_labels)
    total, classes = len(train_labels), len(label_names)
    # a class absent from training (possible only with a ClassLabel feature) adds no loss
    weights = [total / (classes * counts[i]) if counts[i] else 0.0 for i in range(classes)]
    return torch.tensor(weights, dtype=torch.float32)


def describe_weights(weights: torch.Tensor, label_names: list[str]) -> str:
    pairs = ", ".join(
        f"{name} {w:.3g}" for name, w in zip(label_names, weights.tolist(), strict=True)
    )
    return f"Class weights in the loss: {pairs}"
