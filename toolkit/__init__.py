"""ftk: fine-tune transformers with one command, on the Hugging Face stack.

The Python API (toolkit/api.py): `toolkit.train`, `search`, `pretrain`, `predict`, `evaluate`,
`push`, `load_config`, the results they return (`RunResult`, `SearchResult`), the config
dataclasses and `UserError`.
They are imported on first use, so `import toolkit` (and `ftk --help`) stays instant; torch and
transformers load when a function is first reached for.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> the module that defines it
EXPORTS = {
    "train": "toolkit.api",
    "search": "toolkit.api",
    "pretrain": "toolkit.api",
    "predict": "toolkit.api",
    "evaluate": "toolkit.api",
    "push": "toolkit.api",
    "load_config": "toolkit.api",
    "RunResult": "toolkit.run.stages",
    "SearchResult": "toolkit.commands.search",
    "UserError": "toolkit.core.errors",
    "RunConfig": "toolkit.config.schema",
    "ModelConfig": "toolkit.config.schema",
    "DataConfig": "toolkit.config.schema",
    "AugmentConfig": "toolkit.config.schema",
    "ScheduleConfig": "toolkit.config.schema",
    "EarlyStoppingConfig": "toolkit.config.schema",
    "BaselineConfig": "toolkit.config.schema",
    "OverfittingConfig": "toolkit.config.schema",
    "MaskingConfig": "toolkit.config.schema",
}
__all__ = ["__version__", *EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in EXPORTS:
        raise AttributeError(f"module 'toolkit' has no attribute '{name}'")
    value = getattr(importlib.import_module(EXPORTS[name]), name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
