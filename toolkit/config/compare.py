"""Two configs compared key by key: which dotted keys differ, and how. `ftk search --resume`
and `ftk train --resume` refuse to go on with a config other than the one that started."""

from __future__ import annotations

import json
from typing import Any

from toolkit.config.schema import RunConfig


def comparable(config: RunConfig) -> dict[str, Any]:
    """The config as JSON values (what a study or a checkpoint stores), without output_dir."""
    values = json.loads(json.dumps(config.to_dict(), default=str))
    values.pop("output_dir", None)
    return values


def differing(saved: Any, now: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, saved value, current value) for every key whose values differ."""
    if isinstance(saved, dict) and isinstance(now, dict):
        return [
            diff
            for key in sorted(set(saved) | set(now), key=str)
            for diff in differing(saved.get(key), now.get(key), f"{prefix}{key}.")
        ]
    return [] if saved == now else [(prefix.rstrip("."), saved, now)]


def describe_differences(differences: list[tuple[str, Any, Any]], then: str, now: str) -> str:
    """'learning_rate: 2e-05 in the run, 0.0001 now; ...' (at most 8 keys)."""
    shown = "; ".join(
        f"{key}: {saved!r} {then}, {current!r} {now}" for key, saved, current in differences[:8]
    )
    return shown + (" ..." if len(differences) > 8 else "")
