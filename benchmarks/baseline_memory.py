"""Where the baselines' memory goes on a large text run: the process's RSS after each part of
ftk's own baseline stage, and its peak within each part (a thread samples RSS every 50 ms).

    python benchmarks/scale.py --rows 1000000      # writes the 1M-row CSV it measures, or:
    python benchmarks/baseline_memory.py data.csv [--max-length 64]

The run is the default recipe on `data.csv` (`--data.builtin null --data.train_file`), prepared
as `ftk train` prepares it; then, part by part, what `advice/baselines/fit.run_baselines` does:
the training sample (`baseline.max_train_rows`), the baselines' inputs (one string per row of
every split), the labels, and each candidate fitted, tuned and scored on validation and test.
BENCHMARKS.md section 14 has the figures at 1M rows.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from toolkit.advice.baselines import fit
from toolkit.advice.baselines.candidate import score_candidate
from toolkit.config.load import load_config
from toolkit.run.stages import plan_for_data, plan_run, prepare_labelled
from toolkit.tasks import get_task


class RssWatch:
    """The process's RSS now, and its peak since the last mark (sampled by a thread)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        threading.Thread(target=self.sample, daemon=True).start()

    def sample(self) -> None:
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)

    def mark(self, part: str) -> None:
        gc.collect()
        now = self.process.memory_info().rss
        print(f"{part:<44} RSS {now / 2**20:7,.0f} MB   peak within {self.peak / 2**20:7,.0f} MB")
        self.peak = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", help="a text,label CSV (benchmarks/scale.py writes one)")
    parser.add_argument("--max-length", default="64")
    args = parser.parse_args()
    watch = RssWatch()
    with tempfile.TemporaryDirectory() as run_dir:
        overrides = ["--data.builtin", "null", "--data.train_file", args.csv]
        overrides += ["--data.max_length", args.max_length, "--output_dir", run_dir]
        config = load_config("configs/text-bbc-minilm.yaml", overrides)
        plan = plan_run(config)
        prepared = prepare_labelled(plan)
        plan, _ = plan_for_data(plan, prepared)
        config = plan.config
        watch.mark("prepared (before the baselines)")
        data = fit.with_training_sample(
            prepared.data, config.baseline.max_train_rows, config.split_seed
        )
        watch.mark("training sample")
        candidates, inputs = fit.candidates_and_inputs(config, data)
        watch.mark("inputs")
        labels = {s: fit.label_values(ds[data.label_column]) for s, ds in data.splits.items()}
        watch.mark("labels")
        target = get_task(config.task, config.data.tag_scheme).target
        assert target is not None
        score = target.scorer(config.metrics, config.trust_metric_code, data.label_names)
        for candidate in candidates:
            result = score_candidate(candidate, inputs, labels, score, config.metrics[0])
            watch.mark(f"{candidate.name} ({result.chosen or 'no grid'})")


if __name__ == "__main__":
    main()
