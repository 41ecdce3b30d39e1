"""What knowing nothing about the inputs scores in a run's own loss: the loss of the best
constant answer, the reference the diagnosis holds the training loss against (a model at that
loss has learned nothing). Each target (tasks/targets.py, `prior_loss`) says which of these its
loss is; a numeric target's is the variance of its values (the MSE of predicting their mean).

Class weights change the reference, since they change the loss: a weighted loss is lowest for
a different constant answer, and scores it differently (the formulas below).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import entr  # -x log x, 0 at 0


def entropy_of_shares(counts: ArrayLike, weights: ArrayLike | None = None) -> float:
    """The cross-entropy of the best constant answer over classes with these counts, every
    example weighted by its class's weight as torch's `cross_entropy(weight=w)` weighs it
    (sum w_y l / sum w_y): lowest for the weighted shares n_c w_c / sum n w as the answer,
    where it is their entropy. Unweighted: the entropy of the class shares (ln classes at
    most)."""
    mass = np.asarray(counts, dtype=np.float64)
    if weights is not None:
        mass = mass * np.asarray(weights, dtype=np.float64)
    total = mass.sum()
    return float(entr(mass / total).sum()) if total > 0 else 0.0


def mean_binary_entropy(
    positives: ArrayLike, rows: int, positive_weights: ArrayLike | None = None
) -> float:
    """The binary cross-entropy of the best constant probability per label, averaged over the
    labels as torch's `binary_cross_entropy_with_logits(pos_weight=w)` averages it. A label
    present in a share p of the rows scores -(a log q + b log(1 - q)) with a = w p, b = 1 - p:
    lowest at q = a / (a + b), where it is (a + b) H(a / (a + b)), H the binary entropy.
    Unweighted (w = 1): H(p), the label's own binary entropy."""
    share = np.asarray(positives, dtype=np.float64) / rows
    present = share if positive_weights is None else share * np.asarray(positive_weights)
    scale = present + (1.0 - share)
    best = present / scale
    return float(np.mean(scale * (entr(best) + entr(1.0 - best))))
