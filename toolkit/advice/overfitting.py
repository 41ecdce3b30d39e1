"""Overfitting watch: score a fixed training sample beside validation, warn when they part.

At every evaluation the `OverfittingWatch` callback scores a fixed training sample (drawn once,
seeded, from the un-augmented training split; `watch_sample_size` sizes it so that scoring it
costs at most `overfitting.max_epoch_share` of an epoch) with the same metrics as validation;
the Trainer logs them as `train_sample_*` and history.jsonl records a "train_sample" row beside
each "eval" row. When validation loss has risen for `patience` evaluations in a row while
training loss fell, it warns (once). At the end `summarize_overfitting` names the best epoch and
the train/validation gap there, as an `OverfittingSummary`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from transformers import Trainer, TrainerCallback

from toolkit.core.log import warn
from toolkit.training.best_epoch import eval_key, improves

if TYPE_CHECKING:
    import datasets

SAMPLE_PREFIX = "train_sample"
# the sample's name as a split, which the tasks' preparation shows in its progress bar
WATCH_SPLIT = "training sample"

# The cost model. Scoring an example is a forward pass; training on it is a forward pass, a
# backward pass (about twice the forward FLOPs: gradients with respect to both activations and
# weights) and an optimizer update (a few operations per weight per batch, small beside the
# rest): so scoring costs about 1/3 of training, per example. (LoRA's frozen encoder skips the
# weight gradients, so there scoring is nearer 1/2 and the share spent is up to 1.5x larger.)
SCORING_COST_PER_TRAINING_COST = 1 / 3
# Fewer examples than this and the sample's accuracy wobbles by several points from noise
# alone (binomial standard error up to 3.5 points at 200); tiny training sets get this many
# (or all of them) whatever the share, which costs little since their epochs are short.
MIN_SAMPLE_SIZE = 200


def watch_sample_size(ceiling: int, num_train: int, epoch_share: float | None) -> int:
    """How many training examples the watch scores at each evaluation: `ceiling`
    (`overfitting.train_sample_size`; 0 = off) cut to what costs `epoch_share` of an epoch's
    training (None = no cut), but not below MIN_SAMPLE_SIZE, and never more than there are."""
    size = ceiling
    if ceiling > 0 and epoch_share is not None:
        # rounded first: 0.05 * 1000 / (1/3) is 149.99999999999997 in floating point
        affordable = int(round(epoch_share * num_train / SCORING_COST_PER_TRAINING_COST, 6))
        size = min(ceiling, max(affordable, MIN_SAMPLE_SIZE))
    return min(size, num_train)


def watch_cost_share(size: int, num_train: int) -> float:
    """Scoring `size` examples as a share of an epoch over `num_train`, by the cost model."""
    return size * SCORING_COST_PER_TRAINING_COST / num_train if num_train else 0.0


def describe_watch(
    size: int,
    num_train: int,
    ceiling: int,
    epoch_share: float | None,
    rows_between: int | None = None,
) -> str:
    """The console line that says what the watch will score and what that costs;
    `rows_between`: a streamed run's training rows from one evaluation to the next (a stream
    has no epochs: its sample comes from the head sample, its cost is against those rows)."""
    if size == 0:
        return (
            "Overfitting watch: no training sample (`overfitting.train_sample_size: 0`); it "
            "compares validation loss with the Trainer's running training loss."
        )
    if rows_between is not None:
        return (
            f"Overfitting watch: {size} of the {num_train} head-sample training rows "
            f"(data.stream_head_rows) scored at each evaluation, about "
            f"{watch_cost_share(size, rows_between):.1%} of the training time between "
            f"evaluations ({rows_between:,} rows; set by `overfitting.train_sample_size` "
            f"{ceiling}; overfitting.max_epoch_share does not apply: a stream has no epochs)."
        )
    cap = "null" if epoch_share is None else f"{epoch_share:g}"
    return (
        f"Overfitting watch: {size} of {num_train} training examples scored at each "
        f"evaluation, about {watch_cost_share(size, num_train):.1%} of an epoch's training "
        f"time (set by `overfitting.max_epoch_share` {cap}, at least {MIN_SAMPLE_SIZE}, and "
        f"`overfitting.train_sample_size` {ceiling})."
    )


def training_sample(train: datasets.Dataset, size: int, seed: int) -> datasets.Dataset | None:
    """Up to `size` training examples, the same ones every evaluation (None when size is 0).
    Always the first `size` of one seeded shuffle, so a smaller sample is a prefix of a
    larger one (benchmarks/overfitting_sample.py compares the two on one run)."""
    if size <= 0:
        return None
    return train.shuffle(seed=seed).select(range(min(size, len(train))))


def overfitting_onset(
    validation_losses: list[float], training_losses: list[float], patience: int
) -> int | None:
    """Index of the first evaluation that closes `patience` consecutive evaluations in which
    validation loss rose while training loss fell; None if that never happens."""
    streak = 0
    for i in range(1, min(len(validation_losses), len(training_losses))):
        diverging = (
            validation_losses[i] > validation_losses[i - 1]
            and training_losses[i] < training_losses[i - 1]
        )
        streak = streak + 1 if diverging else 0
        if streak >= patience:
            return i
    return None


def overfitting_message(
    epochs: list[float], validation_losses: list[float], onset: int, patience: int
) -> str:
    first = onset - patience
    return (
        f"Overfitting: validation loss rose for {patience} evaluations in a row (epoch "
        f"{epochs[first]:.2f} -> {epochs[onset]:.2f}: {validation_losses[first]:.4f} -> "
        f"{validation_losses[onset]:.4f}) while training loss fell. The model is memorising "
        f"the training set; early stopping keeps the best epoch, and more data, "
        f"augmentation, a lower learning rate or fewer epochs would help."
    )


class OverfittingWatch(TrainerCallback):
    """Scores the training sample after each validation pass and watches the two losses."""

    def __init__(self, sample: datasets.Dataset | None, patience: int):
        self.sample = sample
        self.patience = patience
        self.trainer: Any = None
        self.epochs: list[float] = []
        self.validation_losses: list[float] = []
        self.training_losses: list[float] = []
        self.warning: str | None = None
        self._last_train_loss: float | None = None
        self.training = False  # only evaluations during training count, not the final one

    def attach(self, trainer: Trainer) -> OverfittingWatch:
        self.trainer = trainer
        trainer.add_callback(self)
        return self

    def on_train_begin(self, args, state, control, **kwargs):
        self.training = True
        self.replay(state.log_history)  # a resumed run: the evaluations before the stop

    def replay(self, log_history: list[dict[str, Any]]) -> None:
        """Take up the losses a resumed run's checkpoint logged, so a rise that began before
        the stop is still seen, and a warning already given is given again."""
        sample_key = f"{SAMPLE_PREFIX}_loss"
        sample_losses = {
            row.get("step"): row[sample_key] for row in log_history if sample_key in row
        }
        for row in log_history:
            if "loss" in row:
                self._last_train_loss = row["loss"]
            if "eval_loss" not in row:
                continue
            training_loss = (
                sample_losses.get(row.get("step"))
                if self.sample is not None
                else self._last_train_loss
            )
            if training_loss is not None:
                self.record(row.get("epoch") or 0.0, row["eval_loss"], training_loss)

    def on_train_end(self, args, state, control, **kwargs):
        self.training = False

    def on_log(self, args, state, control, logs=None, **kwargs):
        # Without a sample, the watch falls back on the Trainer's running training loss.
        if self.sample is None and logs and "loss" in logs:
            self._last_train_loss = logs["loss"]

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not self.training or not metrics or "eval_loss" not in metrics:
            return
        training_loss = self.score_sample() if self.sample is not None else self._last_train_loss
        if training_loss is None:
            return
        self.record(state.epoch or 0.0, metrics["eval_loss"], training_loss)

    def record(self, epoch: float, validation_loss: float, training_loss: float) -> None:
        self.epochs.append(epoch)
        self.validation_losses.append(validation_loss)
        self.training_losses.append(training_loss)
        onset = overfitting_onset(self.validation_losses, self.training_losses, self.patience)
        if onset is not None and self.warning is None:
            self.warning = overfitting_message(
                self.epochs, self.validation_losses, onset, self.patience
            )
            warn(self.warning)

    def score_sample(self) -> float:
        # evaluation_loop + log rather than trainer.evaluate(): evaluate() would fire
        # on_evaluate again (this very callback, and early stopping without its metric).
        # Iterating a DataLoader draws its base seed from torch's global generator: without
        # the fork, watching would change the next epoch's shuffle and dropout, so a run with
        # the watch would differ from one without (ftk search's trials run without it).
        trainer = self.trainer
        with torch.random.fork_rng(devices=[]):
            output = trainer.evaluation_loop(
                trainer.get_eval_dataloader(self.sample),
                description="Training sample",
                metric_key_prefix=SAMPLE_PREFIX,
            )
        close_prediction_bar(trainer)
        trainer.log(output.metrics)
        return output.metrics[f"{SAMPLE_PREFIX}_loss"]


def close_prediction_bar(trainer: Trainer) -> None:
    """Close the bar the Trainer's progress callback opened for the sample's batches. It
    closes its bar in on_evaluate, which this loop does not fire (see score_sample): left
    open, a finished bar stayed under the training bar, the next validation pass counted on in
    it ("3it" of 2), and later lines were printed over it."""
    for callback in trainer.callback_handler.callbacks:
        bar = getattr(callback, "prediction_bar", None)  # ProgressCallback's (and notebook's)
        if bar is not None:
            bar.close()
            callback.prediction_bar = None


# ----------------------------------------------------------------------------- end of run


def best_evaluation(
    rows: list[dict[str, Any]], metric: str, greater_is_better: bool
) -> dict[str, Any] | None:
    """The eval row of history.jsonl with the best `eval_<metric>` (ties to the lower
    validation loss, as the kept checkpoint is chosen: training/best_epoch.py), merged with the
    train_sample row logged at the same step. The kept model's re-scoring after training is
    not one of them: it chose nothing, and after bf16 training it is computed in fp32, so it
    can edge past the evaluation it repeats."""
    key = eval_key(metric)
    evals = [
        r for r in rows if r.get("kind") == "eval" and key in r and not r.get("after_training")
    ]
    if not evals:
        return None
    best = evals[0]
    for row in evals[1:]:
        if improves(row, best, metric, greater_is_better):
            best = row
    sample = next(
        (r for r in rows if r.get("kind") == SAMPLE_PREFIX and r["step"] == best["step"]), {}
    )
    return {**sample, **best}


@dataclass
class OverfittingSummary:
    """The best epoch and, when a training sample was scored, the train/validation gap there."""

    warning: str | None = None  # the overfitting warning of the run, if one fired
    best_epoch: float | None = None  # None: no evaluation was recorded
    best_step: int | None = None
    metric: str | None = None
    validation_metric: float | None = None
    validation_loss: float | None = None
    train_sample_metric: float | None = None  # the fields below need a training sample
    train_sample_loss: float | None = None
    # How much better the training sample scores than validation: in points of the metric
    # (x100), or for an error metric (rmse, mae: lower is better) in the metric's own units.
    gap_points: float | None = None
    loss_gap: float | None = None  # validation loss minus train-sample loss
    gap_unit: str = "points"  # "points" | the error metric's name
    streamed: bool = False  # data.streaming: no epochs, the kept model is an evaluation (step)

    def gap_text(self) -> str:
        if self.gap_unit == "points":
            return f"{self.gap_points:.1f} points"
        return f"{self.gap_points:.4g} in {self.gap_unit} (validation minus training sample)"

    def to_dict(self) -> dict[str, Any]:
        """For metrics.json: the figures that exist (a run without a sample has no gap)."""
        values = dataclasses.asdict(self)
        values.pop("streamed")  # run_config.yaml says so
        return {k: v for k, v in values.items() if v is not None or k in ("warning", "best_epoch")}

    def kept(self) -> str:
        """The kept evaluation in words: 'Best epoch: 2.00 (step 40)', or for a stream (no
        epochs) 'Best evaluation: step 40'."""
        if self.streamed:
            return f"Best evaluation: step {self.best_step}"
        return f"Best epoch: {self.best_epoch:.2f} (step {self.best_step})"

    def describe(self) -> str:
        """One console line."""
        if self.best_epoch is None:
            return "Best epoch: no evaluation was recorded."
        text = f"{self.kept()}, validation {self.metric} {self.validation_metric:.4f}"
        if self.gap_points is not None:
            text += (
                f"; training sample {self.train_sample_metric:.4f}: a train/validation "
                f"gap of {self.gap_text()} (loss {self.train_sample_loss:.4f}"
                f" vs {self.validation_loss:.4f})"
            )
        return text


def summarize_overfitting(
    rows: list[dict[str, Any]],
    metric: str,
    greater_is_better: bool,
    warning: str | None,
    streamed: bool = False,
) -> OverfittingSummary:
    """Best epoch, and the train-sample vs validation gap there (metric in points, and loss)."""
    best = best_evaluation(rows, metric, greater_is_better)
    if best is None:
        return OverfittingSummary(warning=warning, streamed=streamed)
    summary = OverfittingSummary(
        warning=warning,
        streamed=streamed,
        best_epoch=best["epoch"],
        best_step=best["step"],
        metric=metric,
        validation_metric=best[f"eval_{metric}"],
        validation_loss=best["eval_loss"],
    )
    sample_key = f"{SAMPLE_PREFIX}_{metric}"
    if sample_key in best:
        sample_loss = best[f"{SAMPLE_PREFIX}_loss"]
        summary.train_sample_metric = best[sample_key]
        summary.train_sample_loss = sample_loss
        if greater_is_better:
            summary.gap_points = round(100 * (best[sample_key] - best[f"eval_{metric}"]), 2)
        else:
            summary.gap_points = round(best[f"eval_{metric}"] - best[sample_key], 6)
            summary.gap_unit = metric
        summary.loss_gap = round(best["eval_loss"] - sample_loss, 4)
    return summary
