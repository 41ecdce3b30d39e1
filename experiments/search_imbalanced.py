"""Does `ftk search` beat the default recipe on a small, imbalanced set, and both the baseline?

From the packaged BBC News texts, each seed draws three topics at 65/25/10% (sports, business,
tech): 600 training texts, 60 validation, 100 test, disjoint. On each it runs

  * the class-balanced TF-IDF baseline: ftk's TF-IDF features (length-aware, as its own
    baseline) and a logistic regression with class_weight="balanced", fitted on the 600;
  * the default recipe, `ftk train --config configs/text-bbc-minilm.yaml` on those files;
  * `ftk search` on the same recipe with a fixed --budget;

all selecting on validation macro-F1 (`--metrics [f1_macro,accuracy]`), and prints test
macro-F1 of each.

    python experiments/search_imbalanced.py --seeds 1 2 3 --budget 10m --data.max_length 64

Extra arguments go to every ftk run as overrides (e.g. `--data.max_length 64`). Runs go to
runs/search-imbalanced/; results to benchmarks/results/search_imbalanced.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline

from toolkit.advice.baselines.text import tfidf_features
from toolkit.data.builtin import load_bbc_news

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from common import ROOT, ftk, run, run_metrics

RECIPE = "configs/text-bbc-minilm.yaml"
TOPICS = {"sports": 0.65, "business": 0.25, "tech": 0.10}  # share of every split
SPLIT_SIZES = {"train": 600, "validation": 60, "test": 100}


def imbalanced_splits(seed: int, sizes: dict[str, int]) -> dict[str, list[tuple[str, str]]]:
    """(text, topic) rows per split, each split at the TOPICS shares, drawn without overlap."""
    data = load_bbc_news()
    names = data.features["label"].names
    by_topic: dict[str, list[str]] = {topic: [] for topic in TOPICS}
    for text, label in zip(data["text"], data["label"], strict=True):
        if names[label] in by_topic:
            by_topic[names[label]].append(text)
    rng = random.Random(seed)
    for texts in by_topic.values():
        rng.shuffle(texts)
    splits: dict[str, list[tuple[str, str]]] = {}
    for split, size in sizes.items():
        rows = []
        for topic, share in TOPICS.items():
            count = round(size * share)
            rows += [(by_topic[topic].pop(), topic) for _ in range(count)]
        rng.shuffle(rows)
        splits[split] = rows
    return splits


def write_splits(folder: Path, splits: dict[str, list[tuple[str, str]]]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, rows in splits.items():
        paths[split] = folder / f"{split}.csv"
        with paths[split].open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("text", "label"))
            writer.writerows(rows)
    return paths


def balanced_tfidf_f1(splits: dict[str, list[tuple[str, str]]]) -> float:
    texts, labels = zip(*splits["train"], strict=True)
    model = make_pipeline(
        tfidf_features(), LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")
    )
    model.fit(texts, labels)
    test_texts, test_labels = zip(*splits["test"], strict=True)
    return float(f1_score(test_labels, model.predict(test_texts), average="macro"))


def ftk_command(
    verb: str, files: dict[str, Path], seed: int, out: Path, extra: list[str]
) -> list[str]:
    return ftk(
        verb,
        "--config",
        RECIPE,
        "--overwrite",
        "--seed",
        str(seed),
        "--data.train_file",
        str(files["train"]),
        "--data.validation_file",
        str(files["validation"]),
        "--data.test_file",
        str(files["test"]),
        "--metrics",
        "[f1_macro,accuracy]",
        "--baseline.enabled",
        "false",  # fitted here, class-balanced
        "--output_dir",
        str(out),
        *extra,
    )


def run_ftk(cmd: list[str], log: Path) -> tuple[dict, float]:
    print("$ " + " ".join(cmd[1:]).replace("-m toolkit", "ftk", 1), flush=True)
    seconds = run(cmd, log)
    return run_metrics(Path(cmd[cmd.index("--output_dir") + 1])), round(seconds, 1)


def one_seed(seed: int, args: argparse.Namespace, extra: list[str]) -> dict:
    folder = args.runs / f"seed{seed}"
    sizes = {k: max(10, round(v * args.scale)) for k, v in SPLIT_SIZES.items()}
    splits = imbalanced_splits(seed, sizes)
    files = write_splits(folder / "data", splits)
    row: dict = {"seed": seed, "sizes": sizes, "tfidf_balanced_f1": balanced_tfidf_f1(splits)}
    default, row["default_wall_s"] = run_ftk(
        ftk_command("train", files, seed, folder / "default", extra), folder / "default.log"
    )
    search_cmd = ftk_command("search", files, seed, folder / "search", extra)
    searched, row["search_wall_s"] = run_ftk(
        [*search_cmd, "--budget", args.budget], folder / "search.log"
    )
    found = json.loads((folder / "search" / "search.json").read_text())
    row.update(
        default_f1=default["test_f1_macro"],
        default_eval_f1=default["eval_f1_macro"],
        search_f1=searched["test_f1_macro"],
        search_eval_f1=searched["eval_f1_macro"],
        trials=len(found["trials"]),
        pruned=sum(t["pruned"] for t in found["trials"]),
        best_params=found["best_params"],
        stopped_because=found["stopped_because"],
    )
    print(
        f"  seed {seed}: test macro-F1 tfidf-balanced {row['tfidf_balanced_f1']:.4f}  "
        f"default {row['default_f1']:.4f} ({row['default_wall_s']:.0f} s)  search "
        f"{row['search_f1']:.4f} ({row['trials']} trials, {row['pruned']} pruned, "
        f"{row['search_wall_s']:.0f} s)",
        flush=True,
    )
    return row


def mean_std(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} +- {spread:.4f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--budget", default="5m", help="ftk search --budget of every seed")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="split sizes x this (--tiny: a small set)"
    )
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "search-imbalanced")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "benchmarks" / "results" / "search_imbalanced.json"
    )
    args, extra = parser.parse_known_args()  # anything else: overrides for every ftk run

    rows = []
    for seed in args.seeds:
        rows.append(one_seed(seed, args, extra))
        # written after every seed: a stopped benchmark keeps the seeds it finished
        result = {"recipe": RECIPE, "budget": args.budget, "extra_overrides": extra, "runs": rows}
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"test macro-F1 over seeds {args.seeds} (mean +- std):")
    for name, key in (
        ("TF-IDF balanced", "tfidf_balanced_f1"),
        ("default recipe", "default_f1"),
        (f"ftk search {args.budget}", "search_f1"),
    ):
        print(f"  {name:<18} {mean_std([r[key] for r in rows])}")
    print(f"results: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
