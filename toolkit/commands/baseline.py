"""`ftk baseline`: the cheap baselines alone, fitted on exactly the splits `ftk train` uses."""

from __future__ import annotations

from pathlib import Path

from toolkit.advice.baselines.fit import describe_baselines, run_baselines, write_baselines
from toolkit.config.schema import RunConfig
from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.core.run_files import BASELINE_FILE
from toolkit.run.stages import load_labelled_data, metrics_for_data
from toolkit.tasks import get_task, target_of


def baseline_command(config: RunConfig) -> Path:
    """Writes output_dir/baseline.json and nothing else, so a finished run keeps its other
    files, and a later `ftk train` into the same output_dir accepts the folder and reuses the
    file (see outputs.run_dir.check_output_dir_free)."""
    output_dir = Path(config.training["output_dir"])
    if output_dir.exists() and not output_dir.is_dir():
        raise UserError(f"output_dir '{output_dir}' is a file; choose a directory path.")
    task = get_task(config.task)
    # a bad metric name fails before the data loads
    target_of(task, config.task).scorer(config.metrics, config.trust_metric_code)
    data = load_labelled_data(config, task)
    say(data.describe())
    config = metrics_for_data(config, task, data)  # as `ftk train` orders them
    result = run_baselines(config, data)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_baselines(output_dir / BASELINE_FILE, result)
    say(describe_baselines(result))
    say(f"Written: {output_dir / BASELINE_FILE}")
    return output_dir / BASELINE_FILE
