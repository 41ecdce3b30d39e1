"""The kinds of task ftk trains: each task is an input modality composed with a target.

This is the one place that knows which task reads what and predicts what, and the one metric
catalogue (which metrics each target ships, and which way each one improves). It imports
nothing heavy, so config validation and `--help` read it without torch; `toolkit/tasks` builds
the working task objects (tokenizers, heads, losses, metric code) on top of these kinds, and
every other layer asks a kind's attributes instead of comparing task names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from toolkit.core.errors import UserError, did_you_mean


@dataclass(frozen=True)
class Modality:
    """What a task reads: texts (or text pairs), images, or sentences split into words."""

    name: str
    reads_images: bool
    # the config key naming the input, for messages
    input_key: str
    # sentences split into words, each with its own prediction
    per_word: bool = False


TEXT = Modality("text", reads_images=False, input_key="data.text_column")
IMAGE = Modality("image", reads_images=True, input_key="data.image_column")
WORDS = Modality("words", reads_images=False, input_key="data.tokens_column", per_word=True)


@dataclass(frozen=True)
class TargetKind:
    """What a task predicts, and what follows from it before any model or data exists."""

    name: str
    # what one prediction is, for messages: "class per input", "tag per word", ...
    predicts: str
    # the metrics ftk ships for this target; the first of `default_metrics` picks the best epoch
    metrics: tuple[str, ...]
    default_metrics: tuple[str, ...]
    labelled: bool = True
    # one class per input: hold-outs stratified by class, class weights, uneven-class advice
    single_class: bool = False
    # one number per input (regression): float targets, no classes to count
    numeric: bool = False
    # any number of labels per input (data.label_separator, one sigmoid per label)
    label_sets: bool = False
    # a tag per word: no text augmentation (it would move words under their tags)
    per_word: bool = False
    # why `class_weights` does not apply, with {task} for the task's name (None: it applies)
    class_weights_refusal: str | None = None
    # why MixUp/CutMix cannot mix this target's labels (None: they can)
    mixing_refusal: str | None = None
    # what a model that learned nothing about the inputs knows (its loss is the target's
    # `prior_loss`), for the diagnosis's words
    prior_knows: str = ""


# Shipped classification metrics (toolkit/metrics/modules: evaluate's code inside the package);
# the suffix is f1's averaging. Other names run their own code, so need trust_metric_code.
CLASSES = TargetKind(
    "classes",
    "class per input",
    metrics=("accuracy", "f1_macro", "f1_micro", "f1_weighted", "f1_binary"),
    default_metrics=("accuracy", "f1_macro"),
    single_class=True,
    prior_knows="the class frequencies",
)
# numpy + scipy (toolkit/metrics/regression.py): errors, then correlations.
NUMBERS = TargetKind(
    "numbers",
    "number per input",
    metrics=("rmse", "mae", "pearson", "spearman"),
    default_metrics=("rmse", "mae", "pearson", "spearman"),
    numeric=True,
    class_weights_refusal="class_weights weighs the classes of a classification loss; task "
    "'{task}' predicts a number with a mean squared error loss and has no classes. Remove "
    "class_weights (or use a classification task if the labels are classes).",
    mixing_refusal="predicts a number, and ftk mixes class labels only",
    prior_knows="the mean target",
)
# toolkit/metrics/multilabel.py: F1 over all (input, label) decisions, F1 averaged over labels,
# and the share of inputs whose whole label set is right.
LABEL_SETS = TargetKind(
    "label_sets",
    "set of labels per input",
    metrics=("f1_micro", "f1_macro", "subset_accuracy"),
    default_metrics=("f1_micro", "f1_macro", "subset_accuracy"),
    label_sets=True,
    mixing_refusal="predicts a set of labels, and ftk mixes single class labels only",
    prior_knows="each label's frequency",
)
# An entity scheme's tags are scored by seqeval (toolkit/metrics/entities.py): entity-level micro
# F1, precision and recall (an entity counts when its type and every word match), then word
# accuracy. Plain tags (POS) have no entities: word accuracy, then macro-F1 over the tags
# (toolkit/metrics/word_tags.py, the classifier's metric code on the words). Which set a run
# gets is its tag scheme's (TagScheme below), known once the training tags are read.
ENTITY_SCORES = ("f1", "precision", "recall", "accuracy")
WORD_SCORES = ("accuracy", "f1_macro")
TAGS = TargetKind(
    "tags",
    "tag per word",
    metrics=(*ENTITY_SCORES, "f1_macro"),
    default_metrics=ENTITY_SCORES,
    per_word=True,
    class_weights_refusal="class_weights is not implemented for task '{task}' (the loss would have "
    "to weigh every word's tag); remove class_weights. Entity-level F1 already ignores the many O "
    "tags.",
    mixing_refusal="predicts a tag per word, and ftk mixes class labels only",
    prior_knows="the tag frequencies",
)


# data.tag_scheme's values besides auto (detect): the schemes below
TagSchemeName = Literal["iob1", "iob2", "iobes", "bilou", "plain"]


@dataclass(frozen=True)
class TagScheme:
    """How a tag set reads (`data.tag_scheme`; toolkit/data/tag_schemes.py detects it from the
    training tags). An entity scheme's tags are O or a prefix, '-' and an entity type (B-PER),
    and are scored per entity; plain tags (POS: NN, VBD, PRP$, '.') label one word each and are
    scored per word."""

    name: TagSchemeName  # data.tag_scheme's value
    title: str  # for messages
    # the prefixes its tags may carry before '-TYPE'; empty for plain tags
    prefixes: frozenset[str]
    metrics: tuple[str, ...]
    default_metrics: tuple[str, ...]
    # the prefixes only this scheme uses, which tell it apart when detected (IOBES's E- and S-)
    marks: frozenset[str] = frozenset()
    # seqeval reads IOB1, IOB2 and IOBES by CoNLL's rules; BILOU's U- and L- are IOBES's S- and
    # E- under other letters, so its tags are renamed before seqeval reads them
    seqeval_prefixes: tuple[tuple[str, str], ...] = ()
    # a word's tag carries over to its later pieces (data.label_all_tokens): B- becomes I-, any
    # other tag stays; IOBES/BILOU would have to change the first piece's tag as well (a one-word
    # S-PER spread over two pieces is B-PER, E-PER)
    continues_over_pieces: bool = True

    @property
    def entities(self) -> bool:
        """Tags read as entities (prefix and type), not one label per word."""
        return bool(self.prefixes)

    def seqeval_name(self, tag: str) -> str:
        """`tag` as seqeval reads this scheme (BILOU's U-PER is IOBES's S-PER)."""
        for own, read_as in self.seqeval_prefixes:
            if tag.startswith(own + "-"):
                return read_as + tag[len(own) :]
        return tag

    def check_metrics(self, names: list[str], key: str = "metrics") -> None:
        """Each metric in `names` (config key `key`: metrics, or metric_for_best_model) must
        be one this scheme's tags are scored with; a UserError names the ones that are not."""
        wrong = [name for name in names if name not in self.metrics]
        if not wrong:
            return
        if self.entities:
            why = "their entities are scored by seqeval, their words by accuracy"
        else:
            why = (
                "they have no entities (no B-/I- prefixes: POS-like), only words, so entity "
                "f1/precision/recall do not apply (set data.tag_scheme if they are entity tags "
                "after all)"
            )
        raise UserError(
            f"Config key '{key}' names {', '.join(repr(n) for n in wrong)}, which ftk does not "
            f"score for {self.title}: {why}. Use {', '.join(self.metrics)}."
        )


