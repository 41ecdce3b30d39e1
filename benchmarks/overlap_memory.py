"""The overlap check's memory and time as the data grows (#34): data/overlap.py (Arrow
normalization, 8-byte hashes, matches confirmed by their texts) beside the method it replaced
(every normalized text kept in a Python set), on the same generated splits, each in a fresh
process so its peak RSS is its own.

    python benchmarks/overlap_memory.py --rows 100000 400000

Prints one JSON line per (rows, method): seconds, peak RSS above the start (the splits are
memory-mapped, so both methods' figures include the text column's pages they read: ~240 MB
at 1M rows), and the warnings' counts, which must agree between the methods.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time

import common  # puts this checkout first on sys.path

WORDS = [f"w{i}" for i in range(5000)]


def splits(rows: int):
    """rows training texts of ~40 words, a tenth as many test texts, 2% copied from training
    (in another case and spacing), and 1% of training texts repeated with another label."""
    import datasets

    rng = random.Random(0)
    texts = [" ".join(rng.choices(WORDS, k=40)) for _ in range(rows)]
    labels = [rng.randrange(4) for _ in range(rows)]
    for i in range(rows // 100):
        texts.append(texts[i])
        labels.append((labels[i] + 1) % 4)
    test = [" ".join(rng.choices(WORDS, k=40)) for _ in range(rows // 10)]
    test[: rows // 50] = [f"  {t.upper()} " for t in texts[: rows // 50]]
    train = datasets.Dataset.from_dict({"text": texts, "label": labels})
    return datasets.DatasetDict(
        {
            "train": train,
            "test": datasets.Dataset.from_dict({"text": test, "label": [0] * len(test)}),
        }
    )


def python_sets(data) -> list[str]:
    """The replaced method: every example's normalized text in a Python set and list."""

    def key(text):
        return " ".join(text.split()).casefold()

    train_keys = [key(t) for t in data["train"]["text"]]
    seen = set(train_keys)
    shared = sum(key(t) in seen for t in data["test"]["text"])
    labels_of: dict[str, set[int]] = {}
    for k, label in zip(train_keys, data["train"]["label"], strict=True):
        labels_of.setdefault(k, set()).add(label)
    torn = sum(len(v) > 1 for v in labels_of.values())
    return [f"{shared:,} of the {len(data['test']):,} test", f"{torn:,} training text(s) appear"]


def hashes(data) -> list[str]:
    from toolkit.core import log
    from toolkit.data.overlap import warn_about_overlap

    log.reset_warnings()
    warn_about_overlap(data, ["text"], "label", ["a", "b", "c", "d"], classes=True)
    return list(log.WARNINGS)


def measure(rows: int, method: str, folder: str) -> dict:
    import datasets

    import toolkit.data.overlap  # noqa: F401  (both methods start with the same modules loaded)

    data = datasets.load_from_disk(folder)  # memory-mapped: its pages count once they are read
    before = common.peak_rss_mb()
    started = time.perf_counter()
    said = (hashes if method == "hashes" else python_sets)(data)
    seconds = time.perf_counter() - started
    peak = common.peak_rss_mb()
    return {
        "rows": rows,
        "method": method,
        "seconds": round(seconds, 2),
        "peak_rss_above_start_mb": round(peak - before, 1),
        "said": [s[:28] for s in said],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 400_000])
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)  # rows method folder
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1], args.one[2])))
        return
    for rows in args.rows:
        folder = tempfile.mkdtemp(prefix=f"overlap-{rows}-")
        splits(rows).save_to_disk(folder)
        for method in ("python_sets", "hashes"):
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(rows), method, folder],
                capture_output=True,
                text=True,
                check=True,
            )
            print(out.stdout.strip(), flush=True)
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
