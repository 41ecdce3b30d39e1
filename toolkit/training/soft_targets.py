"""The loss of a batch whose labels are class probabilities (MixUp / CutMix), not class ids.

    loss = sum_i sum_c w_c p_ic (-log q_ic) / sum_i sum_c w_c p_ic

with q = softmax(logits), p the soft targets (each row sums to 1) and w the class weights. Without
`class_weights` (w = 1) that is -sum(p * log_softmax(logits)) / batch size, the cross-entropy
against the soft targets. With one-hot p it is exactly torch's cross_entropy(weight=w) over class
ids, the weighted mean sum_i w_yi l_i / sum_i w_yi, so class weights mean the same in mixed and
unmixed batches. (torch's cross_entropy with probability targets divides by the batch size
whatever the weights, so it would disagree with its own class-id loss once weights are set.)

Why not the model's own loss: given float labels, transformers' classification heads switch
`config.problem_type` to multi_label_classification for good (sigmoid + BCE, and a saved model
that `pipeline()` would then read as multi-label), or, once a class-id batch has set it to
single-label, fail on the shape. The toolkit scores soft labels here and never hands them to
the model.
"""

from __future__ import annotations

import torch


def is_soft(labels: torch.Tensor) -> bool:
    """A (batch, classes) float tensor of probabilities, not a batch of class ids."""
    return labels.is_floating_point() and labels.ndim == 2


def smoothed(targets: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Label smoothing as the Trainer's LabelSmoother applies it to class ids: (1 - eps) p +
    eps / classes (its loss, (1 - eps) nll + eps x mean over classes of -log q, is the
    cross-entropy against that target)."""
    if not epsilon:
        return targets
    return targets * (1.0 - epsilon) + epsilon / targets.shape[-1]


def soft_target_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """The (class-weighted) mean cross-entropy of `logits` against soft `targets` (float32)."""
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    targets = targets.to(device=log_probs.device, dtype=log_probs.dtype)
    if weight is not None:
        targets = targets * weight.to(device=log_probs.device, dtype=log_probs.dtype)
        return -(targets * log_probs).sum() / targets.sum()
    return -(targets * log_probs).sum() / targets.shape[0]
