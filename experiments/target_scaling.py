"""How a regression head meets the target's units: the three `model.target_scaling` arms on one
data set, same recipe and seed, one run at a time.

    python experiments/target_scaling.py --name vader-3000x1 \\
        --train-file data/vader/movie_snippets.csv -- --data.max_train_samples 3000 \\
        --num_train_epochs 1
    python experiments/target_scaling.py --name vader-3000x1 --report-only \\
        --train-file data/vader/movie_snippets.csv -- --data.max_train_samples 3000 \\
        --num_train_epochs 1     # the same arguments: the commands recorded are rebuilt

Each arm is `ftk train --config configs/text-regression-vader-minilm.yaml` with the training
file, `--model.target_scaling ARM`, the overrides after `--` and the cheap settings in COMMON
(bf16 autocast on the CPU, no baselines: they do not change the model). The runs hold
/tmp/ftk-heavy.lock so heavy jobs on a shared machine run one at a time; a run whose
metrics.json exists is not repeated. Writes the figures (test rmse, mae, pearson, spearman and
the spread of the test predictions against the targets') to
benchmarks/results/target-scaling-NAME.json and prints the Markdown table docs/experiments.md
quotes.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from common import HEAVY_LOCK, ROOT, ftk, run, run_metrics

CONFIG = "configs/text-regression-vader-minilm.yaml"
ARMS = ("none", "mean", "standardise")  # none: the head as transformers builds it (the old way)
COMMON = ["--bf16", "true", "--use_cpu", "true", "--baseline.enabled", "false"]


def command(train_file: str, arm: str, run_dir: Path, extra: list[str]) -> list[str]:
    return ftk(
        "train",
        "--config",
        CONFIG,
        "--data.train_file",
        train_file,
        "--model.target_scaling",
        arm,
        *COMMON,
        *extra,
        "--output_dir",
        str(run_dir.relative_to(ROOT)),
    )


def figures(run_dir: Path, seconds: float | None) -> dict[str, float | None]:
    metrics = run_metrics(run_dir)
    saved = metrics["test_predictions"]
    predicted, true = np.asarray(saved["predicted"]), np.asarray(saved["true"])
    out: dict[str, float | None] = {
        name: metrics[f"test_{name}"] for name in ("rmse", "mae", "pearson", "spearman")
    }
    out.update(
        {
            "eval_rmse": metrics["eval_rmse"],
            "predicted_mean": float(predicted.mean()),
            "predicted_std": float(predicted.std()),
            "predicted_min": float(predicted.min()),
            "predicted_max": float(predicted.max()),
            "true_mean": float(true.mean()),
            "true_std": float(true.std()),
            "best_step": metrics.get("best_checkpoint_step"),
            "train_runtime_s": metrics.get("train_runtime"),
            "wall_s": seconds,
        }
    )
    return out


def rmse_gain_interval(run_dir: Path, reference: Path, draws: int = 2000) -> list[float]:
    """The 95% paired-bootstrap interval of the test rmse `reference` loses to `run_dir`, in
    percent of the reference's (the same test examples resampled for both)."""
    ours, theirs = (run_metrics(d)["test_predictions"] for d in (run_dir, reference))
    true = np.asarray(ours["true"])
    ours_sq = (np.asarray(ours["predicted"]) - true) ** 2
    theirs_sq = (np.asarray(theirs["predicted"]) - true) ** 2
    rows = np.random.default_rng(0).integers(0, len(true), (draws, len(true)))
    ours_rmse, theirs_rmse = np.sqrt(ours_sq[rows].mean(1)), np.sqrt(theirs_sq[rows].mean(1))
    gains = 100 * (theirs_rmse - ours_rmse) / theirs_rmse
    return [float(np.percentile(gains, 2.5)), float(np.percentile(gains, 97.5))]


def table(results: dict[str, dict]) -> str:
    lines = [
        "| target_scaling | val rmse | test rmse | test mae | test pearson | test spearman "
        "| predictions: mean, std (min to max) | targets: mean, std "
        "| test rmse gain over none (95% interval) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for arm, f in results.items():
        gain = f.get("rmse_gain_over_none")
        interval = f"{gain[0]:+.1f} to {gain[1]:+.1f}%" if gain else "-"
        lines.append(
            f"| {arm} | {f['eval_rmse']:.4f} | {f['rmse']:.4f} | {f['mae']:.4f} | "
            f"{f['pearson']:.4f} | {f['spearman']:.4f} | {f['predicted_mean']:.2f}, "
            f"{f['predicted_std']:.2f} ({f['predicted_min']:.2f} to {f['predicted_max']:.2f}) | "
            f"{f['true_mean']:.2f}, {f['true_std']:.2f} | {interval} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="names the runs' folder and the results")
    parser.add_argument("--train-file", default="data/vader/movie_snippets.csv")
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("extra", nargs="*", help="more ftk train overrides (after --)")
    args = parser.parse_args()
    runs = ROOT / "runs" / "target-scaling" / args.name
    results_file = ROOT / "benchmarks" / "results" / f"target-scaling-{args.name}.json"
    runs.mkdir(parents=True, exist_ok=True)
    saved = json.loads(results_file.read_text()) if results_file.exists() else {}
    results = saved.get("results", {})
    for arm in args.arms:
        run_dir = runs / arm
        cmd = command(args.train_file, arm, run_dir, args.extra)
        seconds = None
        if not (run_dir / "metrics.json").exists() and not args.report_only:
            with open(HEAVY_LOCK, "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                seconds = run(cmd, log=runs / f"{arm}.log")
        if (run_dir / "metrics.json").exists():
            previous = results.get(arm, {}).get("wall_s")
            results[arm] = {
                "command": " ".join(cmd[2:]),
                **figures(run_dir, seconds or previous),
            }
            if arm != "none" and (runs / "none" / "metrics.json").exists():
                results[arm]["rmse_gain_over_none"] = rmse_gain_interval(run_dir, runs / "none")
    results_file.write_text(
        json.dumps({"config": CONFIG, "train_file": args.train_file, "results": results}, indent=1)
        + "\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
