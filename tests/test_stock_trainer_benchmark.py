"""benchmarks/stock_trainer.py: `ftk train` against a stock Trainer run, in its tiny mode (no
timing is asserted), and its arithmetic on hand-made figures."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import load_benchmark

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.e2e
def test_tiny_mode_runs_both_arms_and_prints_their_figures_and_ratios(tmp_path):
    results = tmp_path / "stock.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "stock_trainer.py"), "--tiny"]
    done = subprocess.run(
        [*command, "--rounds", "1", "--json", str(results)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    number = r"\s+([0-9.]+)"
    for arm in ("stock", "ftk"):  # wall s, train s, time to target, test accuracy
        assert re.search(rf"^{arm}{number * 4}$", done.stdout, re.M), done.stdout
    assert re.search(r"^wall_s\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+$", done.stdout, re.M)

    record = json.loads(results.read_text())
    [runs] = record["rounds"]
    for arm in ("stock", "ftk"):
        run = runs[arm]
        assert run["wall_s"] > run["train_s"] > 0 and run["tta_s"] > 0
        assert 0 <= run["test_accuracy"] <= 1 and 0 <= run["eval_accuracy"] <= 1
    assert record["ratios"]["wall_s"] == pytest.approx(
        runs["ftk"]["wall_s"] / runs["stock"]["wall_s"]
    )
    assert record["config"] == "tiny" and record["use_cpu"] is True


def test_rounds_alternate_which_arm_goes_first():
    bench = load_benchmark("stock_trainer")
    assert [bench.arm_order(n) for n in (1, 2, 3)] == [
        ("stock", "ftk"),
        ("ftk", "stock"),
        ("stock", "ftk"),
    ]


def test_summary_takes_medians_per_arm_and_skips_a_target_never_reached():
    bench = load_benchmark("stock_trainer")

    def run(wall, tta):
        return {"wall_s": wall, "train_s": wall - 10, "tta_s": tta, "test_accuracy": 0.9}

    rounds = [
        {"stock": run(100, 50), "ftk": run(110, None)},
        {"stock": run(120, 70), "ftk": run(100, 40)},
        {"stock": run(300, 60), "ftk": run(105, None)},
    ]
    summary = bench.summarize(rounds)
    assert summary["medians"]["stock"]["wall_s"] == 120
    assert summary["medians"]["ftk"]["wall_s"] == 105
    assert summary["medians"]["ftk"]["tta_s"] == 40  # the one round that reached it
    assert summary["ratios"]["wall_s"] == pytest.approx(105 / 120)
    assert summary["ratios"]["tta_s"] == pytest.approx(40 / 60)
    assert summary["ratios"]["test_accuracy"] == 1.0
