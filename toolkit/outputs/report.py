"""report.md: one readable page per run, with its PNGs, for someone who was not watching.

Sections: verdict, data (sizes, class balance or a numeric target's spread, lengths or image
sizes, size advice), schedule, training (best epoch, train/validation gap, learning curves),
confusion matrix (or, for regression, predicted vs true; for multi-label, per-label scores),
baselines vs transformer, warnings.
Everything comes from values the run already computed; nothing is re-measured here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets
import numpy as np

from toolkit.advice.baselines.candidate import Baselines
from toolkit.advice.data_size import DataSizeAdvice, format_parameters
from toolkit.advice.diagnosis import Diagnosis
from toolkit.advice.findings import Finding
from toolkit.advice.overfitting import OverfittingSummary
from toolkit.advice.truncation import Truncation
from toolkit.config.derive import Derived
from toolkit.core.columns import column_values, list_lengths
from toolkit.core.markdown import inline
from toolkit.data.label_sets import label_counts
from toolkit.data.labels import class_counts
from toolkit.data.load import LoadedData
from toolkit.data.targets import target_stats
from toolkit.metrics.tag_sets import tag_set
from toolkit.outputs.report_plots import (
    plot_class_balance,
    plot_confusion_matrix,
    plot_learning_curves,
    plot_predicted_vs_true,
    plot_target_histogram,
)
from toolkit.tasks.word_windows import reading_text

if TYPE_CHECKING:
    import datasets

REPORT = "report.md"
CURVES_PNG, CONFUSION_PNG, BALANCE_PNG = (
    "learning_curves.png",
    "confusion_matrix.png",
    "class_balance.png",
)
SCATTER_PNG, TARGETS_PNG = "predicted_vs_true.png", "target_distribution.png"


# ----------------------------------------------------------------------------- data summary


def is_image(value: Any) -> bool:
    return hasattr(value, "size") and hasattr(value, "mode")  # a PIL image


def length_stats(lengths: list[int]) -> dict[str, float]:
    values = np.asarray(lengths)
    return {
        "mean": round(float(values.mean()), 1),
        "median": float(np.median(values)),
        "p90": float(np.percentile(values, 90)),
        "max": int(values.max()),
    }


def data_summary(
    data: LoadedData,
    columns: list[str],
    prepared: datasets.DatasetDict | None = None,
    truncation: Truncation | None = None,
) -> dict[str, Any]:
    """Sizes and class balance per split; text lengths in words (and tokens, with what
    data.max_length cut as the run measured it, when the tokenized splits are given) or image
    sizes for an `image` column."""
    summary: dict[str, Any] = {"sizes": {split: len(ds) for split, ds in data.splits.items()}}
    if "streaming" in data.report:  # data/streaming.py: the train split is the head sample
        summary["streaming"] = data.report["streaming"]
    if data.target.numeric:
        values = {split: list(ds[data.label_column]) for split, ds in data.splits.items()}
        summary["targets"] = {split: target_stats(v) for split, v in values.items()}
        summary["target_values"] = values  # for the histogram
    elif data.tag_scheme is not None:  # entity mentions per type, or words per plain tag
        tags = tag_set(data.tag_scheme, data.label_names)
        summary["class_balance"] = {
            split: tags.counts(ds[data.label_column]) for split, ds in data.splits.items()
        }
        summary["counted"] = tags.counted  # the sizes count sentences
    else:  # examples per class; for label sets, examples carrying each label
        count = label_counts if data.target.label_sets else class_counts
        summary["class_balance"] = {
            split: count(ds[data.label_column], data.label_names)
            for split, ds in data.splits.items()
        }
    train = data.splits["train"]
    if is_image(train[0][columns[0]]):
        sizes = Counter(f"{im.size[0]}x{im.size[1]} {im.mode}" for im in train[columns[0]])
        summary["image_sizes"] = dict(sizes.most_common(5))
        return summary
    words = [
        len(t) if isinstance(t, list) else len(str(t or "").split())  # token lists: words
        for t in column_values(train, columns[0])
    ]
    for column in columns[1:]:  # a text pair: both texts' words
        words = [
            n + len(str(t or "").split())
            for n, t in zip(words, column_values(train, column), strict=True)
        ]
    summary["words"] = length_stats(words)
    train_inputs = prepared["train"] if prepared is not None else None
    # a streamed training split (an IterableDataset) has no lengths to read
    if isinstance(train_inputs, datasets.Dataset) and "input_ids" in train_inputs.column_names:
        tokens = list_lengths(train_inputs, "input_ids").tolist()
        summary["tokens"] = length_stats(tokens)
        if truncation is not None:
            summary["truncated"] = truncation.report_text()
    return summary


def targets_table(summary: dict[str, Any]) -> str:
    """A numeric target's spread per split, and its histogram."""
    splits = list(summary["targets"])
    rows = ["| target | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for stat in ("mean", "std", "min", "max"):
        cells = " | ".join(f"{summary['targets'][s][stat]:.4g}" for s in splits)
        rows.append(f"| {stat} | {cells} |")
    rows.append(
        "| **examples** | " + " | ".join(f"**{n:,}**" for n in summary["sizes"].values()) + " |"
    )
    return "\n".join(rows) + f"\n\n![target distribution]({TARGETS_PNG})\n"


def class_table(summary: dict[str, Any]) -> str:
    names = list(dict.fromkeys(n for counts in summary["class_balance"].values() for n in counts))
    counted = summary.get("counted", "class")
    rows = [
        f"| {counted} | " + " | ".join(summary["sizes"]) + " |",
        "|---|" + "---|" * len(summary["sizes"]),
    ]
    for name in names:
        rows.append(
            f"| {inline(name)} | "
            + " | ".join(str(summary["class_balance"][s].get(name, 0)) for s in summary["sizes"])
            + " |"
        )
    total = "**total**" if counted == "class" else "**sentences**"  # tags: counted in sentences
    rows.append(
        f"| {total} | " + " | ".join(f"**{n:,}**" for n in summary["sizes"].values()) + " |"
    )
    return "\n".join(rows) + f"\n\n![class balance]({BALANCE_PNG})\n"


def data_section(summary: dict[str, Any]) -> str:
    text = targets_table(summary) if "targets" in summary else class_table(summary)
    if "streaming" in summary:
        text += streamed_note(summary["streaming"])
    if "words" in summary:
        w = summary["words"]
        text += (
            f"\nTraining texts: {w['median']:.0f} words median (mean {w['mean']:.0f}, "
            f"90th percentile {w['p90']:.0f}, longest {w['max']:,})."
        )
    if "tokens" in summary:
        t = summary["tokens"]
        text += (
            f" After tokenization: {t['median']:.0f} tokens median, 90th percentile "
            f"{t['p90']:.0f}" + (f"; {summary['truncated']}." if "truncated" in summary else ".")
        )
    if "image_sizes" in summary:
        text += (
            "\nTraining image sizes (most common): "
            + ", ".join(f"{size} ({n:,})" for size, n in summary["image_sizes"].items())
            + "."
        )
    return text + "\n"


def streamed_note(facts: dict[str, Any]) -> str:
    """What a streamed run's data table counts, and what read only the head sample."""
    return (
        f"\nStreamed training data (`data.streaming`), read from the {facts['training']}: the "
        f"train column counts the first {facts['head_sample_rows']:,} training rows read ahead "
        f"(the head sample), not the rows trained on. Validation: {facts['validation']}; "
        f"test: {facts['test']}; neither is trained on. Read from the head sample only: "
        f"{', '.join(facts['read_from_the_head_sample'])}."
        + (f" Processes: {facts['per_process']}." if "per_process" in facts else "")
        + "\n"
    )


# ----------------------------------------------------------------------------- other sections


def advice_section(advice: DataSizeAdvice | None) -> str:
    if not advice:
        return ""
    verdict = "below the advice: see Warnings" if advice.warnings else "enough by the advice"
    smallest = (
        f", smallest {advice.unit} '{advice.smallest_class}' with {advice.smallest_count:,}"
        if advice.per_class
        else ""
    )
    per_class = f"{advice.min_per_class} per {advice.unit} and " if advice.per_class else ""
    return (
        f"\nData size: {advice.train_examples:,} {advice.examples}{smallest}, for a "
        f"model of {format_parameters(advice.num_parameters)} parameters (advice: at least "
        f"{per_class}{advice.min_total:,} in all): {verdict}.\n"
    )


def training_section(o: OverfittingSummary) -> str:
    if o.best_epoch is None:
        return "No evaluation was recorded.\n"
    kept = (
        f"Best evaluation: step **{o.best_step}**"
        if o.streamed  # a stream has no epochs
        else f"Best epoch: **{o.best_epoch:g}** (step {o.best_step})"
    )
    text = (
        f"{kept}, the one kept: validation {o.metric} {o.validation_metric:.4f}, validation "
        f"loss {o.validation_loss:.4f}."
    )
    if o.gap_points is not None:
        text += (
            f" On the fixed training sample at that {'step' if o.streamed else 'epoch'}: "
            f"{o.metric} "
            f"{o.train_sample_metric:.4f}, loss {o.train_sample_loss:.4f}; the "
            f"train/validation gap is {o.gap_text()}."
        )
    text += " Overfitting warning: " + ("**yes** (see Warnings)." if o.warning else "none.")
    return text + f"\n\n![learning curves]({CURVES_PNG})\n"


def per_label_section(report: dict[str, dict[str, float]]) -> str:
    """The test split's precision, recall, F1 and support of every label (threshold 0.5)."""
    rows = ["| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    rows += [
        f"| {inline(name)} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | "
        f"{r['support']} |"
        for name, r in report.items()
    ]
    return (
        "## Per label (test split)\n\nEach label is a yes/no decision: the sigmoid of its "
        "output above 0.5. Support: test examples carrying the label.\n\n" + "\n".join(rows) + "\n"
    )


def findings_section(findings: list[Finding]) -> str:
    """One bullet per finding of the diagnosis rules (docs/run-diagnosis.md)."""
    if not findings:
        return (
            "No rule found the run short: it learned its training data, stopped improving "
            "before the end, did not overfit, and validation separated its epochs "
            "(rules: docs/run-diagnosis.md in the ftk repository).\n"
        )
    return "\n".join(f"- {finding.text}" for finding in findings) + "\n"


def comparison_section(
    baselines: Baselines | None, metrics: dict[str, Any], names: list[str], missing: str = ""
) -> str:
    if not baselines:
        return f"{missing or 'Baselines were not run (`baseline.enabled: false`).'}\n"
    header = (
        ["model"]
        + [f"{split} {n}" for split in ("validation", "test") for n in names]
        + ["training time (s)"]
    )
    rows = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]

    def cells(validation: dict[str, float], test: dict[str, float] | None) -> list[str]:
        return [
            f"{(scores or {}).get(n, float('nan')):.4f}"
            for scores in (validation, test)
            for n in names
        ]

    for r in baselines.scores:
        mark = " (best on validation)" if r.name == baselines.best else ""
        rows.append(
            f"| {r.name}{mark} | " + " | ".join(cells(r.validation, r.test)) + f" | {r.fit_s:.1f} |"
        )
    ours = cells(
        {n: metrics.get(f"eval_{n}", float("nan")) for n in names},
        {n: metrics.get(f"test_{n}", float("nan")) for n in names},
    )
    rows.append(
        "| **transformer** | "
        + " | ".join(ours)
        + f" | {metrics.get('train_runtime', float('nan')):.1f} |"
    )
    if "eval_threshold_tuned" in metrics:  # multi-label: the same model at the tuned threshold
        tuned = cells(
            {n: metrics.get(f"eval_{n}_tuned", float("nan")) for n in names},
            {n: metrics.get(f"test_{n}_tuned", float("nan")) for n in names},
        )
        rows.append(
            f"| **transformer, threshold {metrics['eval_threshold_tuned']:g} (tuned on "
            f"validation)** | " + " | ".join(tuned) + " | |"
        )
    described = "\n".join(
        f"- `{r.name}`: {r.description}" + (f"; kept on validation: {r.chosen}" if r.chosen else "")
        for r in baselines.scores
    )
    read = reading_text(metrics)  # a tagger's test sentences past data.max_length
    return "\n".join(rows) + "\n\n" + described + "\n" + (f"\n{read}\n" if read else "")


