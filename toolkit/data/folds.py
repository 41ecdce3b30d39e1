"""k folds of the labelled data for `ftk search` with `search.folds: k`: the training and
validation splits pooled and cut into k parts, each part the validation split of one fold and
the rest its training split. The test split is never in a fold.

Why pool: on small data one validation split is a few dozen examples, too few to rank trials
(the diagnosis' "noisy selection"); k folds score every trial on every pooled example once.
Folds are stratified by class when each class has at least k examples, so a rare class is in
every fold's validation part; otherwise (and for numeric targets, label sets and tags) they are
drawn at random, said on the console.
"""

from __future__ import annotations

from collections import Counter

import datasets
import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.data.load import LoadedData


def fold_splits(data: LoadedData, k: int, seed: int) -> list[datasets.DatasetDict]:
    """k DatasetDicts of raw rows, each {"train", "validation"}: disjoint validation parts that
    together hold every pooled example once."""
    pooled = datasets.concatenate_datasets([data.splits["train"], data.splits["validation"]])
    if len(pooled) < 2 * k:
        raise UserError(
            f"search.folds is {k} but train + validation hold {len(pooled)} examples: each "
            f"fold needs at least 2. Lower search.folds (or set it to null)."
        )
    rows = np.arange(len(pooled))
    labels = pooled[data.label_column] if data.target.single_class else None
    smallest = min(Counter(labels).values()) if labels is not None else 0
    if labels is not None and smallest >= k:
        cuts = StratifiedKFold(k, shuffle=True, random_state=seed).split(rows, labels)
        how = "stratified by class"
    else:
        cuts = KFold(k, shuffle=True, random_state=seed).split(rows)
        how = (
            f"at random (a class has only {smallest} examples, fewer than {k})"
            if labels is not None
            else "at random"
        )
    folds = [
        datasets.DatasetDict(train=pooled.select(train), validation=pooled.select(held_out))
        for train, held_out in cuts
    ]
    sizes = ", ".join(str(len(f["validation"])) for f in folds)
    say(
        f"k-fold: train + validation ({len(pooled):,} examples) in {k} folds {how}; each trial "
        f"trains {k} models, validated on {sizes} examples, and is scored by their mean"
    )
    return folds
