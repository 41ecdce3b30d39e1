"""Class weights for the cross-entropy loss: `class_weights: balanced | {label: weight}`.

balanced: class c weighs n / (k x n_c) over the n training examples of k classes, as
scikit-learn's `compute_class_weight("balanced")`: every class then contributes the same total
weight to the loss, however rare. The loss is the weighted mean, sum_i w_yi l_i / sum_i w_yi,
as torch's `cross_entropy(weight=...)` computes it.

Multi-label runs weigh each label's positive term of its binary cross-entropy instead
(`positive_weight_vector`, torch's `pos_weight`): balanced is negatives / positives per label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from toolkit.core.errors import UserError, did_you_mean


def class_weight_vector(
    setting: str | dict[str, float], label_names: list[str], train_labels: Sequence[int]
) -> torch.Tensor:
    """One weight per class id (no `class_weights`: no vector, the plain loss)."""
    if isinstance(setting, str):  # "balanced", the one word config/load.py accepts
        return balanced_weights(label_names, train_labels)
    return named_weights(setting, label_names)


def named_weights(setting: dict[str, float], label_names: list[str]) -> torch.Tensor:
    """{label: weight} -> one weight per label id (labels left out weigh 1)."""
    unknown = [label for label in setting if label not in label_names]
    if unknown:
        raise UserError(
            f"class_weights names {unknown[0]!r}, which is not a training label; the labels "
            f"are: {', '.join(label_names)}.{did_you_mean(unknown[0], label_names)}"
        )
    return torch.tensor([setting.get(name, 1.0) for name in label_names], dtype=torch.float32)


def positive_weight_vector(
    setting: str | dict[str, float], label_names: list[str], train_labels: Sequence[Any]
) -> torch.Tensor:
    """Multi-label: one weight per label on its positive term of the binary cross-entropy
    (torch's `pos_weight`). balanced: negatives / positives of that label in training, so a
    label's present and absent rows weigh the same in total; {label: w}: w (others 1)."""
    if not isinstance(setting, str):  # a str is "balanced", the one word config/load.py accepts
        return named_weights(setting, label_names)
    multi_hot = np.asarray(train_labels, dtype=np.float64).reshape(-1, len(label_names)) > 0.5
    positives = multi_hot.sum(axis=0)
    negatives = len(multi_hot) - positives
    # a label present in every training row (no negatives) or in none keeps weight 1
    weights = np.where((positives > 0) & (negatives > 0), negatives / np.maximum(positives, 1), 1)
    return torch.tensor(weights, dtype=torch.float32)


def balanced_weights(label_names: list[str], train_labels: Sequence[int]) -> torch.Tensor:
    counts = Counter(train_labels)
    total, classes = len(train_labels), len(label_names)
    # a class absent from training (possible only with a ClassLabel feature) adds no loss
    weights = [total / (classes * counts[i]) if counts[i] else 0.0 for i in range(classes)]
    return torch.tensor(weights, dtype=torch.float32)


def describe_weights(
    weights: torch.Tensor, label_names: list[str], what: str = "Class weights in the loss"
) -> str:
    pairs = ", ".join(
        f"{name} {w:.3g}" for name, w in zip(label_names, weights.tolist(), strict=True)
    )
    return f"{what}: {pairs}"
