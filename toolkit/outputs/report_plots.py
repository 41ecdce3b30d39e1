"""The PNGs of report.md: learning curves (training sample vs validation), confusion matrix,
class balance; for a numeric target, predicted vs true and the target's distribution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from toolkit.outputs.plots import _save, plt


def plot_learning_curves(
    rows: list[dict[str, Any]], metric: str, path: Path, along: str = "epoch"
) -> Path:
    """Loss (left) and `metric` (right) per epoch (`along`: "step" for a stream, which has no
    epochs): validation, the fixed training sample, and the Trainer's running training loss;
    the gap between the pairs is the overfitting."""
    evals = first_per_step([r for r in rows if r["kind"] == "eval"])  # drop the final re-score
    samples = [r for r in rows if r["kind"] == "train_sample"]
    train = [r for r in rows if r["kind"] == "train" and along in r]
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(11, 4))
    if train:
        loss_ax.plot(
            [r[along] for r in train],
            [r["loss"] for r in train],
            alpha=0.4,
            color="grey",
            label="training loss (running, logged)",
        )
    for series, prefix, label, color in (
        (samples, "train_sample", "training sample", "C0"),
        (evals, "eval", "validation", "C1"),
    ):
        for ax, key in ((loss_ax, f"{prefix}_loss"), (metric_ax, f"{prefix}_{metric}")):
            points = [(r[along], r[key]) for r in series if key in r]
            if points:
                ax.plot(*zip(*points, strict=False), marker="o", color=color, label=label)
    for ax, name in ((loss_ax, "loss"), (metric_ax, metric)):
        ax.set_xlabel(along)
        ax.set_ylabel(name)
        ax.set_title(f"{name}: training vs validation")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    return _save(fig, path)


def first_per_step(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """After training, the kept model is evaluated once more at the last step: not a new point."""
    seen: set[int] = set()
    kept = []
    for r in rows:
        if r["step"] not in seen:
            seen.add(r["step"])
            kept.append(r)
    return kept


def plot_confusion_matrix(
    matrix: list[list[int]],
    label_names: list[str],
    path: Path,
    title: str = "Confusion matrix (test split)",
) -> Path:
    counts = np.asarray(matrix)
    size = max(4.0, 0.6 * len(label_names) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xticks(range(len(label_names)), label_names, rotation=45, ha="right")
    ax.set_yticks(range(len(label_names)), label_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = counts.max() / 2 if counts.size else 0
    for (i, j), value in np.ndenumerate(counts):
        ax.text(
            j,
            i,
            str(value),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if value > threshold else "black",
        )
    return _save(fig, path)


def plot_class_balance(per_split: dict[str, dict[str, int]], path: Path) -> Path:
    """Grouped bars: examples per class in each split."""
    # every split's names (entity types a split lacks count 0), in the first split's order
    names = list(dict.fromkeys(n for counts in per_split.values() for n in counts))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(names) + 3), 4))
    width = 0.8 / len(per_split)
    for k, (split, counts) in enumerate(per_split.items()):
        heights = [counts.get(n, 0) for n in names]
        ax.bar(np.arange(len(names)) + k * width, heights, width, label=split)
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, rotation=30, ha="right")
    ax.set_ylabel("examples")
    ax.set_title("Class balance")
    ax.legend()
    return _save(fig, path)


def plot_predicted_vs_true(
    true: list[float], predicted: list[float], path: Path, title: str = "Test split"
) -> Path:
    """One dot per example, the diagonal where a prediction is exact."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(true, predicted, s=12, alpha=0.6, color="C0")
    low = min(min(true, default=0.0), min(predicted, default=0.0))
    high = max(max(true, default=1.0), max(predicted, default=1.0))
    ax.plot([low, high], [low, high], color="grey", linestyle="--", label="exact")
    ax.set_xlabel("true value")
    ax.set_ylabel("predicted value")
    ax.set_title(f"{title}: predicted vs true")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_target_histogram(per_split: dict[str, list[float]], path: Path) -> Path:
    """Overlaid histograms of the numeric target, one per split, on shared bins."""
    every = np.concatenate([np.asarray(v, dtype=float) for v in per_split.values()])
    bins = np.histogram_bin_edges(every, bins=min(30, max(5, len(every) // 10))).tolist()
    fig, ax = plt.subplots(figsize=(7, 4))
    for split, values in per_split.items():
        ax.hist(values, bins=bins, alpha=0.5, label=split)
    ax.set_xlabel("target")
    ax.set_ylabel("examples")
    ax.set_title("Target distribution")
    ax.legend()
    return _save(fig, path)