IOB1 = TagScheme("iob1", "IOB1", frozenset("BI"), ENTITY_SCORES, ENTITY_SCORES)
IOB2 = TagScheme("iob2", "IOB2", frozenset("BI"), ENTITY_SCORES, ENTITY_SCORES)
IOBES = TagScheme(
    "iobes",
    "IOBES",
    frozenset("BIES"),
    ENTITY_SCORES,
    ENTITY_SCORES,
    marks=frozenset("ES"),
    continues_over_pieces=False,
)
BILOU = TagScheme(
    "bilou",
    "BILOU",
    frozenset("BILU"),
    ENTITY_SCORES,
    ENTITY_SCORES,
    marks=frozenset("LU"),
    seqeval_prefixes=(("U", "S"), ("L", "E")),
    continues_over_pieces=False,
)
PLAIN = TagScheme("plain", "plain tags", frozenset(), WORD_SCORES, WORD_SCORES)
TAG_SCHEMES: dict[str, TagScheme] = {s.name: s for s in (IOB1, IOB2, IOBES, BILOU, PLAIN)}
# Pre-training: the inputs are their own target; loss is the only score (lowest is best).
INPUTS = TargetKind(
    "inputs",
    "masked part of each input",
    metrics=("loss",),
    default_metrics=("loss",),
    labelled=False,
    class_weights_refusal="class_weights weighs the classes of a classification loss; task "
    "'{task}' has no classes. Remove class_weights.",
    mixing_refusal="has no labels to mix",
)


