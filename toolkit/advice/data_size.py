"""Data-size advice before training: are there enough labelled examples for this model?

Thresholds (reasoning in docs/data-size-advice.md):
- MIN_PER_CLASS labelled training examples in the smallest class;
- MIN_TOTAL labelled training examples in all, for a model of REFERENCE_PARAMETERS or fewer,
  growing in proportion to the parameter count above that (a bigger model has more to fit and
  fine-tunes less stably on small sets).
Below either, the run goes on but warns and says what to try instead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from toolkit.core.log import say, warn

if TYPE_CHECKING:
    from torch import nn

MIN_PER_CLASS = 100  # examples in the smallest class
# classes are uneven when the largest holds this many times the smallest's examples, or more
UNEVEN_RATIO = 5
MIN_TOTAL = 1000  # examples in all, for models up to REFERENCE_PARAMETERS
REFERENCE_PARAMETERS = 110_000_000  # BERT-base

SUGGESTIONS = (
    "augmentation (the `augment` section), continued pre-training on unlabelled "
    "in-domain text or images, a smaller model, or the cheap baseline (`ftk baseline`)"
)


def min_total(num_parameters: int) -> int:
    return max(MIN_TOTAL, round(MIN_TOTAL * num_parameters / REFERENCE_PARAMETERS))


def format_parameters(count: int) -> str:
    """22_700_000 -> '22.7M'; 33_000 -> '33k'."""
    return f"{count / 1e6:.1f}M" if count >= 1e6 else f"{count / 1e3:.0f}k"


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# what a tagging unit counts per tag (classes count labelled examples)
COUNTED = {"entity type": "mentions", "tag": "words"}


@dataclass
class DataSizeAdvice:
    """The figures the advice is based on, and its warnings (empty: enough data)."""

    train_examples: int
    per_class: dict[str, int]
    smallest_class: str
    num_parameters: int
    min_per_class: int
    min_total: int
    warnings: list[str]
    # what per_class counts: "class" (labelled examples), "entity type" (token
    # classification with entity tags: mentions) or "tag" (plain tags such as POS: words);
    # for both tag units train_examples counts sentences
    unit: str = "class"

    @property
    def counted(self) -> str:
        return COUNTED.get(self.unit, "labelled training examples")

    @property
    def examples(self) -> str:
        return "training sentences" if self.unit in COUNTED else "labelled training examples"

    @property
    def smallest_count(self) -> int:
        return self.per_class.get(self.smallest_class, self.train_examples)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def data_size_advice(
    class_counts: dict[str, int],
    num_parameters: int,
    total: int | None = None,
    unit: str = "class",
) -> DataSizeAdvice:
    """The figures and the warnings (empty when the data set is large enough). No classes
    (`{}`: a numeric target) leaves only the `total` check. `unit`: what `class_counts` counts
    per key: "class" (examples), "entity type" (entity mentions) or "tag" (words; for both
    tag units `total` counts sentences)."""
    total = sum(class_counts.values()) if total is None else total
    smallest = min(class_counts, key=class_counts.__getitem__) if class_counts else ""
    needed = min_total(num_parameters)
    advice = DataSizeAdvice(
        train_examples=total,
        per_class=dict(class_counts),
        smallest_class=smallest,
        num_parameters=num_parameters,
        min_per_class=MIN_PER_CLASS,
        min_total=needed,
        warnings=[],
        unit=unit,
    )
    if class_counts and class_counts[smallest] < MIN_PER_CLASS:
        advice.warnings.append(
            f"{unit} '{smallest}' has only {class_counts[smallest]} {advice.counted} (advice: "
            f"at least {MIN_PER_CLASS} per {unit}); fine-tuning on so few is noisy and a "
            f"classic model often does as well. Consider {SUGGESTIONS}."
        )
    if total < needed:
        model = f"{format_parameters(num_parameters)}-parameter model"
        advice.warnings.append(
            f"{total:,} {advice.examples} for a {model} (advice: at least "
            f"{needed:,} for this size); expect unstable results that vary with the seed. "
            f"Consider {SUGGESTIONS}."
        )
    return advice


def majority_share(class_counts: dict[str, int]) -> tuple[str, float]:
    """The largest class and the share of the examples it holds (what always answering it
    scores in accuracy)."""
    majority = max(class_counts, key=class_counts.__getitem__)
    total = sum(class_counts.values())
    return majority, (class_counts[majority] / total if total else 0.0)


def uneven(class_counts: dict[str, int]) -> bool:
    """The majority class holds more than half the examples (with two classes, more than two
    thirds: one of two always holds half), or the largest class is UNEVEN_RATIO times the
    smallest or more (150 : 75 : 40 : 20 : 15 has no majority, yet accuracy hides the two small
    classes). False for no classes (a numeric target)."""
    if not class_counts:
        return False
    share_limit = 2 / 3 if len(class_counts) == 2 else 0.5
    largest, smallest = max(class_counts.values()), min(class_counts.values())
    return majority_share(class_counts)[1] > share_limit or largest >= UNEVEN_RATIO * max(
        1, smallest
    )


def metrics_for_classes(
    metrics: list[str], class_counts: dict[str, int], chosen: bool
) -> list[str]:
    """The run's metrics with f1_macro moved first when the classes are uneven and the user
    did not choose `metrics` (the first metric picks the best epoch and decides the verdict,
    and accuracy flatters a model that favours the majority class); else unchanged."""
    if chosen or not uneven(class_counts) or "f1_macro" not in metrics:
        return list(metrics)
    return ["f1_macro", *(name for name in metrics if name != "f1_macro")]


def imbalance_warning(
    class_counts: dict[str, int], metrics: list[str], weighted: bool
) -> str | None:
    """A warning when the classes are uneven (`uneven`), since accuracy then flatters a model
    that favours the large classes; None otherwise (and for no classes at all)."""
    if not uneven(class_counts):
        return None
    majority, share = majority_share(class_counts)
    minority = min(class_counts, key=class_counts.__getitem__)
    ratio = class_counts[majority] / max(1, class_counts[minority])
    advice = []
    if not metrics or not metrics[0].startswith("f1_macro"):
        advice.append("put f1_macro first in `metrics` so it picks the best epoch")
    if not weighted:
        advice.append("consider `class_weights: balanced`")
    return (
        f"Imbalanced classes: '{majority}' holds {share:.0%} of the training examples and "
        f"'{minority}' {class_counts[minority] / sum(class_counts.values()):.0%} "
        f"({ratio:.0f} to 1), so "
        f"accuracy is misleading (always answering '{majority}' scores {share:.2f}); "
        f"macro-F1 weighs every class alike"
        + (f": {' and '.join(advice)}." if advice else ", and it picks the best epoch here.")
    )


def o_share_warning(
    tag_rows: list[list[int]], label_names: list[str], metrics: list[str]
) -> str | None:
    """Token classification: most words are tagged O, so word accuracy flatters a tagger that
    finds nothing; warned only when accuracy picks the best epoch (the entity-level scores
    ignore the O words)."""
    words = [tag for row in tag_rows for tag in row]
    if "O" not in label_names or not words or metrics[0] != "accuracy":
        return None
    share = sum(tag == label_names.index("O") for tag in words) / len(words)
    return (
        f"'O' tags {share:.0%} of the training words, so word accuracy is misleading (a "
        f"tagger that finds no entity scores {share:.2f}); put f1 (entity-level) first in "
        f"`metrics` so it picks the best epoch."
    )


def report_advice(advice: DataSizeAdvice) -> None:
    """Console: the figures always, the warnings when there are any."""
    if not advice.per_class:  # a numeric target: no classes to count
        say(
            f"Data size: {advice.train_examples:,} labelled training examples; model "
            f"{format_parameters(advice.num_parameters)} parameters (advice: >= "
            f"{advice.min_total:,} in all)"
        )
    else:
        say(
            f"Data size: {advice.train_examples:,} {advice.examples}, smallest {advice.unit} "
            f"'{advice.smallest_class}' {advice.smallest_count:,} {advice.counted}; model "
            f"{format_parameters(advice.num_parameters)} parameters (advice: >= "
            f"{advice.min_per_class} per {advice.unit}, >= {advice.min_total:,} in all)"
        )
    for message in advice.warnings:
        warn(f"Small data set: {message}")
