"""Does the overfitting watch's capped training sample keep the signal of the full one?

Trains the recipe once (single-label classification). At every evaluation it scores the full
sample (`--full`, default 1,000: the old default size) and keeps each example's loss and
prediction; the capped sample the watch now scores is the first `--capped` examples of the same
seeded shuffle (advice/overfitting.training_sample: a smaller sample is a prefix of a larger
one), so its scores are the same numbers averaged over the prefix. Printed per evaluation:
validation, full-sample and capped-sample loss and accuracy, and the train/validation gap on
each; then the overfitting onset (the watch's warning rule) on either sample, and what each
piece of per-evaluation work costs beside the epoch's training time.

    python benchmarks/overfitting_sample.py --tiny                       # seconds (tests)
    python benchmarks/overfitting_sample.py --config configs/text-bbc-minilm.yaml \\
        --json overfitting_sample.json [--early_stopping.patience null ...]

--capped defaults to the size `ftk train` picks for the recipe (watch_sample_size with the
recipe's overfitting settings, the ceiling being --full). Losses are plain cross-entropy per
example (as the Trainer's own loss unless class_weights or label smoothing are set).
Timings on a shared machine are noisy; the cost model says scoring an example costs about
1/3 of training on it, and the "scoring / training per example" line measures that ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from common import ROOT, make_tiny_recipe
from transformers import TrainerCallback

DEFAULT_RECIPE = ROOT / "configs" / "text-bbc-minilm.yaml"
SINGLE_LABEL_TASKS = ("text-classification", "image-classification")
# --tiny: a tiny BERT on ~130 training texts, a high LR and no early stopping: seconds
TINY_OVERRIDES = [
    "--num_train_epochs",
    "3",
    "--learning_rate",
    "1e-3",
    "--per_device_train_batch_size",
    "16",
    "--early_stopping.patience",
    "null",
    "--use_cpu",
    "true",
]


def per_example_scores(logits: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy loss and 1/0 correctness of each example."""
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    losses = -log_probs[np.arange(len(labels)), labels]
    return losses, (logits.argmax(axis=1) == labels).astype(np.float64)


def prefix_scores(losses: list[float], correct: list[float], n: int) -> dict[str, float]:
    """Loss and accuracy over the first `n` examples (all of them when n >= their number)."""
    return {"loss": float(np.mean(losses[:n])), "accuracy": float(np.mean(correct[:n]))}


def gaps(validation: dict[str, float], sample: dict[str, float]) -> dict[str, float]:
    """How much better the sample scores than validation: loss, and accuracy in points."""
    return {
        "loss_gap": validation["loss"] - sample["loss"],
        "accuracy_gap_points": 100 * (sample["accuracy"] - validation["accuracy"]),
    }


class SampleProbe(TrainerCallback):
    """Scores the full sample after each validation pass (without logging it: the run's history
    stays as without the probe) and times the pieces of each epoch."""

    def __init__(self, trainer, sample):
        self.trainer, self.sample = trainer, sample
        self.rows: list[dict] = []
        self.training = False
        self.marks: dict[str, float] = {}

    def on_train_begin(self, args, state, control, **kwargs):
        self.training = True

    def on_train_end(self, args, state, control, **kwargs):
        self.training = False

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.marks = {"epoch_begin": time.perf_counter()}

    def on_epoch_end(self, args, state, control, **kwargs):
        self.marks["epoch_end"] = time.perf_counter()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if not self.training or not metrics or "eval_loss" not in metrics:
            return
        evaluated = time.perf_counter()
        with torch.random.fork_rng(devices=[]):  # as the watch: training stays as without it
            output = self.trainer.evaluation_loop(
                self.trainer.get_eval_dataloader(self.sample),
                description="Full training sample",
                metric_key_prefix="full_sample",
            )
        scored = time.perf_counter()
        losses, correct = per_example_scores(output.predictions, output.label_ids)
        begin, end = self.marks.get("epoch_begin"), self.marks.get("epoch_end")
        self.rows.append(
            {
                "epoch": state.epoch,
                "step": state.global_step,
                "validation": {"loss": metrics["eval_loss"], "accuracy": metrics["eval_accuracy"]},
                "trainer_sample_loss": output.metrics["full_sample_loss"],
                "losses": losses.tolist(),
                "correct": correct.tolist(),
                "seconds": {
                    "training": end - begin if begin and end else None,
                    "validation": evaluated - end if end else None,
                    "full_sample": scored - evaluated,
                },
            }
        )
        self.marks["scored"] = scored

    def on_save(self, args, state, control, **kwargs):
        if self.rows and "scored" in self.marks:
            self.rows[-1]["seconds"]["checkpoint"] = time.perf_counter() - self.marks.pop("scored")