@dataclass(frozen=True)
class TaskKind:
    name: str
    modality: Modality
    target: TargetKind
    # a pre-training task's own module under toolkit/tasks; a fine-tuning task is its
    # modality's inputs composed with its target (toolkit/tasks/__init__.py), so has none
    module: str | None = None

    @property
    def pretraining(self) -> bool:
        return not self.target.labelled

    @property
    def fine_tunes_images(self) -> bool:
        return self.modality.reads_images and self.target.labelled


TASK_KINDS: dict[str, TaskKind] = {
    kind.name: kind
    for kind in (
        TaskKind("text-classification", TEXT, CLASSES),
        TaskKind("image-classification", IMAGE, CLASSES),
        TaskKind("text-regression", TEXT, NUMBERS),
        TaskKind("image-regression", IMAGE, NUMBERS),
        TaskKind("token-classification", WORDS, TAGS),
        TaskKind("text-multilabel", TEXT, LABEL_SETS),
        TaskKind("image-multilabel", IMAGE, LABEL_SETS),
        TaskKind("masked-lm", TEXT, INPUTS, "masked_lm"),
        TaskKind("masked-image-modeling", IMAGE, INPUTS, "masked_image_modeling"),
    )
}
TASKS = tuple(TASK_KINDS)
PRETRAIN_TASKS = tuple(name for name, kind in TASK_KINDS.items() if kind.pretraining)


def task_kind(name: str) -> TaskKind:
    """The kind of the task called `name`; an unknown name is a UserError with the valid ones."""
    if name not in TASK_KINDS:
        raise UserError(
            f"Config key 'task' is '{name}'; valid tasks: {', '.join(TASKS)}."
            f"{did_you_mean(name, TASKS)}"
        )
    return TASK_KINDS[name]


def fine_tuning_kind(modality: Modality, target: TargetKind) -> TaskKind:
    """The fine-tuning task that reads `modality` and predicts `target` (e.g. a plain
    checkpoint's, known by its head)."""
    for kind in TASK_KINDS.values():
        if kind.modality == modality and kind.target == target and kind.target.labelled:
            return kind
    raise ValueError(f"no task reads {modality.name} and predicts {target.name}")


def mixing_refusal(kind: TaskKind) -> str | None:
    """Why MixUp/CutMix cannot run for this task; None for image classification."""
    if kind.target.labelled and not kind.modality.reads_images:
        return "does not take images"
    return kind.target.mixing_refusal


# Metrics where a smaller value is better: the best epoch, the best baseline and the verdict all
# read the direction from here.
LOWER_IS_BETTER = ("loss", "rmse", "mae")


def greater_is_better(metric: str) -> bool:
    """The direction of a metric name (`eval_rmse` and `rmse` alike); unknown names: greater."""
    name = metric.removeprefix("eval_").removeprefix("test_")
    return not (name in LOWER_IS_BETTER or name.endswith("loss"))
