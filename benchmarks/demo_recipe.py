"""Can the demo recipe train in half the time and keep its accuracy? Shorter recipes, 3 seeds.

`make demo` must finish in 6 minutes, install included (issue 19, item 5), which leaves about
150 s for training where the recipe (3 epochs of 128 tokens, bf16 on this CPU) takes ~300 s.
Each arm below halves the work one way: fewer tokens per article, or fewer epochs of slightly
shorter ones. Every arm trains once per seed on one test split (`data.split_seed` 42, the
demo's), baselines off, the arm order rotating from seed to seed; prints training time, best
epoch and the test metrics, and writes JSON. The recipe's own figures at these seeds are in
BENCHMARKS.md section 8 (bf16: 0.9695 / 0.9601 / 0.9648 test accuracy, ~300 s).

    python benchmarks/demo_recipe.py --seeds 42 43 44 --json benchmarks/results/demo-recipe.json
    python benchmarks/demo_recipe.py --tiny     # seconds: a tiny BERT, for the test suite
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import ftk, make_tiny_recipe, run, run_history, run_metrics
from cpu_bf16 import DEFAULT_RECIPE, SPLIT_SEED, median_step_s

ARMS = {
    "tokens64": ["--data.max_length", "64"],  # headline + first sentences, 3 epochs
    "tokens96-2ep": ["--data.max_length", "96", "--num_train_epochs", "2"],
}


def measure(config: Path, overrides: list[str], arm: str, seed: int, out: Path) -> dict:
    run_dir = out / f"{arm}-seed{seed}"
    started = time.perf_counter()
    command = ["train", "--config", str(config), "--output_dir", str(run_dir), "--seed", str(seed)]
    run(ftk(*command, "--baseline.enabled", "false", *overrides, *ARMS[arm]))
    scores = run_metrics(run_dir)
    evals = [row for row in run_history(run_dir) if row["kind"] == "eval" and "epoch" in row]
    best = max(evals, key=lambda row: row.get("eval_accuracy", 0.0)) if evals else {}
    return {
        "arm": arm,
        "seed": seed,
        "train_s": scores["train_runtime"],
        "wall_s": round(time.perf_counter() - started, 1),
        "median_step_s": median_step_s(run_dir),
        "best_epoch": best.get("epoch"),
        "test_accuracy": scores["test_accuracy"],
        "test_f1_macro": scores.get("test_f1_macro"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_RECIPE)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--tiny", action="store_true", help="a tiny BERT, one seed: seconds")
    args = parser.parse_args()
    overrides = ["--data.split_seed", str(SPLIT_SEED)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if args.tiny:
            args.config, args.seeds = make_tiny_recipe(out), args.seeds[:1]
            overrides += ["--data.test_size", "0.2", "--num_train_epochs", "1"]
        for i, seed in enumerate(args.seeds):
            order = args.arms[i % len(args.arms) :] + args.arms[: i % len(args.arms)]
            for arm in order:
                rows.append(measure(args.config, overrides, arm, seed, out))
                row = rows[-1]
                print(
                    f"{arm:>13} seed {seed}: train {row['train_s']:.1f} s, wall "
                    f"{row['wall_s']:.1f} s, best epoch {row['best_epoch']}, test accuracy "
                    f"{row['test_accuracy']:.4f}, macro-F1 {row['test_f1_macro']:.4f}",
                    flush=True,
                )
    for arm in args.arms:
        mine = [row for row in rows if row["arm"] == arm]
        accuracy = [row["test_accuracy"] for row in mine]
        spread = statistics.stdev(accuracy) if len(accuracy) > 1 else 0.0
        print(
            f"{arm:>13}: median train {statistics.median(r['train_s'] for r in mine):.1f} s, "
            f"test accuracy mean {statistics.mean(accuracy):.4f} +- {spread:.4f} "
            f"({' / '.join(f'{a:.4f}' for a in accuracy)})"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"arms": ARMS, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