def train_with_probe(recipe: Path, overrides: list[str], full: int, capped: int | None):
    """The stages of `ftk train` up to the fit, with the probe in place of the watch; returns
    (probe rows, training size, full size, capped size, patience, max_epoch_share)."""
    from toolkit.advice.overfitting import watch_sample_size
    from toolkit.config.load import load_config
    from toolkit.run.assembly import assemble_trainer
    from toolkit.run.fine_tuning import unaugmented_training_sample
    from toolkit.run.stages import (
        build_model,
        open_run_dir,
        plan_for_data,
        plan_run,
        prepare_labelled,
    )

    output_dir = Path(tempfile.mkdtemp()) / "run"
    config = load_config(recipe, [*overrides, "--output_dir", str(output_dir)])
    if config.task not in SINGLE_LABEL_TASKS:
        sys.exit(f"overfitting_sample.py scores single-label classification, not {config.task}")
    plan = plan_run(config)
    prepared = prepare_labelled(plan)
    plan, compute_metrics = plan_for_data(plan, prepared)
    model = build_model(plan, prepared.data)
    open_dir = partial(open_run_dir, plan, overwrite=True)
    trainer, _ = assemble_trainer(plan, model, prepared, compute_metrics, open_dir)
    num_train = len(prepared.data.splits["train"])
    settings = plan.config.overfitting
    if capped is None:  # what `ftk train` would score, with --full as the ceiling
        capped = watch_sample_size(full, num_train, settings.max_epoch_share)
    sample = unaugmented_training_sample(plan, prepared, full)
    probe = SampleProbe(trainer, sample)
    trainer.add_callback(probe)
    trainer.train()
    share = settings.max_epoch_share
    return probe.rows, num_train, len(sample), capped, settings.patience, share


def summarise(rows: list[dict], capped: int, patience: int) -> dict:
    """Per evaluation: the full and capped samples' scores and gaps; the onset on each."""
    from toolkit.advice.overfitting import overfitting_onset

    evaluations = []
    for row in rows:
        full = prefix_scores(row["losses"], row["correct"], len(row["losses"]))
        small = prefix_scores(row["losses"], row["correct"], capped)
        evaluations.append(
            {
                "epoch": row["epoch"],
                "validation": row["validation"],
                "full": {**full, **gaps(row["validation"], full)},
                "capped": {**small, **gaps(row["validation"], small)},
                "trainer_sample_loss": row["trainer_sample_loss"],
                "seconds": row["seconds"],
            }
        )
    validation = [e["validation"]["loss"] for e in evaluations]
    onsets = {
        kind: overfitting_onset(validation, [e[kind]["loss"] for e in evaluations], patience)
        for kind in ("full", "capped")
    }
    return {"evaluations": evaluations, "onset": onsets}


