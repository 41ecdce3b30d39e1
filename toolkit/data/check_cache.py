"""Data checks remembered beside the data's own cache files.

A check that reads every text of every split (the overlap check: 8 s per million rows) gives
the same findings for the same splits, whatever the learning rate, epochs or output folder of
the run. `remembered` keys its findings by the splits' datasets fingerprints (datasets derives
them from the data files and every operation since: the hold-out's seed and sizes, dropped
rows, encoded labels) plus the check's own inputs, including a version the check raises
whenever its logic changes, and keeps them as a small JSON
file in the training split's cache folder; a rerun on the same splits replays the findings
instead of reading the data again. A changed file, split seed or column makes a new key. Data
held only in memory (no cache file) is checked every time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets

CACHE_PREFIX = "ftk-check"


def remembered(
    check: str, splits: datasets.DatasetDict, inputs: dict[str, Any], run: Callable[[], list[str]]
) -> list[str]:
    """The findings of `check` on `splits` with `inputs` (JSON-serializable): read back when
    these splits were checked before, else `run()` and kept."""
    path = findings_file(check, splits, inputs)
    if path is None:
        return run()
    try:
        return list(json.loads(path.read_text())["findings"])
    except (OSError, ValueError, KeyError):
        pass  # never checked (or a torn file): check again
    findings = run()
    keep(path, findings)
    return findings


def findings_file(check: str, splits: datasets.DatasetDict, inputs: dict[str, Any]) -> Path | None:
    """Where the findings of `check` on these splits live; None for in-memory data."""
    files = splits["train"].cache_files
    if not files:
        return None
    key = {
        "check": check,
        "splits": {name: split._fingerprint for name, split in splits.items()},
        "settings": inputs,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    return Path(files[0]["filename"]).parent / f"{CACHE_PREFIX}-{check}-{digest}.json"


def keep(path: Path, findings: list[str]) -> None:
    """Written whole or not at all (processes of one launch may race); a read-only cache
    folder only means the next run checks again."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        partial.write_text(json.dumps({"findings": findings}))
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
