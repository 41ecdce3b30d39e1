"""What a finished run prints: its results, in a few lines a person reads at the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toolkit.advice.diagnosis import Diagnosis
from toolkit.advice.findings import Finding
from toolkit.outputs.report import REPORT


def describe_results(
    metrics: dict[str, Any], diagnosis: Diagnosis, names: list[str], output_dir: Path
) -> str:
    lines = ["", "Results:"]
    for name in ["loss", *names]:
        cells = [
            f"{split} {metrics[f'{prefix}_{name}']:.4f}"
            for split, prefix in (("validation", "eval"), ("test", "test"))
            if f"{prefix}_{name}" in metrics
        ]
        lines.append(f"  {name:<12} " + "   ".join(cells))
    lines.append(f"  wall time    {metrics['total_wall_time_s']:.0f} s")
    lines.append(diagnosis.overfitting.describe())
    lines += diagnosis_lines(diagnosis.findings)
    if diagnosis.verdict:
        lines.append(f"Verdict: {diagnosis.verdict.text}")
    elif diagnosis.baselines_missing:
        lines.append(diagnosis.no_verdict)
    lines.append(f"Report: {output_dir / REPORT}")
    lines.append(f"Run directory: {output_dir}  (model card: {output_dir / 'README.md'})")
    return "\n".join(lines)


def diagnosis_lines(findings: list[Finding]) -> list[str]:
    """The diagnosis of the run, one finding a line (rules: docs/run-diagnosis.md)."""
    if not findings:
        return ["Diagnosis: no rule found the run short (docs/run-diagnosis.md)."]
    return ["Diagnosis:", *(f"  - {finding.text}" for finding in findings)]


def describe_pretrain_results(metrics: dict[str, Any], output_dir: Path) -> str:
    lines = ["", "Results:", f"  validation loss  {metrics['eval_loss']:.4f}"]
    if "eval_perplexity" in metrics:
        lines.append(f"  perplexity       {metrics['eval_perplexity']:.2f}")
    lines.append(f"  wall time        {metrics['total_wall_time_s']:.0f} s")
    lines.append(
        f"Pre-trained model: {output_dir}  (fine-tune it: ftk train --config C "
        f"--model.name_or_path {output_dir})"
    )
    return "\n".join(lines)
