"""Cheap baselines on exactly the transformer's splits: is a transformer worth it here?

`run_baselines(config, data)` fits every baseline of the task on the training split and scores
it on validation and test with the run's own metrics (same metric code as the Trainer), timing
fit and predict. The best baseline is picked on *validation* (the test split stays a one-time
look), and `toolkit.verdict` compares it with the fine-tuned model on test.

baseline.json (in the run directory):
    {"task", "fingerprint", "metrics", "best", "baselines": [
        {"name", "description", "fit_s", "predict_s", "validation": {...}, "test": {...}}]}
"""

from __future__ import annotations

from pathlib import Path
from toolkit.core.run_files import BASELINE_FILE
from toolkit.config.schema import RunConfig
from toolkit.metrics.classification import prediction_scorer
from toolkit.advice.baselines.fit import describe_baselines, run_baselines, write_baselines


def baseline_command(config: RunConfig) -> Path:
    """`ftk baseline`: the baselines alone, written to output_dir/baseline.json. Only that file
    is written, so a finished run keeps its other files, and a later `ftk train` into the same
    output_dir accepts the folder and reuses the file (see artifacts.check_output_dir_free)."""
    from toolkit.data.load import load_data
    from toolkit.core.errors import UserError
    from toolkit.core.log import say
    from toolkit.commands.train import describe_data
    from toolkit.tasks import get_task

    output_dir = Path(config.training["output_dir"])
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"output_dir '{output_dir}' is a file; choose a directory path.")
    task = get_task(config.task)
    prediction_scorer(config.metrics)  # a bad metric name fails before the data loads
    data = load_data(config.data, task.input_columns(config), seed=config.training["seed"])
    say(describe_data(data))
    result = run_baselines(config, data)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_baselines(output_dir / BASELINE_FILE, result)
    say(describe_baselines(result))
    say(f"Written: {output_dir / BASELINE_FILE}")
    return output_dir / BASELINE_FILE
