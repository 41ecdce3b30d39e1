"""What a labelled task predicts: classes, a number, a set of labels or a tag per word. Each
labelled task module names one (`target = CLASSES`, `NUMBERS`, `LABEL_SETS` or `TAGS`), and the
commands ask it instead of branching on the task's name: how labels load, which metrics score
the model and the baselines, what the test split's report holds, how a finished run's outputs
read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from toolkit.config import taxonomy
from toolkit.config.schema import DataConfig, RunConfig
from toolkit.config.taxonomy import TagScheme
from toolkit.core.markdown import inline
from toolkit.data.label_sets import label_counts
from toolkit.data.labels import class_counts
from toolkit.data.load import LoadedData, load_data
from toolkit.data.new_data import class_ids, label_set_vectors, numeric_targets
from toolkit.data.tag_schemes import detect_scheme
from toolkit.data.tagged import load_tagged
from toolkit.metrics.classification import classification_metrics, prediction_scorer
from toolkit.metrics.entities import IGNORED, scored_id_rows, tag_metrics
from toolkit.metrics.multilabel import (
    DEFAULT_THRESHOLD,
    decide,
    label_set_metrics,
    label_set_scorer,
    per_label_report,
    sigmoid,
    tune_threshold,
)
from toolkit.metrics.priors import entropy_of_shares, mean_binary_entropy
from toolkit.metrics.regression import as_values, regression_metrics, regression_scorer
from toolkit.metrics.tag_sets import TagSet, tag_set
from toolkit.metrics.test_report import confusions, per_class_report

# label names -> the Trainer's compute_metrics (metrics are chosen before the data is read, but
# tags are scored by name: B-, I-, O)
MetricsForLabels = Callable[[list[str]], Callable[[Any], dict[str, float]]]


class Classes:
    """One class per input: ClassLabel ids, cross-entropy, argmax of the logits."""

    kind = taxonomy.CLASSES
    usage_name = "classifier"  # the model card's usage snippet
    pipeline_args = ""

    def card_line(self, config: RunConfig, label_names: list[str]) -> str:
        return f"Labels ({len(label_names)}): {', '.join(map(inline, label_names))}"

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

    def predictions(self, logits: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """The class ids (argmax); `threshold` does not apply to one class per input."""
        return np.argmax(logits, axis=-1)

    def example_rows(self, labels: np.ndarray, logits: np.ndarray) -> tuple[Any, Any]:
        """(truth, prediction) per example, what the verdict pairs with a baseline's."""
        return np.asarray(labels), self.predictions(logits)

    def loss(self, logits: np.ndarray, labels: np.ndarray) -> float:
        return float(
            torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels))
        )

    def prior_loss(
        self, labels: list[int], label_names: list[str], weights: np.ndarray | None = None
    ) -> float:
        """The training loss of knowing nothing about the inputs: the entropy of the class
        shares, weighted as `class_weights` (one per class id) weighs them in the loss."""
        return entropy_of_shares(list(class_counts(labels, label_names).values()), weights)

    def test_report(
        self, labels: np.ndarray, logits: np.ndarray, label_names: list[str]
    ) -> dict[str, Any]:
        """Per-class precision/recall/F1 and the confusion matrix of the test split."""
        predicted = self.predictions(logits)
        return {
            "test_per_class": per_class_report(labels, predicted, label_names),
            **confusions(np.asarray(labels), predicted, label_names),
        }

    # ------------------------------------------------------------ a finished run on new data

    def read_labels(
        self, values: list[Any], label_names: list[str], cfg: DataConfig, where: str, column: str
    ) -> np.ndarray:
        """New data's labels -> class ids over the model's labels, named as training names
        them; an unknown label is an error (`ftk evaluate`)."""
        return class_ids(values, label_names, where)

    def predicted_rows(
        self,
        records: list[dict[str, Any]],
        items: list[Any],
        logits: Any,
        label_names: list[str],
        top_k: int,
        threshold: float,
    ) -> list[dict[str, Any]]:
        """What `ftk predict` writes: each record plus pred_label/pred_score (best class),
        then pred_label_2/pred_score_2, ... (`top_k` of them)."""
        probabilities = softmax(logits)
        order = np.argsort(-probabilities, axis=-1, kind="stable")[
            :, : min(top_k, len(label_names))
        ]
        rows = []
        for record, ranked, probs in zip(records, order, probabilities, strict=False):
            row = dict(record)
            for rank, index in enumerate(ranked, start=1):
                suffix = "" if rank == 1 else f"_{rank}"
                row[f"pred_label{suffix}"] = label_names[index]
                row[f"pred_score{suffix}"] = round(float(probs[index]), 6)
            rows.append(row)
        return rows

    def evaluation_report(
        self, labels: Any, predicted: Any, label_names: list[str], threshold: float
    ) -> dict[str, Any]:
        """What `ftk evaluate` reports beside the metrics: per-class precision/recall/F1."""
        return {"per_class": per_class_report(labels, predicted, label_names)}


