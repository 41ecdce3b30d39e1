"""Why a run fell short: rules over the recorded history and a few facts about the data.

Each rule is a pure function (`Curve` from history.jsonl's rows + `RunFacts` -> a `Finding` or
None), so it is tested on hand-built histories without training anything. The thresholds and
the reasoning behind each are in docs/run-diagnosis.md:

    not_learned       the training sample scores less than NOT_LEARNED_PROGRESS of the way from
                      what always answering the majority class scores to perfect (one class per
                      input), or its loss is at least NOT_LEARNED_LOSS of the loss of knowing
                      nothing about the inputs (the target's prior_loss, as the loss weighs it)
    still_improving   the best evaluation is the last one (of two or more), and either the
                      validation score rose beyond its noise (NOISE_STANDARD_ERRORS standard
                      errors) over the last evaluations or the training sample is not yet
                      fitted (below SAMPLE_FITTED): a last gain within the noise, on a model
                      that already fits its training data, is no sign that more would help
    overfit           validation loss rose `overfitting.patience` evaluations in a row while the
                      training loss fell (the watch's rule), with the epoch it began and the gap
    imbalance         the majority class holds more than half the training examples (two
                      classes: two thirds), said for the metric that picked the best epoch
    collapsed         on such classes the kept model predicts the majority for COLLAPSE_SHARE of
                      the test examples, leaving the other classes under half the share they
                      hold, or recalls every other class at most COLLAPSE_RECALL; without
                      class_weights, the next command sets them
    threshold_at_edge the multi-label decision threshold tuned on validation is the lowest or
                      highest of the grid: the model is unsure of its labels, or over-confident
    noisy_selection   the validation score's standard error exceeds NOISY_ERROR_POINTS and
                      another evaluation is within NOISE_STANDARD_ERRORS standard errors of the
                      best: which epoch was kept is partly luck
    truncated         at least TRUNCATED_SHARE of the training texts fill data.max_length (or
                      of the tagged sentences run past it): the model never read (was never
                      trained on the tags of) their rest

A finding with a remedy also carries the command that applies it to this run (`command`, and
at the end of `text`): the run's saved config with the one or two settings changed, computed
from the run, into a new folder beside it (`rerun_command`; the table in docs/run-diagnosis.md).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import PurePath
from shlex import quote
from typing import Any

from toolkit.advice.data_size import majority_share, uneven
from toolkit.advice.overfitting import SAMPLE_PREFIX, overfitting_onset
from toolkit.advice.truncation import COVER_SHARE
from toolkit.core.run_files import RUN_CONFIG
from toolkit.metrics.multilabel import THRESHOLD_GRID
from toolkit.training.best_epoch import improves

NOT_LEARNED_PROGRESS = 0.5  # share of the way from the majority answer to perfect, on train
NOT_LEARNED_LOSS = 0.9  # share of the loss of a model that knows nothing about the inputs
NOISE_STANDARD_ERRORS = 2.0  # closer than this to the best epoch: not separable on validation
NOISY_ERROR_POINTS = 1.0  # a standard error above this hides differences worth choosing
SAMPLE_FITTED = 0.98  # a training sample scoring this (a proportion) or more: fitted
FEW_PER_CLASS = 10  # validation examples of a class below which each one moves macro-F1 a lot
TRUNCATED_SHARE = 0.5  # share of training texts cut at data.max_length worth a finding
COLLAPSE_SHARE = 0.9  # the majority predicted for this share of the examples or more ...
COLLAPSE_RECALL = 0.05  # ... or every other class recalled at most this: a collapsed run

# The next command's values (docs/run-diagnosis.md, "The next command"). Not learned: as many
# more steps as would take the run LEARNED_GOAL of the way at the pace it went (progress, else
# prior loss shed), at least LONGER_AT_LEAST and at most LONGER_AT_MOST times as many.
LEARNED_GOAL = 0.8
LONGER_AT_LEAST = 2.0
LONGER_AT_MOST = 5.0
LONGER_FACTOR = 2.0  # train longer, with no pace to go by (still improving, ...): twice as long
OVERFIT_LR_FACTOR = 0.5  # overfit yet best at its last evaluation: the next run at half the rate
TRUNCATED_LENGTH_FACTOR = 2  # the next run reads twice as far (within the model's limit)
BALANCED = {"class_weights": "balanced"}  # each class (label) weighed by its rarity
# Noisy selection: a k-fold search scores each trial on every pooled example once; the budget
# holds SEARCH_TRIALS trials (the sampler's 3 start-up trials, then 5 it chooses) of k models
# each, and the final run of the best at up to 1.25 runs (run/search/budget.FINAL_RUN_EXTRA)
SEARCH_FOLDS = 5
# Noisy selection after a k-fold search: twice the validation share, at most this much of train
LARGEST_VALIDATION_SHARE = 0.3
SEARCH_TRIALS = 8
SEARCH_FINAL_EXTRA = 0.25


@dataclass
class Finding:
    """One conclusion about the run: which rule, the sentence, and the numbers behind it; and
    where the rule has a remedy, the command that applies it to this run (also in `text`)."""

    rule: str
    text: str
    figures: dict[str, Any] = field(default_factory=dict)
    command: str | None = None  # `ftk train ...` / `ftk search ...`, shell-quoted

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ScoredSplit:
    """The kept model's predictions on one split, counted: `confusion[true][predicted]` over
    `label_names` (rows: true classes, columns: predicted ones)."""

    name: str  # "test"
    label_names: list[str]
    confusion: list[list[int]]


@dataclass
class RunFacts:
    """What the rules need to know beside the history: the data, the metric, the settings."""

    metric: str  # the metric that picked the best epoch (no eval_ prefix)
    greater_is_better: bool
    train_counts: dict[str, int]  # training examples per class ({}: a numeric target)
    validation_counts: dict[str, int]
    validation_size: int
    num_train_epochs: float
    learning_rate: float
    patience: int = 2  # overfitting.patience
    # the training loss of a model that learned nothing about the inputs (the target's
    # prior_loss, weighted as the loss is) and what such a model knows, for the words
    prior_loss: float | None = None
    prior_knows: str = ""
    # one class per input: what always answering the majority scores is the chance score
    single_class: bool = True
    class_weights: str | dict[str, float] | None = None  # the run's `class_weights`
    decision_threshold: float | None = None  # label sets: the threshold tuned on validation
    scored: ScoredSplit | None = None  # the kept model's test predictions (None: no test)
    output_dir: str | None = None  # the run directory, which the next command starts from
    validation_fraction: float | None = None  # data.validation_size, when it split train
    metrics_reordered: bool = False  # f1_macro was moved first for uneven classes
    # text and word tasks: the share of training texts that fill data.max_length (of sentences
    # that run past it), that length, and how far the model could read (None: not tokenized
    # up front, or no known limit); sentences also give the share of words past the cut
    truncated_share: float | None = None
    truncated_words_share: float | None = None
    max_length: int | None = None
    model_max_length: int | None = None
    covering_length: int | None = None  # tokens that 95% of the training texts fit in
    # the run's length in optimizer steps when max_steps set it (then num_train_epochs is
    # ignored, so a longer or shorter run changes max_steps), else None
    max_steps: int | None = None
    metrics: list[str] = field(default_factory=list)  # the run's `metrics`, in order
    train_seconds: float | None = None  # the Trainer's train_runtime: what a search would cost
    # how many times as long the findings that say "train longer" make the next run: the
    # not-learned rule's measured factor when it fires (diagnose_run), so they all hand over
    # one command; else LONGER_FACTOR
    longer_factor: float = LONGER_FACTOR
    # the k of the k-fold search (`ftk search --search.folds k`) that chose this run's
    # hyper-parameters; None: not chosen so
    chosen_by_folds: int | None = None
    # data.streaming: a stream has no epochs, so evaluations are placed by their step and the
    # kept model is "the best evaluation"; ftk search cannot run on it, so a larger validation
    # is a longer held-out head (data.stream_validation_rows, None: a given validation split)
    streamed: bool = False
    stream_validation_rows: int | None = None


@dataclass
class Point:
    """One evaluation: validation scores and, when sampled, the training sample's."""

    step: int
    epoch: float
    validation: dict[str, float]  # metric name (and "loss") -> value
    sample: dict[str, float]  # the training sample's scores at the same step ({}: none)


