"""The embedded default recipe with the real packaged MiniLM and BBC News, for a few steps."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import history_rows


def ftk_executable() -> str:
    """The `ftk` console script installed beside this Python (what users type)."""
    return shutil.which("ftk", path=str(Path(sys.executable).parent)) or "ftk"


@pytest.mark.slow
def test_embedded_default_runs_with_the_real_model(tmp_path):
    run_dir = tmp_path / "bbc"
    result = subprocess.run(
        [
            ftk_executable(),
            "train",
            "--output_dir",
            str(run_dir),
            "--max_steps",
            "6",
            "--data.max_train_samples",
            "96",
            "--data.max_eval_samples",
            "48",
            "--data.max_length",
            "64",
            "--eval_strategy",
            "steps",
            "--save_strategy",
            "steps",
            "--eval_steps",
            "6",
            "--save_steps",
            "6",
            "--logging_steps",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "test_accuracy" in metrics and "eval_f1_macro" in metrics
    assert set(metrics["test_per_class"]) == {
        "business",
        "entertainment",
        "politics",
        "sports",
        "tech",
    }
    config = (run_dir / "config.json").read_text()
    assert '"num_hidden_layers": 6' in config and '"sports"' in config
    losses = [row["loss"] for row in history_rows(run_dir, "train")]
    assert len(losses) == 6 and all(loss > 0 for loss in losses)