class Numbers:
    """One number per input: a one-output head, mean squared error, the output is the value."""

    kind = taxonomy.NUMBERS
    usage_name = "regressor"
    # problem_type regression already makes the pipeline return the raw value; said explicitly
    # so the snippet also reads right for a one-output model without that key.
    pipeline_args = ', function_to_apply="none"'

    def card_line(self, config: RunConfig, label_names: list[str]) -> str:
        return (
            f"Target: `{inline(config.data.label_column)}`, one number per input (regression: one "
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

    def predictions(self, logits: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """The values (the one output as it is); `threshold` does not apply to a number."""
        return as_values(logits)

    def example_rows(self, labels: np.ndarray, logits: np.ndarray) -> tuple[Any, Any]:
        """(truth, prediction) per example, what the verdict pairs with a baseline's."""
        return np.asarray(labels), self.predictions(logits)

    def loss(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Mean squared error, as the model's regression head computes it."""
        return float(np.mean((self.predictions(logits) - as_values(labels)) ** 2))

    def prior_loss(
        self, labels: list[float], label_names: list[str], weights: np.ndarray | None = None
    ) -> float:
        """The training loss of knowing nothing about the inputs: the variance of the targets,
        the mean squared error of always predicting their mean (no class weights apply)."""
        return float(np.var(as_values(labels)))

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

    # ------------------------------------------------------------ a finished run on new data

    def read_labels(
        self, values: list[Any], label_names: list[str], cfg: DataConfig, where: str, column: str
    ) -> np.ndarray:
        """New data's targets -> finite float numbers, checked as training checks them."""
        return numeric_targets(values, where, column)

    def predicted_rows(
        self,
        records: list[dict[str, Any]],
        items: list[Any],
        logits: Any,
        label_names: list[str],
        top_k: int,
        threshold: float,
    ) -> list[dict[str, Any]]:
        """What `ftk predict` writes: each record plus pred_value, the model's output as it is."""
        values = self.predictions(logits)
        return [
            {**record, "pred_value": float(value)}
            for record, value in zip(records, values, strict=True)
        ]

    def evaluation_report(
        self, labels: Any, predicted: Any, label_names: list[str], threshold: float
    ) -> dict[str, Any]:
        """Nothing beside the metrics (rmse, mae, pearson, spearman) and the loss."""
        return {}


@dataclass(frozen=True)
class Tags:
    """One tag per word: ids per word piece (-100 where not scored), cross-entropy over the
    scored pieces. How the tags read is the run's tag scheme (`scheme`, data.tag_scheme as the
    training tags resolved it): an entity scheme's tags are scored per entity (seqeval), plain
    tags (POS) per word; the tag set it makes of the tag names (metrics/tag_sets.py) answers
    every question of scores, counts, reports and predictions. `scheme` None: read from the
    tag names alone (a checkpoint ftk did not train, or a config before its tags are read)."""

    scheme: TagScheme | None = None

    kind = taxonomy.TAGS
    usage_name = "tagger"

    def reading(self, name: str) -> Tags:
        """This target reading its tags as data.tag_scheme `name` says (auto: by their names)."""
        return Tags(taxonomy.TAG_SCHEMES.get(name))

    def scheme_for(self, label_names: list[str]) -> TagScheme:
        return self.scheme or detect_scheme(label_names)

    def tag_set(self, label_names: list[str]) -> TagSet:
        return tag_set(self.scheme_for(label_names), label_names)

    @property
    def pipeline_args(self) -> str:
        """Entities: the pipeline merges a word's pieces and the B-/I- tags of an entity into
        one span with its type; plain tags: its default, a tag per piece (the first piece of a
        word carries the word's tag), since merging would join neighbours of the same tag."""
        entities = self.scheme is None or self.scheme.entities
        return ', aggregation_strategy="simple"' if entities else ""

    def card_line(self, config: RunConfig, label_names: list[str]) -> str:
        scheme = self.scheme_for(label_names)
        tags = f"Tags ({len(label_names)}, {scheme.title}, one per word): {', '.join(label_names)}"
        if not scheme.entities:
            return f"{tags}; scored per word (no entities)"
        types = sorted({name[2:] for name in label_names if name != "O"})
        return f"{tags}; entity types ({len(types)}): {', '.join(types)}"

    def head(self, config: RunConfig, label_names: list[str] | None) -> dict[str, Any]:
        return CLASSES.head(config, label_names)  # one class per word piece

    def load(self, cfg: DataConfig, columns: list[str], seed: int) -> LoadedData:
        """Token and tag lists (a table or CoNLL-style files), tags as ids, plain hold-outs,
        and the scheme the training tags follow."""
        return load_tagged(cfg, seed)

    def label_dtype(self) -> torch.dtype:
        return torch.long

    def class_counts(self, labels: list[list[int]], label_names: list[str]) -> dict[str, int]:
        """Entities per type, or words per plain tag (what the data-size advice counts)."""
        return self.tag_set(label_names).counts(labels)

    def compute_metrics(self, names: list[str], trust_code: bool = False) -> MetricsForLabels:
        """The Trainer's `compute_metrics` once given the tag names: the scores of the scored
        pieces' argmax tags, as the tag set reads them (the names say which tag is B-, I-, O)."""
        return lambda label_names: tag_metrics(self.scorer(names, trust_code, label_names))

    def scorer(
        self, names: list[str], trust_code: bool = False, label_names: list[str] | None = None
    ) -> Callable[[Any, Any], dict[str, float]]:
        """(predicted tag-id rows, true tag-id rows), one per word -> the scores in `names`."""
        return self.tag_set(label_names or []).scorer(names)

    def predictions(self, logits: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """The tag ids (argmax per word or piece); `threshold` does not apply to tags."""
        return np.argmax(logits, axis=-1)

    def example_rows(self, labels: np.ndarray, logits: np.ndarray) -> tuple[Any, Any]:
        """(true tag ids, predicted tag ids) per sentence, of the scored pieces: one per word
        (first-piece labelling), as the baselines predict them."""
        return scored_id_rows(self.predictions(logits), labels)

    def loss(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Cross-entropy over the scored pieces, as the model's token head computes it."""
        flat = torch.from_numpy(logits).reshape(-1, logits.shape[-1])
        return float(
            torch.nn.functional.cross_entropy(
                flat, torch.from_numpy(labels).reshape(-1), ignore_index=IGNORED
            )
        )

    def prior_loss(
        self, labels: list[list[int]], label_names: list[str], weights: np.ndarray | None = None
    ) -> float:
        """The training loss of knowing nothing about the inputs: the entropy of the tag shares
        over the words, each scored once, on its first piece (`data.label_all_tokens` scores
        the later pieces too, which this leaves out; class weights are refused for tags)."""
        words = [tag for sentence in labels for tag in sentence]
        return entropy_of_shares(list(class_counts(words, label_names).values()))

    def test_report(
        self, labels: np.ndarray, logits: np.ndarray, label_names: list[str]
    ) -> dict[str, Any]:
        """Precision, recall, F1 and support on the test split, per entity type
        (`test_per_entity`) or per plain tag (`test_per_tag`)."""
        tags = self.tag_set(label_names)
        return {f"test_{tags.report_key}": tags.report(*self.example_rows(labels, logits))}

    # ------------------------------------------------------------ a finished run on new data

    def predicted_rows(
        self,
        records: list[dict[str, Any]],
        items: list[Any],
        logits: Any,
        label_names: list[str],
        top_k: int,
        threshold: float,
    ) -> list[dict[str, Any]]:
        """What `ftk predict` writes: each record plus, for entity tags, `entities` (the tagged
        spans of its words, each with its type, word span [start, end) and score), for plain
        tags `pred_tags` and `pred_tag_scores` (a tag and its probability per word); `items`:
        a word list per input, `logits`: a (words, tags) array per input."""
        tags = self.tag_set(label_names)
        return [
            {**record, **tags.predicted(words, softmax(word_logits))}
            for record, words, word_logits in zip(records, items, logits, strict=True)
        ]

    def evaluation_report(
        self, labels: Any, predicted: Any, label_names: list[str], threshold: float
    ) -> dict[str, Any]:
        """What `ftk evaluate` reports beside the scores: precision, recall, F1 and support
        per entity type (`per_entity`) or per plain tag (`per_tag`); tag-id rows in, one per
        sentence."""
        tags = self.tag_set(label_names)
        return {tags.report_key: tags.report(labels, predicted)}


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
            f"cross-entropy per label): {', '.join(map(inline, label_names))}"
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

    def predictions(self, logits: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """Multi-hot decisions: the labels whose sigmoid exceeds `threshold` (None: 0.5)."""
        return decide(logits, DEFAULT_THRESHOLD if threshold is None else threshold)

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

    def prior_loss(
        self, labels: list[list[float]], label_names: list[str], weights: np.ndarray | None = None
    ) -> float:
        """The training loss of knowing nothing about the inputs: the mean over the labels of
        each one's binary entropy, its positive term weighted as `class_weights` (one
        pos_weight per label) weighs it in the loss."""
        present = np.asarray(labels, dtype=np.float64).reshape(-1, len(label_names)) > 0.5
        return mean_binary_entropy(present.sum(axis=0), len(present), weights)

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

    # ------------------------------------------------------------ a finished run on new data

    def read_labels(
        self, values: list[Any], label_names: list[str], cfg: DataConfig, where: str, column: str
    ) -> np.ndarray:
        """New data's label sets (lists, or strings split on the run's data.label_separator),
        parsed as training parses them -> multi-hot rows; an unknown label is an error."""
        return label_set_vectors(values, label_names, cfg.label_separator, where, column)

    def predicted_rows(
        self,
        records: list[dict[str, Any]],
        items: list[Any],
        logits: Any,
        label_names: list[str],
        top_k: int,
        threshold: float,
    ) -> list[dict[str, Any]]:
        """What `ftk predict` writes: each record plus pred_labels/pred_scores, every label
        whose sigmoid exceeds `threshold`, best first (empty lists when none does), and the
        threshold used."""
        rows = []
        for record, row_scores in zip(records, sigmoid(logits), strict=True):
            above = [i for i in np.argsort(-row_scores, kind="stable") if row_scores[i] > threshold]
            rows.append(
                {
                    **record,
                    "pred_labels": [label_names[i] for i in above],
                    "pred_scores": [round(float(row_scores[i]), 6) for i in above],
                    "threshold": threshold,
                }
            )
        return rows

    def evaluation_report(
        self, labels: Any, predicted: Any, label_names: list[str], threshold: float
    ) -> dict[str, Any]:
        """What `ftk evaluate` reports beside the metrics: the threshold the decisions were
        made at (the run's tuned one, or 0.5) and per-label precision/recall/F1/support."""
        return {
            "threshold": threshold,
            "per_label": per_label_report(predicted, labels, label_names),
        }


CLASSES = Classes()
NUMBERS = Numbers()
TAGS = Tags()
LABEL_SETS = LabelSets()

# What a fine-tuning task predicts.
Target = Classes | Numbers | LabelSets | Tags
# What each target kind is, as a working object: get_task composes a task with it, and a
# finished run's predict and evaluate ask it by the run's kind.
TARGETS: dict[taxonomy.TargetKind, Target] = {
    target.kind: target for target in (CLASSES, NUMBERS, TAGS, LABEL_SETS)
}


def target_for(kind: taxonomy.TargetKind, tag_scheme: str = "auto") -> Target:
    """The working target of `kind` for a run whose config says `tag_scheme`
    (data.tag_scheme): a tag target reads its tags by it; the others do not depend on it."""
    target = TARGETS[kind]
    return target.reading(tag_scheme) if isinstance(target, Tags) else target


def softmax(logits: Any) -> np.ndarray:
    """Class probabilities of logits (the last axis), in the logits' own precision."""
    logits = np.asarray(logits)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