@dataclass
class Curve:
    """The evaluations of a run in order, and its logged training losses."""

    points: list[Point]
    training_losses: list[tuple[int, float]]  # (step, logged training loss)
    steps: int  # optimizer steps taken

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> Curve:
        samples = {r["step"]: r for r in rows if r.get("kind") == SAMPLE_PREFIX}
        points = []
        for row in rows:
            if row.get("kind") != "eval" or row.get("after_training"):
                continue  # the kept model's re-scoring after training chose nothing
            sample = samples.get(row["step"], {})
            points.append(
                Point(
                    step=row["step"],
                    epoch=row.get("epoch") or 0.0,
                    validation=strip(row, "eval_"),
                    sample=strip(sample, f"{SAMPLE_PREFIX}_"),
                )
            )
        losses = [(r["step"], r["loss"]) for r in rows if r.get("kind") == "train" and "loss" in r]
        steps = max((r.get("step", 0) for r in rows), default=0)
        return cls(points, losses, steps)


def strip(row: dict[str, Any], prefix: str) -> dict[str, float]:
    return {
        k.removeprefix(prefix): v
        for k, v in row.items()
        if k.startswith(prefix) and isinstance(v, int | float)
    }


def best_index(curve: Curve, facts: RunFacts) -> int | None:
    """The evaluation the Trainer keeps: the best by the metric, the lower validation loss on
    ties (training/best_epoch.py)."""
    scored = [i for i, p in enumerate(curve.points) if facts.metric in p.validation]
    if not scored:
        return None
    best = scored[0]
    for i in scored[1:]:
        if improves(
            as_logged(curve.points[i].validation),
            as_logged(curve.points[best].validation),
            facts.metric,
            facts.greater_is_better,
        ):
            best = i
    return best


def as_logged(validation: dict[str, float]) -> dict[str, float]:
    return {f"eval_{name}": value for name, value in validation.items()}


# ----------------------------------------------------------------------------- the next command


