"""What `ftk search` leaves beside the chosen trial's run: search.json (every trial) and
search.png (the score against the most important parameters)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on training machines
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from toolkit.core.run_files import write_json

PLOTTED_PARAMS = 3  # panels in search.png: the most important parameters first


def write_search_json(path: Path, summary: dict[str, Any], trials: list[dict[str, Any]]) -> None:
    write_json(path, {**summary, "trials": trials})


def plot_search(
    path: Path,
    trials: list[dict[str, Any]],
    params: list[str],
    metric: str,
    log_scaled: set[str],
    best: int | None,
) -> Path | None:
    """One panel per parameter (the first PLOTTED_PARAMS of `params`, most important first):
    each trial's best validation score against its value, pruned trials hollow, the chosen one
    starred. None when no trial has a score."""
    scored = [t for t in trials if t.get("value") is not None]
    if not scored:
        return None
    shown = params[:PLOTTED_PARAMS]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.6), squeeze=False)
    for ax, name in zip(axes[0], shown, strict=True):
        draw_panel(ax, scored, name, name in log_scaled, best)
        ax.set_ylabel(f"validation {metric}" if ax is axes[0][0] else "")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Search: validation {metric} of {len(scored)} trials")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw_panel(
    ax: Axes, trials: list[dict[str, Any]], name: str, log: bool, best: int | None
) -> None:
    for state, face in (("COMPLETE", "tab:blue"), ("PRUNED", "none")):
        points = [(t["params"][name], t["value"]) for t in trials if t["state"] == state]
        if points:
            ax.scatter(
                *zip(*points, strict=True),
                facecolors=face,
                edgecolors="tab:blue",
                label=state.lower(),
            )
    chosen = [t for t in trials if t["number"] == best]
    if chosen:
        ax.scatter(
            [chosen[0]["params"][name]],
            [chosen[0]["value"]],
            marker="*",
            s=220,
            color="tab:orange",
            label=f"chosen (trial {best})",
        )
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(name)
    ax.grid(alpha=0.3)


def finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: such a score is written as null."""
    return value if value is not None and math.isfinite(value) else None
