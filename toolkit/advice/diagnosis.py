"""Everything the advice stage concluded about one run, handed to the outputs in one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toolkit.advice.baselines.candidate import Baselines
from toolkit.advice.data_size import DataSizeAdvice
from toolkit.advice.findings import Finding
from toolkit.advice.overfitting import OverfittingSummary
from toolkit.advice.verdict import Verdict


@dataclass
class Diagnosis:
    data_size: DataSizeAdvice
    overfitting: OverfittingSummary
    baselines: Baselines | None = None  # None: baseline.enabled is off (or they failed)
    verdict: Verdict | None = None  # None: no baselines, or no test split
    warnings: list[str] = field(default_factory=list)  # every warning of the run, in order
    findings: list[Finding] = field(default_factory=list)  # why the run fell short (findings.py)
    # why there is no baseline comparison though baseline.enabled is on: they are still to be
    # fitted (the model is saved first), or they failed; and the command that fits them alone
    baselines_missing: str = ""

    @property
    def no_verdict(self) -> str:
        """The report's verdict line when there is none."""
        if self.baselines_missing:
            return f"No verdict yet: {self.baselines_missing}"
        return "No verdict: baselines off or no test split."

    def to_dict(self) -> dict[str, Any]:
        """The keys metrics.json holds beside the Trainer's numbers (baselines have their
        own file, baseline.json)."""
        return {
            "overfitting": self.overfitting.to_dict(),
            "data_size": self.data_size.to_dict(),
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "diagnosis": [finding.to_dict() for finding in self.findings],
            "warnings": list(self.warnings),
            **({"baselines_missing": self.baselines_missing} if self.baselines_missing else {}),
        }
