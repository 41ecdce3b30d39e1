"""Outputs that stay bounded however many classes a run has."""

from __future__ import annotations


def test_many_classes_keep_the_top_confusions_not_a_square_matrix():
    import numpy as np

    from toolkit.metrics.test_report import MATRIX_MAX_CLASSES, TOP_CONFUSIONS, confusions

    names = [f"c{i}" for i in range(1000)]
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 1000, 5000)
    predicted = np.where(rng.random(5000) < 0.5, labels, (labels + 1) % 1000)
    predicted[:40] = 7  # one frequent mistake: c{label} -> c7
    found = confusions(labels, predicted, names)
    assert "test_confusion_matrix" not in found
    top = found["test_top_confusions"]
    counts = [count for _, _, count in top]
    assert len(top) == TOP_CONFUSIONS and counts == sorted(counts, reverse=True)
    assert counts[0] >= 2  # the most frequent mistake comes first
    assert all(true != guess for true, guess, _ in top)
    small = confusions(labels[:10] % 3, predicted[:10] % 3, names[:3])
    assert len(small["test_confusion_matrix"]) == 3 <= MATRIX_MAX_CLASSES
