"""The run directory's file names, and reading and writing its JSON files.

output_dir/
  model.safetensors, config.json        the fine-tuned model (save_pretrained)
  tokenizer files / preprocessor config the processor, so pipeline() loads the folder
  run_config.yaml                       the resolved config: reruns this run exactly
  metrics.json                          eval_* (validation), test_* (test), per-class report
  history.jsonl                         every optimizer step's LR, logged losses, evaluations
  baseline.json                         cheap baselines on the same splits (advice/baselines)
  report.md + its PNGs                  the readable run report (outputs/report.py)
  loss.png, learning_rate.png           the same, drawn
  README.md                             model card
  search.json, search.db, search.png    `ftk search` only: every trial, the optuna study, the plot
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

RUN_CONFIG = "run_config.yaml"
README = "README.md"  # the model card


METRICS = "metrics.json"


HISTORY = "history.jsonl"


# in output_dir while the run trains: the config it started with, for --resume to check
STARTED_CONFIG = "started_config.yaml"


BASELINE_FILE = "baseline.json"  # written by `ftk baseline` / the baselines of `ftk train`


# `ftk search`: every trial (JSON), the optuna study (SQLite, for --resume), score against the
# most important parameters (PNG), and the folder each trial trains in (removed after it)
SEARCH_JSON = "search.json"
SEARCH_DB = "search.db"
SEARCH_PNG = "search.png"
TRIALS_DIR = "trials"


def read_history(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_json(path: Path, value: Any) -> None:
    """`value` as JSON that every reader parses: NaN and infinities (a metric of an empty
    class, a diverged loss) written as null, never as the bare NaN that is not JSON."""
    text = json.dumps(finite_or_null(value), indent=2, sort_keys=False, allow_nan=False)
    write_text_whole(path, text + "\n")


def write_text_whole(path: Path, text: str) -> None:
    """`text` into `path` through a temporary file beside it and a rename, so a reader (or a
    kill) never meets half a file: the old version or the new one, nothing in between."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def finite_or_null(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_null(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(item) for item in value]
    return value
