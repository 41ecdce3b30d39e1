"""The VADER sentiment-intensity ground truth as a CSV for `ftk train` (text-regression).

Hutto & Gilbert (ICWSM 2014) had about 20 people rate each of 10,605 movie-review sentence
snippets (from Pang & Lee's 2,000 reviews) for sentiment from -4 (most negative) to +4; the
target is their mean. The files ship, MIT licensed, in the PyPI *source* distribution of
vaderSentiment 3.3.2 (additional_resources/hutto_ICWSM_2014.tar.gz; the wheel lacks them):

    pip download --no-deps --no-binary :all: vaderSentiment==3.3.2 -d /tmp/vader
    python benchmarks/vader_snippets.py /tmp/vader/vaderSentiment-3.3.2.tar.gz data/vader

writes data/vader/movie_snippets.csv (columns text, sentiment), and the other three sets
(amazon, nyt, tweets) beside it, in the file order (configs/text-regression-vader-minilm.yaml
holds out validation and test with its seed).
"""

from __future__ import annotations

import argparse
import csv
import io
import tarfile
from pathlib import Path

INNER = "additional_resources/hutto_ICWSM_2014.tar.gz"
SETS = {
    "movie_snippets": "movieReviewSnippets_GroundTruth.txt",
    "amazon_snippets": "amazonReviewSnippets_GroundTruth.txt",
    "nyt_snippets": "nytEditorialSnippets_GroundTruth.txt",
    "tweets": "tweets_GroundTruth.txt",
}


def ground_truth_archive(sdist: Path) -> tarfile.TarFile:
    """The inner archive of ground-truth files, read into memory (2.3 MB)."""
    with tarfile.open(sdist) as outer:
        member = next(m for m in outer.getmembers() if m.name.endswith(INNER))
        data = outer.extractfile(member).read()
    return tarfile.open(fileobj=io.BytesIO(data))


def rows_of(text: str) -> list[tuple[str, float]]:
    """`id <tab> mean rating <tab> text` lines -> (text, mean rating)."""
    rows = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].strip():
            rows.append(("\t".join(parts[2:]).strip(), float(parts[1])))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", type=Path, help="vaderSentiment-3.3.2.tar.gz")
    parser.add_argument("out", type=Path, help="folder for the CSV files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    archive = ground_truth_archive(args.sdist)
    members = {Path(m.name).name: m for m in archive.getmembers()}
    for name, source in SETS.items():
        text = archive.extractfile(members[source]).read().decode("utf-8", errors="replace")
        rows = rows_of(text)
        with (args.out / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "sentiment"])
            writer.writerows(rows)
        print(f"{args.out / f'{name}.csv'}: {len(rows):,} rows")


if __name__ == "__main__":
    main()
