"""A finished run's files (main process only): metrics, baselines, report, model card.
`write_outputs` for fine-tuning, `write_pretrain_outputs` for pre-training; `save_and_finish`
(run/stages.py) calls them, then pushes when asked for."""

from __future__ import annotations

from typing import Any

from toolkit.advice.baselines.fit import write_baselines
from toolkit.advice.diagnosis import Diagnosis
from toolkit.core.log import say
from toolkit.core.run_files import BASELINE_FILE, HISTORY, read_history
from toolkit.outputs.console import describe_pretrain_results, describe_results
from toolkit.outputs.model_card import report_card_section, write_model_card
from toolkit.outputs.pretrain_card import write_pretrain_card
from toolkit.outputs.report import data_summary, derived_text, write_report
from toolkit.outputs.run_dir import remove_checkpoints, write_run_files
from toolkit.run.derived import derived_facts
from toolkit.run.stages import Plan, PreparedData
from toolkit.training.schedules import ScheduleSummary


def write_outputs(
    plan: Plan,
    prepared: PreparedData,
    schedule: ScheduleSummary,
    metrics: dict[str, Any],
    diagnosis: Diagnosis,
    show: bool = True,
) -> None:
    """The run directory's files (main process only); `show`: print the results, once the
    files are final."""
    config, output_dir, data = plan.config, plan.output_dir, prepared.data
    (output_dir / "training_args.bin").unlink(missing_ok=True)  # pickled; run_config.yaml says it
    if diagnosis.baselines:
        write_baselines(output_dir / BASELINE_FILE, diagnosis.baselines)
    write_run_files(output_dir, config, {**metrics, **diagnosis.to_dict(), **derived_facts(config)})
    columns = plan.task.input_columns(config)
    write_report(
        output_dir,
        title=output_dir.name,
        summary=data_summary(data, columns, prepared.splits, prepared.truncation),
        schedule=schedule.text() + derived_text(config.derived),
        metrics=metrics,
        diagnosis=diagnosis,
        history=read_history(output_dir / HISTORY),
        label_names=data.label_names,
        metric_names=config.metrics,
    )
    write_model_card(
        output_dir / "README.md",
        config,
        plan.task.pipeline_tag,
        metrics,
        data.label_names,
        model_name=output_dir.name,
        extra_sections=[report_card_section(diagnosis.verdict, diagnosis.findings)],
        history=read_history(output_dir / HISTORY),
    )
    remove_checkpoints(output_dir)
    if show:
        say(describe_results(metrics, diagnosis, config.metrics, output_dir))


def write_pretrain_outputs(plan: Plan, metrics: dict[str, Any]) -> None:
    config, output_dir = plan.config, plan.output_dir
    (output_dir / "training_args.bin").unlink(missing_ok=True)
    write_run_files(output_dir, config, metrics)
    write_pretrain_card(
        output_dir / "README.md", config, plan.task.pipeline_tag, metrics, output_dir.name
    )
    remove_checkpoints(output_dir)
    say(describe_pretrain_results(metrics, output_dir))