def rerun_command(
    facts: RunFacts, changes: dict[str, Any], suffix: str, command: str = "train"
) -> str:
    """The command that runs this run's saved config again with `changes` (config keys, dotted
    for sections, or the command's own flags such as search's budget) into a new folder named
    after the remedy, beside the run: it never overwrites the run, and two remedies never share
    a folder."""
    run = PurePath(facts.output_dir or "RUN")
    words = ["ftk", command, "--config", str(run / RUN_CONFIG)]
    for key, value in changes.items():
        words += [f"--{key}", command_value(value)]
    words += ["--output_dir", f"{run}-{suffix}"]
    return " ".join(quote(word) for word in words)


def command_value(value: Any) -> str:
    """A value as the config's override parser (YAML) reads it back."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(command_value(item) for item in value) + "]"
    return str(value)


def shown(command: str) -> str:
    """A command inside a finding's sentence: as code, in the report's markdown too."""
    return f"`{command}`"


def when(point: Point, facts: RunFacts) -> str:
    """Where an evaluation fell, in words: 'epoch 2', or 'step 400' for a stream (no epochs)."""
    return f"step {point.step:,}" if facts.streamed else f"epoch {point.epoch:g}"


def kept(facts: RunFacts) -> str:
    """What the kept model is: the best epoch, or the best evaluation of a stream."""
    return "evaluation" if facts.streamed else "epoch"


def whole_epochs(epochs: float) -> float | int:
    """A suggested epoch count: whole epochs from one up (rounded up, so the run is never
    shorter than computed), two decimals under one."""
    epochs = round(epochs, 6)  # float error: 3.0000000000000004 is 3 epochs, not 4
    return math.ceil(epochs) if epochs >= 1 else round(epochs, 2)


def longer_training(facts: RunFacts, factor: float) -> dict[str, Any]:
    """The change that trains `factor` times as long: max_steps when it set the length (the
    Trainer then ignores num_train_epochs), else num_train_epochs."""
    if facts.max_steps:
        return {"max_steps": math.ceil(round(facts.max_steps * factor, 6))}
    return {"num_train_epochs": whole_epochs(facts.num_train_epochs * factor)}


def training_until(curve: Curve, facts: RunFacts) -> dict[str, Any] | None:
    """The change that ends training at the kept evaluation, so the schedule's learning rate
    decays to its end there instead of after it (None: no kept evaluation, or it was the
    run's end)."""
    best = best_index(curve, facts)
    if best is None:
        return None
    kept = curve.points[best]
    if facts.max_steps:
        return {"max_steps": kept.step} if kept.step < facts.max_steps else None
    epochs = whole_epochs(kept.epoch)
    return {"num_train_epochs": epochs} if 0 < epochs < facts.num_train_epochs else None


def length_of(facts: RunFacts) -> str:
    """The run's length in its own unit: max_steps steps when they set it, else epochs."""
    return f"{facts.max_steps:,}" if facts.max_steps else f"{facts.num_train_epochs:g}"


def length_now(facts: RunFacts) -> str:
    """The key that sets the run's length, with its value: max_steps when set (then
    num_train_epochs is ignored), else num_train_epochs."""
    if facts.max_steps:
        return f"max_steps, now {facts.max_steps:,}"
    return f"num_train_epochs, now {facts.num_train_epochs:g}"


LENGTH_FOLDERS = {"num_train_epochs": "epochs", "max_steps": "steps"}


def length_folder(changes: dict[str, Any]) -> str:
    """The new folder's suffix for a length change, with its value ('epochs-6'): two findings
    that suggest different lengths never name the same folder."""
    ((key, value),) = changes.items()
    return f"{LENGTH_FOLDERS[key]}-{command_value(value)}"


def as_long(facts: RunFacts) -> str:
    """How much longer the next run goes, in words."""
    if facts.longer_factor == LONGER_FACTOR:
        return "twice as long"
    return f"{facts.longer_factor:.1f}x as long, as the not-learned finding measured"


def length_words(changes: dict[str, Any]) -> str:
    """A length change in words: 'num_train_epochs 6' / 'max_steps 400'."""
    ((key, value),) = changes.items()
    return f"{key} {command_value(value)}"


# ----------------------------------------------------------------------------- not learned


def chance_score(metric: str, counts: dict[str, int]) -> float | None:
    """What always answering the majority class scores in `metric` (None: not known)."""
    if not counts:
        return None
    _, p = majority_share(counts)
    f1_majority = 2 * p / (1 + p)  # that class's F1; every other class scores 0
    return {
        "accuracy": p,
        "f1_micro": p,
        "f1_macro": f1_majority / len(counts),
        "f1_weighted": p * f1_majority,
    }.get(metric)


def training_loss(curve: Curve) -> float | None:
    """The last training-sample loss, else the last logged training loss."""
    last = curve.points[-1].sample.get("loss") if curve.points else None
    if last is None and curve.training_losses:
        last = curve.training_losses[-1][1]
    return last


@dataclass
class Learning:
    """How far the run came: its training-sample score against always answering the majority
    (`progress`, 0 = the majority's score, 1 = perfect) and its training loss against the
    prior's (`loss_share`), where known."""

    metric: str | None
    score: float | None
    chance: float | None
    progress: float | None
    loss: float | None
    prior: float | None
    loss_share: float | None

    @property
    def barely(self) -> bool:
        """Not learned: too little progress, or too little of the prior loss shed."""
        low_score = self.progress is not None and self.progress < NOT_LEARNED_PROGRESS
        high_loss = self.loss_share is not None and self.loss_share >= NOT_LEARNED_LOSS
        return low_score or high_loss

    @property
    def factor(self) -> float:
        return longer_factor(self.progress, self.loss_share)


def learning(curve: Curve, facts: RunFacts) -> Learning | None:
    """How far the run came (None: no evaluation to tell)."""
    if not curve.points:
        return None
    sample = curve.points[-1].sample
    metric = next((m for m in ("accuracy", facts.metric) if m in sample), None)
    # label sets and tags have no majority answer: their counts overlap or are entities
    chance = chance_score(metric, facts.train_counts) if metric and facts.single_class else None
    progress = None
    if metric is not None and chance is not None and chance < 1.0:
        progress = (sample[metric] - chance) / (1.0 - chance)
    loss, prior = training_loss(curve), facts.prior_loss
    loss_share = loss / prior if loss is not None and prior else None
    score = sample.get(metric) if metric else None
    return Learning(metric, score, chance, progress, loss, prior, loss_share)


def not_learned(curve: Curve, facts: RunFacts) -> Finding | None:
    came = learning(curve, facts)
    if came is None or not came.barely:
        return None
    said = []
    if came.metric is not None and came.progress is not None:
        said.append(
            f"the training sample scores {came.metric} {came.score:.2f} where always answering "
            f"the majority class scores {came.chance:.2f} ({came.progress:.0%} of the way to "
            f"perfect, on examples it trains on)"
        )
    if came.loss_share is not None:
        said.append(
            f"training loss {came.loss:.3f} against {came.prior:.3f} for a model that knows "
            f"only {facts.prior_knows}"
        )
    factor = came.factor
    longer = longer_training(facts, factor)
    command = rerun_command(facts, longer, length_folder(longer))
    text = (
        f"Not learned: after {curve.steps} optimizer steps {' and '.join(said)}. The model has "
        f"barely begun to fit its own training data, so this is not overfitting and more "
        f"regularisation will not help. Try far more steps ({length_now(facts)}), a higher "
        f"learning_rate (now {facts.learning_rate:g}), "
        f"a pretrained checkpoint or continued pre-training (`ftk pretrain`) for a model "
        f"started from scratch (a transformer needs much data to learn from nothing), or the "
        f"cheap baseline. Next, {factor:.1f}x the steps ({length_words(longer)}): "
        f"{shown(command)}"
    )
    figures = {
        "steps": curve.steps,
        "metric": came.metric,
        "train_sample_score": came.score,
        "chance_score": came.chance,
        "progress": None if came.progress is None else round(came.progress, 4),
        "training_loss": came.loss,
        "prior_loss": None if came.prior is None else round(came.prior, 4),
        "longer_factor": round(factor, 2),
    }
    return Finding("not_learned", text, figures, command)


def longer_factor(progress: float | None, loss_share: float | None) -> float:
    """How many times the steps a run that barely learned gets next: as many as would take it
    LEARNED_GOAL of the way at the pace it went, between LONGER_AT_LEAST and LONGER_AT_MOST
    times. The pace is the share of the way from the majority answer to perfect it came, else
    (no training-sample score) the share of the prior loss it shed, which under
    NOT_LEARNED_LOSS asks for the most. Learning slows as it goes, so the pace flatters; the
    bounds keep one extrapolated guess from asking for a tenfold run."""
    pace = progress if progress is not None else None if loss_share is None else 1 - loss_share
    if pace is None or pace <= 0:  # no nearer than the start: no pace to go by
        return LONGER_AT_MOST
    return min(LONGER_AT_MOST, max(LONGER_AT_LEAST, LEARNED_GOAL / pace))


# ----------------------------------------------------------------------------- still improving


def still_improving(curve: Curve, facts: RunFacts) -> Finding | None:
    best = best_index(curve, facts)
    if best is None or len(curve.points) < 2 or best != len(curve.points) - 1:
        return None
    last = curve.points[-3:]
    if not learning_shows(last, facts):
        return None
    path = " -> ".join(f"{p.validation[facts.metric]:.4f}" for p in last)
    sample = curve.points[best].sample.get(facts.metric)
    on_train = f"; the training sample scores {sample:.4f}" if sample is not None else ""
    longer = longer_training(facts, facts.longer_factor)
    command = rerun_command(facts, longer, length_folder(longer))
    text = (
        f"Still improving: the best evaluation is the last one ({when(curve.points[best], facts)}"
        f" of {length_of(facts)}); validation "
        f"{facts.metric} went {path} over the last {len(last)} evaluations{on_train}. The run "
        f"stopped while it was still learning: train longer ({as_long(facts)}: "
        f"{length_words(longer)}); early stopping keeps the best {kept(facts)} if it turns. "
        f"Next: "
        f"{shown(command)}"
    )
    figures = {
        "best_epoch": curve.points[best].epoch,
        "num_train_epochs": facts.num_train_epochs,
        "last_validation_scores": [p.validation[facts.metric] for p in last],
    }
    return Finding("still_improving", text, figures, command)


def learning_shows(last: list[Point], facts: RunFacts) -> bool:
    """The last evaluations show learning: the validation score rose beyond its noise over
    them, or the training sample is not yet fitted. A score that is not a proportion (rmse, a
    loss) has no standard error here: its rise counts."""
    first, final = last[0].validation.get(facts.metric), last[-1].validation.get(facts.metric)
    error = proportion_error(final, facts.validation_size)
    if first is None or final is None or error is None:
        return True
    gain = final - first if facts.greater_is_better else first - final
    sample = last[-1].sample.get(facts.metric)
    fitted = sample is not None and facts.greater_is_better and sample >= SAMPLE_FITTED
    return gain >= NOISE_STANDARD_ERRORS * error or not fitted


def proportion_error(value: float | None, n: int) -> float | None:
    """The standard error of a proportion `value` measured on `n` examples, with a floor of one
    example's worth (a floor for accuracy and F1 alike: macro-F1 moves more, since its small
    classes have fewer examples); None when `value` is not a proportion or nothing was counted."""
    if value is None or n <= 0 or not 0.0 <= value <= 1.0:
        return None
    return math.sqrt(max(value * (1 - value), 1.0 / n) / n)


# ----------------------------------------------------------------------------- overfit


def overfit(curve: Curve, facts: RunFacts) -> Finding | None:
    points = [p for p in curve.points if "loss" in p.validation and "loss" in p.sample]
    validation = [p.validation["loss"] for p in points]
    onset = overfitting_onset(validation, [p.sample["loss"] for p in points], facts.patience)
    if onset is None:
        return None
    began = points[onset - facts.patience]
    best = best_index(curve, facts)
    gap = ""
    figures: dict[str, Any] = {"began_epoch": began.epoch, "onset_epoch": points[onset].epoch}
    if best is not None and facts.metric in curve.points[best].sample:
        point = curve.points[best]
        difference = point.sample[facts.metric] - point.validation[facts.metric]
        points_gap = 100 * difference if facts.greater_is_better else -difference
        figures["gap_at_best"] = round(points_gap, 4)
        unit = "points" if facts.greater_is_better else f"in {facts.metric}"
        gap = (
            f" At the kept {kept(facts)} ({when(point, facts)}) the training sample scores "
            f"{facts.metric} {point.sample[facts.metric]:.4f} against "
            f"{point.validation[facts.metric]:.4f} on "
            f"validation: a gap of {abs(points_gap):.1f} {unit}."
        )
    command, remedy = overfit_remedy(curve, facts)
    text = (
        f"Overfit: from {when(began, facts)} validation loss rose for {facts.patience} "
        f"evaluations in a row ({validation[onset - facts.patience]:.4f} -> "
        f"{validation[onset]:.4f}) while the training loss fell.{gap} More data, "
        f"augmentation, a lower learning rate or fewer {'steps' if facts.streamed else 'epochs'}"
        f" would help; early stopping keeps the best {kept(facts)}. Next, {remedy}: "
        f"{shown(command)}"
    )
    return Finding("overfit", text, figures, command)


def overfit_remedy(curve: Curve, facts: RunFacts) -> tuple[str, str]:
    """The next command for an overfit run and what it changes: training that ends at the
    kept evaluation (the learning rate then decays to its end before memorising starts), or,
    when the kept one was the last, half the learning rate."""
    until = training_until(curve, facts)
    if until is not None:
        words = f"train only as long as the kept evaluation ({length_words(until)})"
        return rerun_command(facts, until, length_folder(until)), words
    rate = facts.learning_rate * OVERFIT_LR_FACTOR
    lower = {"learning_rate": rate}
    words = f"half the learning rate ({facts.learning_rate:g} -> {rate:g})"
    return rerun_command(facts, lower, f"lr-{rate:g}"), words


# ----------------------------------------------------------------------------- imbalance


def imbalance(curve: Curve, facts: RunFacts) -> Finding | None:
    if not uneven(facts.train_counts):
        return None
    majority, share = majority_share(facts.train_counts)
    figures = {"majority_class": majority, "majority_share": round(share, 4)}
    command = None  # macro-F1 already picking: nothing to change
    if facts.metric == "accuracy":
        text = (
            f"Imbalance: '{majority}' holds {share:.0%} of the training examples and accuracy "
            f"picked the best {kept(facts)}, but always answering '{majority}' scores "
            f"{share:.2f} in "
            f"accuracy: it is misleading here. Put f1_macro first in `metrics` (it weighs "
            f"every class alike) and consider `class_weights: balanced`."
        )
        if facts.single_class:  # f1_macro is a metric of every single-class target
            command = rerun_command(facts, {"metrics": macro_first(facts)}, "f1_macro")
            text += f" Next, macro-F1 picking the best {kept(facts)}: {shown(command)}"
    elif facts.metric == "f1_macro":
        why = (
            " (ftk moved it first because `metrics` was not set)" if facts.metrics_reordered else ""
        )
        text = (
            f"Imbalance: '{majority}' holds {share:.0%} of the training examples, so macro-F1 "
            f"picked the best {kept(facts)}{why}; accuracy would flatter a model that favours "
            f"'{majority}' (answering it always scores {share:.2f})."
        )
    else:
        return None
    return Finding("imbalance", text, figures, command)


def macro_first(facts: RunFacts) -> list[str]:
    """The run's metrics with f1_macro first (the metric that picks the best epoch)."""
    others = facts.metrics or [facts.metric]
    return ["f1_macro", *(name for name in others if name != "f1_macro")]


# ----------------------------------------------------------------------------- collapsed


def majority_collapse(facts: RunFacts) -> dict[str, Any] | None:
    """How far the kept model's test predictions fell to the training majority, when they did
    (uneven classes only): its predicted and true shares, the other classes' recall."""
    scored = facts.scored
    if scored is None or not facts.single_class or not uneven(facts.train_counts):
        return None
    majority, _ = majority_share(facts.train_counts)
    column = scored.label_names.index(majority)
    rows = scored.confusion
    support = [sum(row) for row in rows]  # true examples of each class
    total = sum(support)
    if not total:
        return None
    predicted = sum(row[column] for row in rows) / total
    held = support[column] / total
    recalls = {
        name: rows[i][i] / support[i]
        for i, name in enumerate(scored.label_names)
        if i != column and support[i]
    }
    # the others get under half the predictions their share calls for, or almost none right
    starved = predicted >= COLLAPSE_SHARE and 1 - predicted <= (1 - held) / 2
    unrecalled = bool(recalls) and max(recalls.values()) <= COLLAPSE_RECALL
    if predicted <= held or not (starved or unrecalled):
        return None
    return {
        "majority_class": majority,
        "split": scored.name,
        "predicted_share": round(predicted, 4),
        "true_share": round(held, 4),
        "other_recalls": {name: round(r, 4) for name, r in recalls.items()},
    }


def collapsed(curve: Curve, facts: RunFacts) -> Finding | None:
    figures = majority_collapse(facts)
    if figures is None:
        return None
    majority, split = figures["majority_class"], figures["split"]
    recalls = ", ".join(f"'{name}' {r:.2f}" for name, r in figures["other_recalls"].items())
    seen = (
        f"Collapsed to the majority: the kept model predicts '{majority}' for "
        f"{figures['predicted_share']:.0%} of the {split} examples, though it is the class "
        f"of {figures['true_share']:.0%} of them; the other classes' recall: {recalls}."
    )
    if facts.class_weights is None:
        command = rerun_command(facts, BALANCED, "balanced")
        advice = (
            f" With uneven classes, a model that tells them apart poorly lowers the plain loss "
            f"most by leaning toward the majority, and this one did; `class_weights: balanced` "
            f"weighs each class by its rarity (n / (classes x n_c)), so every class counts "
            f"alike in the loss. Next: {shown(command)}"
        )
    else:
        longer = longer_training(facts, facts.longer_factor)
        command = rerun_command(facts, longer, length_folder(longer))
        advice = (
            f" It did so with `class_weights` set ({facts.class_weights}): the weights alone did "
            f"not pull it off the majority, so it has likely not learned what tells the classes "
            f"apart. Train longer or at a higher learning_rate (now {facts.learning_rate:g}), "
            f"weigh the rare classes harder (`class_weights: {{label: weight}}`), or gather "
            f"more examples of them. Next, {as_long(facts)} ({length_words(longer)}): "
            f"{shown(command)}"
        )
    return Finding("collapsed", seen + advice, figures, command)


# ----------------------------------------------------------------------------- threshold at edge


def threshold_at_edge(curve: Curve, facts: RunFacts) -> Finding | None:
    threshold = facts.decision_threshold
    low, high = THRESHOLD_GRID[0], THRESHOLD_GRID[-1]
    if threshold is None or not any(math.isclose(threshold, t) for t in (low, high)):
        return None
    at_low = math.isclose(threshold, low)
    advice, command = unsure_labels(facts) if at_low else over_confident(curve, facts)
    seen = (
        f"Threshold at the grid's edge: the decision threshold tuned on validation is "
        f"{threshold:g}, the {'lowest' if at_low else 'highest'} the grid tries ({low:g} to "
        f"{high:g}), so a threshold beyond it might score better still, and `ftk predict` and "
        f"`ftk evaluate` decide at {threshold:g}."
    )
    figures = {"threshold": threshold, "grid": [low, high]}
    return Finding("threshold_at_edge", seen + advice, figures, command)


def unsure_labels(facts: RunFacts) -> tuple[str, str]:
    """What a threshold at the grid's bottom means, what to try, and the command."""
    meaning = (
        f" The best validation f1_micro came from calling every label the model gives more "
        f"than a {THRESHOLD_GRID[0]:.0%} chance: the model is not confident about its labels, "
        f"whose probabilities stay low, as they do for labels too rare to learn from this "
        f"data or not learned yet."
    )
    if facts.class_weights is not None:
        longer = longer_training(facts, facts.longer_factor)
        command = rerun_command(facts, longer, length_folder(longer))
        return meaning + (
            f" The labels' positives are already weighted (`class_weights`): train longer or "
            f"gather more examples of the rare labels. Next, {as_long(facts)} "
            f"({length_words(longer)}): {shown(command)}"
        ), command
    command = rerun_command(facts, BALANCED, "balanced")
    return meaning + (
        f" Weigh each label's positives in the loss (`class_weights: balanced`: negatives / "
        f"positives per label), and the tuned threshold should move inward: "
        f"{shown(command)}; more epochs or more examples of the rare labels help too."
    ), command


def over_confident(curve: Curve, facts: RunFacts) -> tuple[str, str | None]:
    """What a threshold at the grid's top means, what to try, and the command (None: the
    kept evaluation was the last, so there are no fewer epochs to suggest)."""
    meaning = (
        f" Only labels the model gives over {THRESHOLD_GRID[-1]:.0%} were worth calling: it is "
        f"over-confident, giving absent labels high probabilities"
    )
    if facts.class_weights is not None:
        command = rerun_command(facts, {"class_weights": None}, "unweighted")
        return meaning + (
            f", as positive-label weights make it (`class_weights` scales each label's "
            f"positives up, and its probabilities with them): lighter weights (`class_weights: "
            f"{{label: weight}}`) or none keep them honest. Next, none: {shown(command)}"
        ), command
    advice = meaning + (
        ", as after overfitting: fewer epochs (early stopping keeps the best one) or more data."
    )
    until = training_until(curve, facts)
    if until is None:
        return advice, None
    command = rerun_command(facts, until, length_folder(until))
    return advice + f" Next, {length_words(until)}: {shown(command)}", command


# ----------------------------------------------------------------------------- noisy selection


def noisy_selection(curve: Curve, facts: RunFacts) -> Finding | None:
    best = best_index(curve, facts)
    n = facts.validation_size
    if best is None or n <= 0 or not facts.train_counts or len(curve.points) < 2:
        return None
    value = curve.points[best].validation[facts.metric]
    error = proportion_error(value, n)
    if error is None or 100 * error <= NOISY_ERROR_POINTS:  # epochs this close are alike
        return None
    close = [
        i
        for i, p in enumerate(curve.points)
        if i != best
        and facts.metric in p.validation
        and abs(value - p.validation[facts.metric]) < NOISE_STANDARD_ERRORS * error
    ]
    if not close:
        return None
    # One label per example (accuracy, f1_*): what one example is worth says it plainly.
    # Entity scores (token classification) count entities and words, not validation sentences.
    per_example = facts.metric == "accuracy" or facts.metric.startswith("f1_")
    smallest = min(facts.validation_counts, key=facts.validation_counts.__getitem__, default=None)
    small = ""
    if per_example and smallest is not None and facts.validation_counts[smallest] < FEW_PER_CLASS:
        count, k = facts.validation_counts[smallest], len(facts.validation_counts)
        small = (
            f" The smallest class, '{smallest}', has {count} validation examples: each one "
            f"moves macro-F1 by up to about {100 / (k * max(count, 1)):.1f} points."
        )
    size = "validation split" + (
        f" (data.validation_size, now {facts.validation_fraction:g}, when ftk holds it out)"
        if facts.validation_fraction is not None
        else ""
    )
    worth = f"one example is worth {100 / n:.1f} points of accuracy and " if per_example else ""
    seen = (
        f"Noisy selection: {n} validation examples, so {worth}the standard error of "
        f"{facts.metric} near {value:.2f} is about {100 * error:.1f} points; "
        f"{len(close)} of the other {len(curve.points) - 1} "
        f"evaluations are within {NOISE_STANDARD_ERRORS:g} standard errors of the best, so "
        f"which {kept(facts)} was kept is partly luck.{small}"
    )
    if facts.streamed:
        advice, command = larger_head(facts)
    elif facts.chosen_by_folds:
        advice, command = larger_validation(facts, size)
    else:
        advice, command = k_fold_search(facts, size)
    text = seen + advice
    figures = {
        "validation_size": n,
        "one_example_points": round(100 / n, 3),
        "standard_error_points": round(100 * error, 3),
        "evaluations_within_noise": len(close),
    }
    return Finding("noisy_selection", text, figures, command)


def larger_head(facts: RunFacts) -> tuple[str, str | None]:
    """A streamed run's remedy: a longer validation head (ftk search cannot run on a stream;
    None: the validation split was given, so ftk cannot make it larger)."""
    said = " A larger validation split would make the choice reliable"
    rows = facts.stream_validation_rows
    if rows is None:
        return said + ": give a larger validation file or split.", None
    larger = 2 * rows
    changes = {"data.stream_validation_rows": larger}
    command = rerun_command(facts, changes, f"validation-rows-{larger}")
    return (
        said + f" (a k-fold search cannot run on a stream). Next, the stream's first {larger:,} "
        f"rows held out (data.stream_validation_rows, now {rows:,}): {shown(command)}"
    ), command


def k_fold_search(facts: RunFacts, size: str) -> tuple[str, str]:
    """The advice and command of a run whose hyper-parameters no k-fold search chose."""
    search = search_changes(facts)
    command = rerun_command(facts, search, f"folds-{SEARCH_FOLDS}", command="search")
    return (
        f" A larger {size}, or choosing the hyper-parameters by k-fold cross-validation (`ftk "
        f"search --search.folds {SEARCH_FOLDS}`), would make the choice reliable. Next, "
        f"{search_words(search)}: {shown(command)}"
    ), command


def larger_validation(facts: RunFacts, size: str) -> tuple[str, str | None]:
    """A k-fold search chose the hyper-parameters already: only the epoch kept in its final run
    rests on this validation split, so a larger one is the remedy (None: the split was given,
    so ftk cannot make it larger)."""
    said = (
        f" The hyper-parameters were chosen by a {facts.chosen_by_folds}-fold search; the "
        f"epoch kept in this final run rests on its validation split alone. A larger {size} "
        f"would make that choice reliable"
    )
    fraction = facts.validation_fraction
    if fraction is None:
        return said + ": give a larger validation file.", None
    larger = round(min(LARGEST_VALIDATION_SHARE, 2 * fraction), 4)
    if larger <= fraction:
        return said + ".", None
    command = rerun_command(facts, {"data.validation_size": larger}, f"validation-{larger:g}")
    return said + f". Next, data.validation_size {larger:g}: {shown(command)}", command


def search_changes(facts: RunFacts) -> dict[str, Any]:
    """`ftk search` with k folds, and a budget for SEARCH_TRIALS trials of k models, each as
    long as this run's training, plus the final run of the best (whole minutes); without the
    run's training time, SEARCH_TRIALS trials instead of a budget."""
    folds: dict[str, Any] = {"search.folds": SEARCH_FOLDS}
    if not facts.train_seconds:
        return {"trials": SEARCH_TRIALS, **folds}
    runs = SEARCH_FOLDS * SEARCH_TRIALS + 1 + SEARCH_FINAL_EXTRA
    minutes = max(1, math.ceil(runs * facts.train_seconds / 60))
    return {"budget": f"{minutes}m", **folds}


def search_words(search: dict[str, Any]) -> str:
    """The search command's size in words."""
    if "budget" in search:
        return (
            f"a {SEARCH_FOLDS}-fold search in {search['budget']} (about {SEARCH_TRIALS} trials "
            f"of {SEARCH_FOLDS} models as long as this run's training, and the final run)"
        )
    return f"a {SEARCH_FOLDS}-fold search of {SEARCH_TRIALS} trials"


# ----------------------------------------------------------------------------- truncation


def truncated(curve: Curve, facts: RunFacts) -> Finding | None:
    share = facts.truncated_share
    if share is None or share < TRUNCATED_SHARE or not facts.max_length:
        return None
    room = facts.model_max_length
    command = None
    longer = ""
    length, reach = longer_inputs(facts)
    if length is not None:
        command = rerun_command(facts, {"data.max_length": length}, f"max-length-{length}")
        longer = (
            f" The model reads up to {room} tokens: a run at a larger max_length (e.g. "
            f"{length}{reach}) shows whether the rest matters, at about "
            f"{length / facts.max_length:.1f}x the time per step or more. Next: "
            f"{shown(command)}"
        )
    words = facts.truncated_words_share
    cut = (
        f"{share:.0%} of the training texts fill data.max_length ({facts.max_length} "
        f"tokens), so the model never read the rest of them, while the cheap baselines read "
        f"every word"
        if words is None
        else f"{share:.0%} of the training sentences run past data.max_length "
        f"({facts.max_length} word pieces), so the model was never trained on the tags of "
        f"their last words ({words:.0%} of all words), while the cheap baselines learn from "
        f"every word"
    )
    text = f"Truncated: {cut}: one reason they can come close or win.{longer}"
    figures = {"truncated_share": round(share, 4), "max_length": facts.max_length}
    if words is not None:
        figures["truncated_words_share"] = round(words, 4)
    if facts.covering_length is not None:
        figures["covering_length"] = facts.covering_length
    return Finding("truncated", text, figures, command)


def longer_inputs(facts: RunFacts) -> tuple[int | None, str]:
    """The max_length of the next run and why: what COVER_SHARE of the training texts fit in,
    rounded up to a multiple of 8, where it was measured, else TRUNCATED_LENGTH_FACTOR times
    the run's; within what the model reads. None: the model reads no further (or its limit
    is unknown), or the texts already fit."""
    room, now = facts.model_max_length, facts.max_length
    if not room or not now or room <= now:
        return None, ""
    covering = facts.covering_length
    if covering is None:
        return min(room, TRUNCATED_LENGTH_FACTOR * now), ""
    if covering <= now:  # the "cut" texts end at max_length exactly: nothing more to read
        return None, ""
    length = min(room, 8 * math.ceil(covering / 8))
    share = f"{COVER_SHARE:.0%}"
    reach = (
        f", which {share} of the training texts fit in"
        if length >= covering
        else f", as far as it reads; {share} of the training texts fit in {covering}"
    )
    return length, reach


RULES = (
    not_learned,
    still_improving,
    overfit,
    imbalance,
    collapsed,
    threshold_at_edge,
    noisy_selection,
    truncated,
)


def diagnose_run(rows: list[dict[str, Any]], facts: RunFacts) -> list[Finding]:
    """Every rule's finding on this run's history, in the order of RULES."""
    curve = Curve.from_rows(rows)
    came = learning(curve, facts)
    if came is not None and came.barely:  # one length for every "train longer"
        facts = dataclasses.replace(facts, longer_factor=came.factor)
    return [finding for rule in RULES if (finding := rule(curve, facts)) is not None]
