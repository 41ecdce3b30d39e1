"""The benchmark scripts run in a tiny mode, so they cannot rot (no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(script: str, *args: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--tiny", *args],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_overhead_benchmark_tiny_mode_reports_a_ratio():
    out = run_benchmark("overhead.py", "--steps", "6", "--skip", "1", "--rounds", "1")
    match = re.search(r"ftk / bare throughput: mean ([0-9.]+)", out)
    assert match and float(match.group(1)) > 0
    assert re.search(r"^\s+1\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+$", out, re.M)
