"""Data at scale (#34): preparation before the first optimizer step, ftk beside a plain
`datasets` script on the same CSV, at growing row counts; and a rerun that changes only the
learning rate (the tokenized splits must come from the cache).

    python benchmarks/scale.py --rows 10000 100000 1000000

For each size it writes a CSV of BBC News sentences (each labelled with its article's topic,
5 classes; sampled with replacement, a row number appended so no two texts are equal), then
runs, one after the other, each in a fresh process with its own empty datasets cache:

  plain   load_dataset('csv'), class_encode_column, two stratified train_test_split calls
          (test 0.2, then validation 0.1), the MiniLM tokenizer mapped batched (max_length 64)
  ftk     the default recipe with data.train_file = the CSV and max_length 64, through
          `plan_run` + `prepare_labelled` + `plan_for_data`: what `ftk train` does before the
          model loads (reading, checks, hold-outs, label encoding, overlap check, tokenization,
          truncation check, class weights)
  rerun   ftk again with another learning_rate and output_dir on the warm cache

and prints one JSON line per run: CPU seconds of the stage (user + system, imports excluded)
and the process's peak RSS; then the ratios ftk/plain and rerun/ftk, and the growth exponent of
each between the sizes (log time / log rows).

    python benchmarks/scale.py --rows --images 10000 50000

does the same for image folders (one subfolder of PNGs per class, Fashion-MNIST's training
images, repeated past 60,000; Debian's dataset-fashion-mnist): `plain` loads the folder with
`load_dataset('imagefolder')` and holds out the same two stratified splits (a plain script
decodes images lazily, in its transform); `ftk` runs the ViT recipe's preparation on the folder
(configs/vit-fashion-mnist.yaml with data.train_dir), which decodes every image once to check
it; `rerun` is ftk again on the warm cache.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import common

MAX_LENGTH = 64


def sentences() -> list[tuple[str, str]]:
    from toolkit.data.builtin import load_bbc_news

    articles = load_bbc_news()
    names = articles.features["label"].names
    rows = []
    for text, label in zip(articles["text"][:], articles["label"][:], strict=True):
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
            if len(sentence.split()) >= 6:
                rows.append((sentence.strip(), names[label]))
    return rows


def write_csv(path: Path, rows: int, pool: list[tuple[str, str]]) -> None:
    rng = random.Random(rows)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i in range(rows):
            text, label = rng.choice(pool)
            writer.writerow([f"{text} ({i})", label])


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def plain(path: str) -> float:
    import datasets
    from transformers import AutoTokenizer

    from toolkit.model.packaged import resolve_model_path

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path("builtin:all-MiniLM-L6-v2"))
    started = cpu_seconds()
    data = datasets.load_dataset("csv", data_files=path)["train"].class_encode_column("label")
    first = data.train_test_split(test_size=0.2, seed=42, stratify_by_column="label")
    second = first["train"].train_test_split(test_size=0.1, seed=42, stratify_by_column="label")
    splits = datasets.DatasetDict(
        {"train": second["train"], "validation": second["test"], "test": first["test"]}
    )
    splits.map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=MAX_LENGTH),
        batched=True,
    )
    return started


def write_image_folder(root: Path, rows: int) -> None:
    """`rows` labelled images as PNGs, one subfolder per class."""
    for i, (image, folder) in enumerate(labelled_images(rows)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        image.save(root / folder / f"{i}.png")


def labelled_images(rows: int) -> Iterator[tuple[Any, str]]:
    """Fashion-MNIST's training images and class names, repeated past 60,000; 28x28 gray noise
    in 10 classes where Debian's dataset-fashion-mnist is not installed (the test suite)."""
    from PIL import Image

    from toolkit.data.builtin import FASHION_MNIST_DIR, load_fashion_mnist

    installed = FASHION_MNIST_DIR.is_dir()
    print(json.dumps({"images": "fashion-mnist" if installed else "noise"}), flush=True)
    if not installed:
        noise = random.Random(rows)
        for i in range(rows):
            yield Image.frombytes("L", (28, 28), noise.randbytes(784)), f"class-{i % 10}"
        return
    train = load_fashion_mnist()["train"]
    names = [name.replace("/", "-") for name in train.features["label"].names]  # T-shirt/top
    for i in range(rows):
        row = train[i % len(train)]
        yield row["image"], names[row["label"]]


