"""What a labelled task predicts: classes, a number, a set of labels or a tag per word. Each
labelled task module names one (`target = CLASSES`, `NUMBERS`, `LABEL_SETS` or `TAGS`), and the
commands ask it instead of branching on the task's name: how labels load, which metrics score
the model and the baselines, what the test split's report holds, how a finished run's outputs
read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from toolkit.config import taxonomy
from toolkit.config.schema import DataConfig, RunConfig
from toolkit.data.label_sets import label_counts
from toolkit.data.labels import class_counts
from toolkit.data.load import LoadedData, load_data
from toolkit.data.tagged import load_tagged
from toolkit.metrics.classification import classification_metrics, prediction_scorer
from toolkit.metrics.entities import (
    IGNORED,
    entity_counts,
    entity_report,
    named,
    tags_of_scored_pieces,
    token_classification_metrics,
    word_tag_scorer,
)
from toolkit.metrics.multilabel import (
    DEFAULT_THRESHOLD,
    decide,
    label_set_metrics,
    label_set_scorer,
    per_label_report,
    tune_threshold,
)
from toolkit.metrics.regression import as_values, regression_metrics, regression_scorer
from toolkit.metrics.test_report import confusion, per_class_report

# label names -> the Trainer's compute_metrics (metrics are chosen before the data is read, but
# tags are scored by name: B-, I-, O)
MetricsForLabels = Callable[[list[str]], Callable[[Any], dict[str, float]]]


class Classes:
    """One class per input: ClassLabel ids, cross-entropy, argmax of the logits."""

    kind = taxonomy.CLASSES
    usage_name = "classifier"  # the model card's usage snippet
    pipeline_args = ""

    def card_line(self, config: RunConfig, label_names: list[str]) -> str:
        return f"Labels ({len(label_names)}): {', '.join(label_names)}"

    def head(self, config: RunConfig, label_names: list[str] | None) -> dict[str, Any]:
        """from_pretrained / config keyword arguments of the model's classification head."""
        assert label_names is not None, "a classifier needs its label names"
        return {
            "num_labels": len(label_names),
            "id2label": dict(enumerate(label_names)),
            "label2id": {name: i for i, name in enumerate(label_names)},
        }

    def load(self, cfg: DataConfig, columns: list[str], seed: int) -> LoadedData:
        """The labelled splits: labels as ClassLabel ids, stratified hold-outs."""
        return load_data(cfg, columns, seed, target=self.kind)

    def label_dtype(self) -> torch.dtype:
        return torch.long

    def class_counts(self, labels: list[int], label_names: list[str]) -> dict[str, int]:
        return class_counts(labels, label_names)

    def compute_metrics(self, names: list[str], trust_code: bool = False) -> MetricsForLabels:
        """The Trainer's `compute_metrics` (the argmax of the logits, scored) once given the
        label names; the metric code loads now, so a bad name fails before the data loads."""
        compute = classification_metrics(names, trust_code)
        return lambda label_names: compute

    def scorer(
        self, names: list[str], trust_code: bool = False, label_names: list[str] | None = None
    ) -> Callable[[Any, Any], dict[str, float]]:
        """(predicted class ids, true ids) -> {name: value}, for baselines and evaluate."""
        return prediction_scorer(names, trust_code)

    def predictions(self, logits: np.ndarray) -> np.ndarray:
        return np.argmax(logits, axis=-1)

    def example_rows(self, labels: np.ndarray, logits: np.ndarray) -> tuple[Any, Any]:
        """(truth, prediction) per example, what the verdict pairs with a baseline's."""
        return np.asarray(labels), self.predictions(logits)

    def loss(self, logits: np.ndarray, labels: np.ndarray) -> float:
        return float(
            torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels))
        )

    def test_report(
        self, labels: np.ndarray, logits: np.ndarray, label_names: list[str]
    ) -> dict[str, Any]:
        """Per-class precision/recall/F1 and the confusion matrix of the test split."""
        predicted = self.predictions(logits)
        return {
            "test_per_class": per_class_report(labels, predicted, label_names),
            "test_confusion_matrix": confusion(labels, predicted, len(label_names)),
        }


