"""PNG plots of a run's history: loss curves and the learning rate at every step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on training machines
import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def plot_loss(rows: list[dict[str, Any]], path: Path) -> Path:
    train = [(r["step"], r["loss"]) for r in rows if r["kind"] == "train"]
    evals = [(r["step"], r["eval_loss"]) for r in rows if r["kind"] == "eval" and "eval_loss" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        ax.plot(*zip(*train, strict=False), label="training loss")
    if evals:
        ax.plot(*zip(*evals, strict=False), marker="o", label="validation loss")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_title("Loss")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_learning_rate(
    lrs_per_step: list[list[float]],
    path: Path,
    group_names: list[str | None] | None = None,
    title: str = "Learning rate",
) -> Path:
    """One line per parameter group; `lrs_per_step[s][g]` is group g's LR at step s+1.

    Groups sharing a name (a layer's weights with and without weight decay) are drawn once, and
    so are unnamed groups with identical curves; the legend lists the top of the network first.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = range(1, len(lrs_per_step) + 1)
    lines = distinct_lines(lrs_per_step, group_names)
    for label, values in reversed(lines):
        ax.plot(steps, values, label=label)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("learning rate")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(lines) > 1:
        ax.legend(fontsize=7)
    return _save(fig, path)


def distinct_lines(
    lrs_per_step: list[list[float]], group_names: list[str | None] | None
) -> list[tuple[str, list[float]]]:
    groups = len(lrs_per_step[0]) if lrs_per_step else 0
    names = list(group_names or [None] * groups)
    lines: dict[Any, tuple[str, list[float]]] = {}
    for g in range(groups):
        name = names[g] if g < len(names) else None
        values = [row[g] for row in lrs_per_step]
        # Named groups: one line per name. Unnamed (the Trainer's own): one per distinct curve.
        key = name if name else tuple(values)
        lines.setdefault(key, (name if name else f"group {g}", values))
    return list(lines.values())


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
