"""The augmentation-overhead benchmark runs (tiny mode); its timings are not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "image_augment_overhead.py"


def test_benchmark_tiny_mode_reports_both_rates_and_their_ratio(tmp_path):
    out = tmp_path / "result.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--steps", "3", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "augmentation  on:" in result.stdout and "augmentation off:" in result.stdout
    recorded = json.loads(out.read_text())
    on, off = recorded["rates"]["on"][0], recorded["rates"]["off"][0]
    assert on > 0 and off > 0
    assert recorded["ratio"] == on / off
    assert f"ratio on/off (medians): {on / off:.3f}" in result.stdout