class Numbers:
    """One number per input: a one-output head, mean squared error, the output is the value."""

    kind = taxonomy.NUMBERS
    usage_name = "regressor"
    # problem_type regression already makes the pipeline return the raw value; said explicitly
    # so the snippet also reads right for a one-output model without that key.
    pipeline_args = ', function_to_apply="none"'

    def card_line(self, config: RunConfig, label_names: list[str]) -> str:
        return (
            f"Target: `{config.data.label_column}`, one number per input (regression: one "
            f"output, mean squared error loss)"
        )

    def head(self, config: RunConfig, label_names: list[str] | None) -> dict[str, Any]:
        """One output trained with MSE; transformers.pipeline("text-classification",
        function_to_apply="none") reads it back, labelled with the target column's name."""
        column = config.data.label_column
        return {
            "num_labels": 1,
            "problem_type": "regression",
            "id2label": {0: column},
            "label2id": {column: 0},
        }

    def load(self, cfg: DataConfig, columns: list[str], seed: int) -> LoadedData:
        """The labelled splits: finite float32 targets, plain seeded hold-outs."""
        return load_data(cfg, columns, seed, target=self.kind)

    def label_dtype(self) -> torch.dtype:
        return torch.float32

    def class_counts(self, labels: list[float], label_names: list[str]) -> dict[str, int]:
        return {}  # no classes: the data-size advice counts examples only

    def compute_metrics(self, names: list[str], trust_code: bool = False) -> MetricsForLabels:
        """The Trainer's `compute_metrics`: the one output is the predicted value."""
        compute = regression_metrics(names)
        return lambda label_names: compute

    def scorer(
        self, names: list[str], trust_code: bool = False, label_names: list[str] | None = None
    ) -> Callable[[Any, Any], dict[str, float]]:
        """(predicted values, true values) -> {name: value}, for baselines and evaluate."""
        return regression_scorer(names)

    def predictions(self, logits: np.ndarray) -> np.ndarray:
        return as_values(logits)

    def example_rows(self, labels: np.ndarray, logits: np.ndarray) -> tuple[Any, Any]:
        """(truth, prediction) per example, what the verdict pairs with a baseline's."""
        return np.asarray(labels), self.predictions(logits)

    def loss(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Mean squared error, as the model's regression head computes it."""
        return float(np.mean((self.predictions(logits) - as_values(labels)) ** 2))

    def test_report(
        self, labels: np.ndarray, logits: np.ndarray, label_names: list[str]
    ) -> dict[str, Any]:
        """Every test prediction beside its target (report.md draws them as a scatter)."""
        return {
            "test_predictions": {
                "true": [float(v) for v in as_values(labels)],
                "predicted": [float(v) for v in self.predictions(logits)],
            }
        }


class Tags:
    """One IOB2 tag per word: ids per word piece (-100 where not scored), cross-entropy over
    the scored pieces, entity-level scores (seqeval) of the words' tags."""

    kind = taxonomy.TAGS
    usage_name = "tagger"
    # merges a word's pieces and the B-/I- tags of an entity into one span with its type
    pipeline_args = ', aggregation_strategy="simple"'

    def card_line(self, config: RunConfig, label_names: list[str]) -> str:
        types = sorted({name[2:] for name in label_names if name[:2] in ("B-", "I-")})
        return (
            f"Tags ({len(label_names)}, IOB2, one per word): {', '.join(label_names)}; "
            f"entity types ({len(types)}): {', '.join(types)}"
        )

    def head(self, config: RunConfig, label_names: list[str] | None) -> dict[str, Any]:
        return CLASSES.head(config, label_names)  # one class per word piece

    def load(self, cfg: DataConfig, columns: list[str], seed: int) -> LoadedData:
        """Token and tag lists (a table or CoNLL-style files), tags as ids, plain hold-outs."""
        return load_tagged(cfg, seed)

    def label_dtype(self) -> torch.dtype:
        return torch.long

    def class_counts(self, labels: list[list[int]], label_names: list[str]) -> dict[str, int]:
        """Entities per type in the sentences (what the data-size advice counts)."""
        return entity_counts(named(labels, label_names))

    def compute_metrics(self, names: list[str], trust_code: bool = False) -> MetricsForLabels:
        """The Trainer's `compute_metrics` once given the tag names: entity scores of the
        scored pieces' argmax tags (the names say which tag id is B-, I- or O)."""
        return lambda label_names: token_classification_metrics(names, label_names)

    def scorer(
        self, names: list[str], trust_code: bool = False, label_names: list[str] | None = None
    ) -> Callable[[Any, Any], dict[str, float]]:
        """(predicted tag-id rows, true tag-id rows), one per word -> entity scores."""
        return word_tag_scorer(names, label_names or [])

    def predictions(self, logits: np.ndarray) -> np.ndarray:
        return np.argmax(logits, axis=-1)

    def example_rows(self, labels: np.ndarray, logits: np.ndarray) -> tuple[Any, Any]:
        """(true tag ids, predicted tag ids) per sentence, of the scored pieces: one per word
        (first-piece labelling), as the baselines predict them."""
        predicted = self.predictions(logits)
        kept = [row != IGNORED for row in labels]
        truth = [row[keep].tolist() for row, keep in zip(labels, kept, strict=True)]
        guess = [row[keep].tolist() for row, keep in zip(predicted, kept, strict=True)]
        return truth, guess

    def loss(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Cross-entropy over the scored pieces, as the model's token head computes it."""
        flat = torch.from_numpy(logits).reshape(-1, logits.shape[-1])
        return float(
            torch.nn.functional.cross_entropy(
                flat, torch.from_numpy(labels).reshape(-1), ignore_index=IGNORED
            )
        )

    def test_report(
        self, labels: np.ndarray, logits: np.ndarray, label_names: list[str]
    ) -> dict[str, Any]:
        """Per entity type: precision, recall, F1 and support on the test split."""
        true, pred = tags_of_scored_pieces(self.predictions(logits), labels, label_names)
        return {"test_per_entity": entity_report(true, pred)}


class LabelSets:
    """Any number of labels per input: a multi-hot float target, one sigmoid + binary
    cross-entropy per label (`problem_type: multi_label_classification`), the labels whose
    probability exceeds a decision threshold (0.5, or the one tuned on validation)."""

    kind = taxonomy.LABEL_SETS
    usage_name = "tagger"
    # the pipeline applies the sigmoid for this problem_type; top_k=None returns every label
    pipeline_args = ", top_k=None"

    def card_line(self, config: RunConfig, label_names: list[str]) -> str:
        return (
            f"Labels ({len(label_names)}, any number per input: sigmoid + binary "
            f"cross-entropy per label): {', '.join(label_names)}"
        )

    def head(self, config: RunConfig, label_names: list[str] | None) -> dict[str, Any]:
        assert label_names is not None, "a multi-label head needs its label names"
        return {**CLASSES.head(config, label_names), "problem_type": "multi_label_classification"}

    def load(self, cfg: DataConfig, columns: list[str], seed: int) -> LoadedData:
        """The labelled splits: label sets as multi-hot float32 vectors, plain hold-outs."""
        return load_data(cfg, columns, seed, target=self.kind)

    def label_dtype(self) -> torch.dtype:
        return torch.float32

    def class_counts(self, labels: list[list[float]], label_names: list[str]) -> dict[str, int]:
        """Rows carrying each label: the data-size advice counts examples per label."""
        return label_counts(labels, label_names)

    def compute_metrics(self, names: list[str], trust_code: bool = False) -> MetricsForLabels:
        """The Trainer's `compute_metrics`: the sigmoid of the logits above 0.5, scored."""
        compute = label_set_metrics(names)
        return lambda label_names: compute

    def scorer(
        self, names: list[str], trust_code: bool = False, label_names: list[str] | None = None
    ) -> Callable[[Any, Any], dict[str, float]]:
        """(multi-hot predictions, multi-hot targets) -> {name: value}, for baselines and
        evaluate."""
        return label_set_scorer(names)

    def predictions(self, logits: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
        return decide(logits, threshold)

    def example_rows(self, labels: np.ndarray, logits: np.ndarray) -> tuple[Any, Any]:
        """(truth, prediction) per example, what the verdict pairs with a baseline's."""
        return np.asarray(labels), self.predictions(logits)

    def loss(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Binary cross-entropy per (input, label), averaged, as the model's head computes it."""
        return float(
            torch.nn.functional.binary_cross_entropy_with_logits(
                torch.from_numpy(np.asarray(logits, dtype=np.float32)),
                torch.from_numpy(np.asarray(labels, dtype=np.float32)),
            )
        )

    def test_report(
        self, labels: np.ndarray, logits: np.ndarray, label_names: list[str]
    ) -> dict[str, Any]:
        """Per-label precision/recall/F1/support of the test split at threshold 0.5."""
        return {"test_per_label": per_label_report(self.predictions(logits), labels, label_names)}

    def tuned_report(
        self,
        names: list[str],
        validation: tuple[np.ndarray, np.ndarray],
        test: tuple[np.ndarray, np.ndarray] | None,
    ) -> dict[str, Any]:
        """The threshold with the best validation f1_micro, and the metrics (`names`) of
        validation and test at it, beside the ones at 0.5: `eval_threshold_tuned`,
        `eval_<metric>_tuned`, `test_<metric>_tuned`. (labels, logits) pairs in."""
        score = self.scorer(names)
        threshold = tune_threshold(validation[1], validation[0])
        out: dict[str, Any] = {"eval_threshold_tuned": threshold}
        for prefix, pair in (("eval", validation), ("test", test)):
            if pair is None:
                continue
            labels, logits = pair
            scores = score(self.predictions(logits, threshold), labels)
            out.update({f"{prefix}_{name}_tuned": value for name, value in scores.items()})
        return out


CLASSES = Classes()
NUMBERS = Numbers()
TAGS = Tags()
LABEL_SETS = LabelSets()

# What a fine-tuning task predicts.
Target = Classes | Numbers | LabelSets | Tags
