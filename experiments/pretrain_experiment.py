"""Does continued pre-training help a small labelled set? Both arms, several seeds, one table.

    python experiments/pretrain_experiment.py text  --seeds 1 2 3  # MLM on BBC, 10% of labels
    python experiments/pretrain_experiment.py image --seeds 1 2 3  # MIM, Fashion-MNIST, 1k labels

Arm "pretrained": `ftk train --config FINETUNE --pretrain PRETRAIN` (the first seed pre-trains,
the others reuse the finished pre-training output). Arm "direct": the same fine-tuning recipe
and overrides from the recipe's own model (text: the packaged MiniLM; image: a ViT from scratch).
Every run goes through `flock /tmp/ftk-heavy.lock` (machines shared by several jobs), unless
the whole script already runs under it (`flock /tmp/ftk-heavy.lock python ... --no-lock`, which
keeps the seeds back to back). Results
(test accuracy of each run, mean and sample standard deviation per arm) are printed and written
to OUT/results.json; run directories stay under OUT.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from common import HEAVY_LOCK, ROOT, ftk, run, run_metrics

RECIPES = ROOT / "configs"
SETUPS = {
    # Fine-tuning on 10% of BBC's 1,531 training articles (153), for 10 epochs with early
    # stopping; the hold-out is fixed (split_seed 42) so seeds vary only the training run.
    "text": {
        "finetune": RECIPES / "text-bbc-minilm.yaml",
        "pretrain": RECIPES / "mlm-bbc-minilm.yaml",
        "overrides": [
            "--data.max_train_samples",
            "153",
            "--data.split_seed",
            "42",
            "--num_train_epochs",
            "10",
        ],
    },
    # Fine-tuning on 1,000 of Fashion-MNIST's labelled training images; tested on all 10,000.
    "image": {
        "finetune": RECIPES / "vit-fashion-mnist-1k.yaml",
        "pretrain": RECIPES / "mim-fashion-mnist.yaml",
        "overrides": [],
    },
}


def run_ftk(command: list[str], log: Path, lock: bool) -> float:
    print("$ ftk", " ".join(command), flush=True)
    full = ftk(*command)
    return run(["flock", HEAVY_LOCK, *full] if lock else full, log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(SETUPS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", type=Path, default=Path("runs/pretrain-experiment"))
    parser.add_argument(
        "--no-lock", action="store_true", help="the caller already holds /tmp/ftk-heavy.lock"
    )
    args = parser.parse_args()
    setup = SETUPS[args.kind]
    out = args.out / args.kind
    out.mkdir(parents=True, exist_ok=True)
    pretrain_dir = out / "pretrained-base"
    results: dict[str, list[dict]] = {"pretrained": [], "direct": []}
    for seed in args.seeds:
        for arm in results:
            run_dir = out / f"{arm}-seed{seed}"
            command = [
                "train",
                "--config",
                str(setup["finetune"]),
                *setup["overrides"],
                "--seed",
                str(seed),
                "--output_dir",
                str(run_dir),
                "--overwrite",
            ]
            if arm == "pretrained":
                command += ["--pretrain", str(write_pretrain_recipe(setup, pretrain_dir, out))]
            seconds = run_ftk(command, out / f"{arm}-seed{seed}.log", lock=not args.no_lock)
            accuracy = run_metrics(run_dir)["test_accuracy"]
            results[arm].append({"seed": seed, "test_accuracy": accuracy, "wall_s": round(seconds)})
            print(
                f"  {arm:<10} seed {seed}: test accuracy {accuracy:.4f} ({seconds:.0f} s)",
                flush=True,
            )
    summary = {arm: summarize(rows) for arm, rows in results.items()}
    (out / "results.json").write_text(
        json.dumps({"runs": results, "summary": summary}, indent=2) + "\n"
    )
    for arm, s in summary.items():
        print(
            f"{arm:<10} test accuracy {s['mean']:.4f} +- {s['std']:.4f} "
            f"(min {s['min']:.4f}, max {s['max']:.4f}, n={s['n']})"
        )


def write_pretrain_recipe(setup: dict, pretrain_dir: Path, out: Path) -> Path:
    """The pre-training recipe with its output redirected under OUT (so it is reused)."""
    import yaml

    recipe = yaml.safe_load(setup["pretrain"].read_text())
    recipe["output_dir"] = str(pretrain_dir)
    path = out / "pretrain.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def summarize(rows: list[dict]) -> dict:
    values = [r["test_accuracy"] for r in rows]
    return {
        "n": len(values),
        "mean": statistics.mean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


if __name__ == "__main__":
    main()
