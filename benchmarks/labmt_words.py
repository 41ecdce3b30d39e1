"""labMT 1.0 word happiness as CSV files for `ftk train` (text-regression).

The language assessment by Mechanical Turk (labMT 1.0; Dodds, Harris, Kloumann, Bliss &
Danforth, "Temporal patterns of happiness and information in a global social network",
PLoS ONE 6(12): e26752, 2011, supporting information S1) rates the 10,222 most frequent words of
Twitter, Google Books, the New York Times and song lyrics for happiness: each word was rated by
50 people on a 1 (sad) to 9 (happy) scale; the file gives the mean (`happs`) and the raters'
standard deviation (`stddev`). The PyPI source distribution of labMTsimple 2.8.8 ships it as
labMTsimple/data/LabMT/labMT1.txt (tab-separated). The package declares no licence (its
PKG-INFO says "License: UNKNOWN"); the word list is the paper's supporting information.

    pip download --no-deps --no-binary :all: labMTsimple==2.8.8 -d /tmp/labmt
    python benchmarks/labmt_words.py /tmp/labmt/labMTsimple-2.8.8.tar.gz data/labmt

shuffles the words once (seed 0) and writes train.csv / validation.csv / test.csv (70 / 10 /
20%) with the columns text (the word as rated, e.g. "laughter", "#music", "gr8"), happiness
(the mean rating, 1-9) and happiness_std (the raters' standard deviation, for the rater-noise
figure of benchmarks/hand_baselines.py; ftk reads text and the label column only).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import tarfile
from pathlib import Path

from common import deal

SHARES = {"train": 0.7, "validation": 0.1, "test": 0.2}
MEMBER = "labMTsimple-2.8.8/labMTsimple/data/LabMT/labMT1.txt"


def words(tgz: Path) -> list[dict]:
    """(word, mean rating, rating std) rows of labMT1.txt, in the file's order (by happiness)."""
    with tarfile.open(tgz) as archive:
        text = archive.extractfile(MEMBER).read().decode("utf-8")
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    header = next(reader)
    assert header[:4] == ["word", "rank", "happs", "stddev"], header
    return [
        {"text": row[0], "happiness": float(row[2]), "happiness_std": float(row[3])}
        for row in reader
        if row
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tgz", type=Path, help="labMTsimple-2.8.8.tar.gz (pip download)")
    parser.add_argument("out", type=Path, help="folder for the CSV files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = words(args.tgz)
    assert len({r["text"] for r in rows}) == len(rows), "duplicate words"
    random.Random(args.seed).shuffle(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    for split, part in deal(rows, SHARES):
        with (args.out / f"{split}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["text", "happiness", "happiness_std"])
            writer.writeheader()
            writer.writerows(part)
        values = [r["happiness"] for r in part]
        print(
            f"{args.out / f'{split}.csv'}: {len(part):,} words, happiness mean "
            f"{statistics.fmean(values):.3f}, std {statistics.pstdev(values):.3f}, "
            f"{min(values):.2f} to {max(values):.2f}"
        )


if __name__ == "__main__":
    main()