def plain_images(folder: str) -> float:
    import datasets

    started = cpu_seconds()
    data = datasets.load_dataset("imagefolder", data_dir=folder)["train"]
    first = data.train_test_split(test_size=0.2, seed=42, stratify_by_column="label")
    first["train"].train_test_split(test_size=0.1, seed=42, stratify_by_column="label")
    return started


def ftk(path: str, learning_rate: str, output_dir: str) -> float:
    from toolkit.config.load import load_config
    from toolkit.run.stages import plan_for_data, plan_run, prepare_labelled

    overrides = ["--data.builtin", "null", "--learning_rate", learning_rate]
    overrides += ["--output_dir", output_dir]
    if Path(path).is_dir():
        recipe = "configs/vit-fashion-mnist.yaml"
        overrides += ["--data.train_dir", path, "--data.test_size", "0.2"]
    else:
        recipe = "configs/text-bbc-minilm.yaml"
        overrides += ["--data.train_file", path, "--data.max_length", str(MAX_LENGTH)]
    config = load_config(recipe, overrides)
    started = cpu_seconds()
    plan = plan_run(config)
    prepared = prepare_labelled(plan)
    plan_for_data(plan, prepared)
    return started


def child(kind: str, path: str, learning_rate: str, output_dir: str) -> None:
    wall = time.perf_counter()
    if kind == "plain":
        started = plain_images(path) if Path(path).is_dir() else plain(path)
    else:  # ftk, rerun
        started = ftk(path, learning_rate, output_dir)
    print(
        json.dumps(
            {
                "cpu_s": round(cpu_seconds() - started, 1),
                "wall_s": round(time.perf_counter() - wall, 1),
                "peak_rss_mb": round(common.peak_rss_mb()),
            }
        )
    )


def run_child(kind: str, path: Path, cache: Path, learning_rate: str, output_dir: Path) -> dict:
    env = {**os.environ, "HF_DATASETS_CACHE": str(cache), "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, __file__, "--child", kind, str(path), learning_rate]
    command.append(str(output_dir))
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=common.ROOT, check=False
    )
    if result.returncode != 0:
        sys.exit(f"{kind} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def exponent(small: tuple[int, float], large: tuple[int, float]) -> float:
    return math.log(large[1] / small[1]) / math.log(large[0] / small[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--images", type=int, nargs="*", default=[], help="image folder sizes")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    pool = sentences() if args.rows else []
    measure("csv", args.rows, lambda path, rows: write_csv(path, rows, pool))
    measure("images", args.images, write_image_folder)


def measure(kind: str, sizes: list[int], write: Any) -> None:
    """The three runs at each size, their ratios, then the growth exponents."""
    seen: dict[str, list[tuple[int, float]]] = {"plain": [], "ftk": [], "rerun": []}
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix=f"scale-{kind}-{rows}-") as folder:
            root = Path(folder)
            data = root / ("train.csv" if kind == "csv" else "images")
            write(data, rows)
            figures = {
                "plain": run_child("plain", data, root / "cache-plain", "0", root / "unused"),
                "ftk": run_child("ftk", data, root / "cache", "1e-4", root / "run-a"),
                "rerun": run_child("rerun", data, root / "cache", "3e-5", root / "run-b"),
            }
            for run, figure in figures.items():
                seen[run].append((rows, figure["cpu_s"]))
                print(json.dumps({"data": kind, "rows": rows, "run": run, **figure}), flush=True)
            ratios = {
                "data": kind,
                "rows": rows,
                "ftk_over_plain_cpu": round(figures["ftk"]["cpu_s"] / figures["plain"]["cpu_s"], 2),
                "rerun_over_ftk_cpu": round(figures["rerun"]["cpu_s"] / figures["ftk"]["cpu_s"], 2),
            }
            print(json.dumps(ratios), flush=True)
    for run, points in seen.items():
        if len(points) > 1:
            growth = round(exponent(points[0], points[-1]), 2)
            print(json.dumps({"data": kind, "run": run, "growth_exponent": growth}))


if __name__ == "__main__":
    main()