def entity_section(per_entity: dict[str, dict[str, float]]) -> str:
    """Token classification with entity tags: the test split's scores per entity type."""
    return (
        "## Entities (test split)\n\nAn entity counts as found when its type and every one of "
        "its words match (seqeval, CoNLL's evaluation); support is the number of true "
        "entities.\n\n" + score_table("entity type", per_entity)
    )


def tag_section(per_tag: dict[str, dict[str, float]]) -> str:
    """Token classification with plain tags (POS): the test split's scores per tag."""
    return (
        "## Tags (test split)\n\nEach word is one prediction of its tag (plain tags have no "
        "entities); support is the number of test words that carry the tag.\n\n"
        + score_table("tag", per_tag)
    )


def score_table(unit: str, scores: dict[str, dict[str, float]]) -> str:
    rows = [
        f"| {unit} | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for name, s in scores.items():
        rows.append(
            f"| {inline(name)} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1-score']:.4f} | "
            f"{int(s['support']):,} |"
        )
    return "\n".join(rows) + "\n"


def derived_text(derived: Sequence[Derived]) -> str:
    """The schedule section's lines on the values chosen for this data (none: nothing)."""
    if not derived:
        return ""
    lines = [f"- `{d.key}` {d.value}: {d.why}" for d in derived]
    return (
        "\n\nChosen for this data (set neither in the recipe nor on the command line, or "
        "released by its `for_this_data`; set a key to choose it):\n\n" + "\n".join(lines)
    )


def write_report(
    output_dir: Path,
    *,
    title: str,
    summary: dict[str, Any],
    schedule: str,
    metrics: dict[str, Any],
    diagnosis: Diagnosis,
    history: list[dict[str, Any]],
    label_names: list[str],
    metric_names: list[str],
) -> Path:
    """report.md and its PNGs in `output_dir`."""
    if "targets" in summary:
        plot_target_histogram(summary["target_values"], output_dir / TARGETS_PNG)
    else:
        plot_class_balance(summary["class_balance"], output_dir / BALANCE_PNG)
    along = "step" if "streaming" in summary else "epoch"  # a stream has no epochs
    plot_learning_curves(history, metric_names[0], output_dir / CURVES_PNG, along)
    test_section = ""
    if "test_confusion_matrix" in metrics:
        plot_confusion_matrix(
            metrics["test_confusion_matrix"], label_names, output_dir / CONFUSION_PNG
        )
        test_section = (
            f"## Confusion matrix (test split)\n\nRows are true classes, columns the "
            f"predictions.\n\n![confusion matrix]({CONFUSION_PNG})\n"
        )
    if "test_per_entity" in metrics:
        test_section = entity_section(metrics["test_per_entity"])
    if "test_per_tag" in metrics:
        test_section = tag_section(metrics["test_per_tag"])
    if "test_predictions" in metrics:
        pairs = metrics["test_predictions"]
        plot_predicted_vs_true(pairs["true"], pairs["predicted"], output_dir / SCATTER_PNG)
        test_section = (
            f"## Predicted vs true (test split)\n\nOne dot per test example; on the "
            f"diagonal the prediction is exact.\n\n![predicted vs true]({SCATTER_PNG})\n"
        )
    if "test_per_label" in metrics:
        test_section = per_label_section(metrics["test_per_label"])
    verdict = diagnosis.verdict.text if diagnosis.verdict else diagnosis.no_verdict
    warned = "\n".join(f"- {w}" for w in diagnosis.warnings) or "None."
    text = f"""# Run report: {title}

**Verdict:** {verdict}

## Diagnosis

{findings_section(diagnosis.findings)}

## Data

{data_section(summary)}{"" if "streaming" in summary else advice_section(diagnosis.data_size)}
## Schedule

{schedule}

## Training

{training_section(diagnosis.overfitting)}
{test_section}
## Baselines vs transformer

{comparison_section(diagnosis.baselines, metrics, metric_names, diagnosis.baselines_missing)}
Training time: the baseline's fit, the transformer's `trainer.train()` (evaluations included).

## Warnings

{warned}
"""
    path = output_dir / REPORT
    path.write_text(text)
    return path
