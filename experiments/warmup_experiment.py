"""Warm-up at a high peak LR: the BBC recipe with and without warm-up, several seeds each.

    python experiments/warmup_experiment.py --peak-lr 1e-3   # runs what is missing, then reports
    python experiments/warmup_experiment.py --peak-lr 2e-3
    python experiments/warmup_experiment.py --peak-lr 1e-3 --report-only   # table + plot only

Every run is `ftk train` on configs/text-bbc-minilm.yaml with the cheaper overrides in
COMMON (32-token inputs, 1 epoch = 96 updates) and the arm's warm-up; the runs hold
/tmp/ftk-heavy.lock so heavy jobs on a shared machine run one at a time. A run whose
metrics.json exists is not repeated. Writes the Markdown table to benchmarks/results/ and the
early-training loss plot to docs/ (docs/experiments.md quotes both).
"""

from __future__ import annotations

import argparse
import fcntl
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from common import HEAVY_LOCK, ROOT, ftk, run, run_history, run_metrics

RUNS = ROOT / "runs" / "warmup-experiment"
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"
CONFIG = "configs/text-bbc-minilm.yaml"
COMMON = [
    "--data.max_length",
    "32",
    "--num_train_epochs",
    "1",
    "--logging_steps",
    "4",
    "--early_stopping.patience",
    "null",
]
ARMS = {  # the recipe's warm-up is a fraction; null it before giving steps
    "no warm-up": ["--schedule.warmup_fraction", "null", "--schedule.warmup_steps", "0"],
    "10% linear warm-up": ["--schedule.warmup_fraction", "0.1"],
}
SEEDS = (1, 2, 3)
EARLY_STEPS = (8, 20, 40, 60, 96)  # steps at which the training loss is tabulated


def run_dir(lr: str, arm: str, seed: int) -> Path:
    return RUNS / f"lr{lr}" / f"{arm.split()[0].replace('%', 'pct')}-seed{seed}"


def command(lr: str, arm: str, seed: int) -> list[str]:
    return ftk(
        "train",
        "--config",
        CONFIG,
        "--learning_rate",
        lr,
        *COMMON,
        *ARMS[arm],
        "--seed",
        str(seed),
        "--output_dir",
        str(run_dir(lr, arm, seed)),
        "--overwrite",
    )


def run_missing(lr: str) -> None:
    """All missing runs under one hold of the heavy-job lock (one wait, not one per run)."""
    missing = [
        (arm, seed)
        for seed in SEEDS
        for arm in ARMS
        if not (run_dir(lr, arm, seed) / "metrics.json").is_file()
    ]
    if not missing:
        return
    with open(HEAVY_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the same lock `flock /tmp/ftk-heavy.lock` takes
        for arm, seed in missing:
            print("$", " ".join(command(lr, arm, seed)), flush=True)
            run(command(lr, arm, seed))


def load(lr: str, arm: str, seed: int) -> tuple[dict, list[tuple[int, float]]]:
    folder = run_dir(lr, arm, seed)
    losses = [(r["step"], r["loss"]) for r in run_history(folder) if r["kind"] == "train"]
    return run_metrics(folder), losses


def loss_at(losses: list[tuple[int, float]], step: int) -> float:
    """The logged training loss of the logging window that ends at or just after `step`."""
    return next(loss for s, loss in losses if s >= step)


def spread(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def report(lr: str) -> str:
    header = [
        "arm",
        "test accuracy per seed",
        "mean ± sd",
        "test macro-F1 mean ± sd",
        *[f"train loss @{s}" for s in EARLY_STEPS],
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    curves = {}
    for arm in ARMS:
        runs = [load(lr, arm, seed) for seed in SEEDS]
        accuracy = [m["test_accuracy"] for m, _ in runs]
        f1 = [m["test_f1_macro"] for m, _ in runs]
        early = [statistics.mean(loss_at(losses, s) for _, losses in runs) for s in EARLY_STEPS]
        lines.append(
            f"| {arm} | {', '.join(f'{a:.4f}' for a in accuracy)} | {spread(accuracy)} "
            f"| {spread(f1)} | " + " | ".join(f"{v:.3f}" for v in early) + " |"
        )
        curves[arm] = [losses for _, losses in runs]
    lines.append("")
    lines.append(
        f"Peak LR {lr}; seeds {', '.join(map(str, SEEDS))}; train loss columns are "
        f"the mean over seeds of the loss logged every 4 steps."
    )
    plot(curves, lr)
    return "\n".join(lines) + "\n"


def plot(curves: dict[str, list[list[tuple[int, float]]]], lr: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for color, (arm, runs) in zip(("tab:red", "tab:blue"), curves.items(), strict=False):
        for i, losses in enumerate(runs):
            for ax, last in zip(axes, (40, None), strict=False):
                shown = [(s, v) for s, v in losses if last is None or s <= last]
                ax.plot(
                    *zip(*shown, strict=False),
                    color=color,
                    alpha=0.7,
                    label=arm if i == 0 else None,
                )
    for ax, title in zip(axes, ("first 40 steps", "whole run (1 epoch)"), strict=False):
        ax.set_title(f"Training loss, {title} (peak LR {lr})")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(DOCS / f"warmup_experiment_loss_lr{lr}.png", dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peak-lr", default="1e-3", help="learning_rate of every run")
    parser.add_argument("--report-only", action="store_true")
    options = parser.parse_args()
    if not options.report_only:
        run_missing(options.peak_lr)
    table = report(options.peak_lr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"warmup_experiment_lr{options.peak_lr}.md"
    path.write_text(table)
    print(table)
    print(f"Table: {path}\nPlot: {DOCS / f'warmup_experiment_loss_lr{options.peak_lr}.png'}")


if __name__ == "__main__":
    main()