def cost_summary(evaluations: list[dict], num_train: int, full: int, capped: int) -> dict:
    """Median seconds of each piece of per-evaluation work, and what the cost model predicts."""

    def median(key: str) -> float | None:
        values = [e["seconds"].get(key) for e in evaluations]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    seconds = {k: median(k) for k in ("training", "validation", "full_sample", "checkpoint")}
    cost = {"seconds": seconds}
    if seconds["training"] and seconds["full_sample"]:
        per_scored = seconds["full_sample"] / full
        per_trained = seconds["training"] / num_train
        cost["scoring_per_training"] = per_scored / per_trained
        cost["capped_share_of_epoch"] = per_scored * capped / seconds["training"]
        cost["full_share_of_epoch"] = seconds["full_sample"] / seconds["training"]
    return cost


def onset_text(onset: int | None, evaluations: list[dict]) -> str:
    if onset is None:
        return "none"
    return f"evaluation {onset + 1} (epoch {evaluations[onset]['epoch']:.2f})"


def print_report(result: dict) -> None:
    evaluations, cost = result["evaluations"], result["cost"]
    print(
        f"Training examples {result['num_train']}; full sample {result['full']}, capped sample "
        f"{result['capped']} (max_epoch_share {result['max_epoch_share']})"
    )
    print(
        " epoch  val_loss val_acc | full_loss full_acc gap_loss gap_pts | "
        "capped_loss capped_acc gap_loss gap_pts"
    )
    for e in evaluations:
        v, f, c = e["validation"], e["full"], e["capped"]
        print(
            f"{e['epoch']:6.2f} {v['loss']:9.4f} {v['accuracy']:7.4f} | {f['loss']:9.4f} "
            f"{f['accuracy']:8.4f} {f['loss_gap']:8.4f} {f['accuracy_gap_points']:7.2f} | "
            f"{c['loss']:11.4f} {c['accuracy']:10.4f} {c['loss_gap']:8.4f} "
            f"{c['accuracy_gap_points']:7.2f}"
        )
    onset = result["onset"]
    same = "same" if onset["full"] == onset["capped"] else "DIFFERENT"
    print(
        f"Overfitting onset (patience {result['patience']}): full sample "
        f"{onset_text(onset['full'], evaluations)}, capped sample "
        f"{onset_text(onset['capped'], evaluations)}: {same}"
    )
    seconds = {k: "-" if v is None else f"{v:.2f}" for k, v in cost["seconds"].items()}
    print(
        f"Median seconds per epoch: training {seconds['training']}, validation "
        f"{seconds['validation']}, full sample {seconds['full_sample']}, checkpoint "
        f"{seconds['checkpoint']}"
    )
    if "scoring_per_training" in cost:
        print(
            f"Scoring / training per example: {cost['scoring_per_training']:.3f} (the cost model "
            f"assumes 1/3); full sample {cost['full_share_of_epoch']:.1%} of the epoch's "
            f"training time, capped sample {cost['capped_share_of_epoch']:.1%} (pro rata)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_RECIPE)
    parser.add_argument("--tiny", action="store_true", help="a tiny BERT: seconds (tests)")
    parser.add_argument("--full", type=int, default=None, help="full sample (1000; tiny 100)")
    parser.add_argument("--capped", type=int, default=None, help="default: ftk train's choice")
    parser.add_argument("--json", type=Path, help="write the result, per-example scores too")
    args, overrides = parser.parse_known_args()
    full, capped = args.full, args.capped
    if args.tiny:
        args.config = make_tiny_recipe(Path(tempfile.mkdtemp()), examples=240)
        overrides = [*TINY_OVERRIDES, *overrides]
        full, capped = full or 100, capped or 30  # the rule would score all ~130 examples
    rows, num_train, full, capped, patience, share = train_with_probe(
        args.config, overrides, full or 1000, capped
    )
    result = {
        "recipe": str(args.config),
        "overrides": overrides,
        "num_train": num_train,
        "full": full,
        "capped": capped,
        "max_epoch_share": share,
        "patience": patience,
        **summarise(rows, capped, patience),
    }
    result["cost"] = cost_summary(result["evaluations"], num_train, full, capped)
    print_report(result)
    if args.json:
        args.json.write_text(json.dumps({**result, "per_example": rows}, indent=1))


if __name__ == "__main__":
    main()
