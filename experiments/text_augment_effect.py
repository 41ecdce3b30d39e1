"""Does `trivial` text augmentation help when labelled data is scarce?

The BBC recipe (configs/text-bbc-minilm.yaml) trained on 10% of its training split
(data.max_train_samples 153 of 1,530), with and without `augment.text: trivial`, for several
seeds. The seed also draws the train/validation/test split, so each seed is a paired
comparison on its own test set; the report gives each arm's mean and spread and the paired
differences.

    flock /tmp/ftk-heavy.lock python experiments/text_augment_effect.py --seeds 1 2 3

Every run is a plain `ftk train` (printed before it starts) into runs/text-augment-effect/;
results go to benchmarks/results/text_augment_effect.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from common import ROOT, ftk, run, run_metrics

RECIPE = "configs/text-bbc-minilm.yaml"
TRAIN_SAMPLES = 153  # 10% of the 1,530 training articles the recipe's split leaves


def command(seed: int, augment: bool, runs: Path, extra: list[str]) -> list[str]:
    name = f"{'trivial' if augment else 'none'}-seed{seed}"
    return ftk(
        "train",
        "--config",
        RECIPE,
        "--overwrite",
        "--seed",
        str(seed),
        "--data.max_train_samples",
        str(TRAIN_SAMPLES),
        "--augment.text",
        "trivial" if augment else "null",
        "--output_dir",
        str(runs / name),
        *extra,
    )


def summary(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.mean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "text-augment-effect")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "text_augment_effect.json"
    )
    args, extra = parser.parse_known_args()  # anything else: ftk train overrides for every run

    rows = []
    for seed in args.seeds:
        for augment in (False, True):
            cmd = command(seed, augment, args.runs, extra)
            print("$ " + " ".join(cmd[1:]).replace("-m toolkit", "ftk", 1), flush=True)
            seconds = run(cmd)
            scores = run_metrics(Path(cmd[cmd.index("--output_dir") + 1]))
            rows.append(
                {
                    "seed": seed,
                    "augment": "trivial" if augment else None,
                    "test_accuracy": scores["test_accuracy"],
                    "test_f1_macro": scores.get("test_f1_macro"),
                    "eval_accuracy": scores.get("eval_accuracy"),
                    "wall_s": round(seconds, 1),
                }
            )
            print(f"  test accuracy {scores['test_accuracy']:.4f}", flush=True)

    off = [r["test_accuracy"] for r in rows if r["augment"] is None]
    on = [r["test_accuracy"] for r in rows if r["augment"] == "trivial"]
    result = {
        "recipe": RECIPE,
        "train_samples": TRAIN_SAMPLES,
        "extra_overrides": extra,
        "runs": rows,
        "none": summary(off),
        "trivial": summary(on),
        "paired_differences": [b - a for a, b in zip(off, on, strict=False)],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    for arm in ("none", "trivial"):
        s = result[arm]
        print(
            f"{arm:<8} test accuracy mean {s['mean']:.4f}  std {s['std']:.4f}  "
            f"range {s['min']:.4f}-{s['max']:.4f}"
        )
    print(
        "paired differences (trivial - none): "
        + ", ".join(f"{d:+.4f}" for d in result["paired_differences"])
    )
    print(f"results: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
