"""The stock arm of benchmarks/stock_trainer.py: a plain Trainer run, as the Hugging Face
example script examples/pytorch/text-classification/run_classification.py does it by default.

AutoTokenizer + AutoModelForSequenceClassification, every example padded to max_length
(the example's pad_to_max_length=True) with default_data_collator, a Trainer that evaluates and
saves each epoch and keeps the best epoch, then a last validation pass and the test split. Only
the recipe's hyper-parameters are carried over (LR, epochs, batch size, weight decay, seed,
linear warm-up + the decay's shape, mixed precision, CPU); every other TrainingArguments field
keeps transformers' default (evaluation batch 8, a log line every 500 steps, every checkpoint
kept), and what the Trainer has no key for is left out (early stopping, a floor under the
decay, per-layer LRs, ftk's baselines and reports).

Two things come from ftk on purpose, so both arms see the same run: the train / validation /
test rows (ftk's own loader, `load_labelled_data`, with the recipe's split seed) and the metric
that picks the best epoch (the first of the recipe's metrics, as `ftk train` orders them).

    python benchmarks/stock_classification.py --config configs/text-bbc-minilm.yaml \
        --output_dir /tmp/stock --result /tmp/stock.json [--bf16] [--use_cpu]

The result file holds train_runtime, the seconds from the training start to the end of each
epoch's evaluation (with its validation accuracy), and the final validation and test metrics.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    default_data_collator,
    set_seed,
)

from toolkit.config.load import load_config
from toolkit.model.packaged import resolve_model_path
from toolkit.run.stages import load_labelled_data, metrics_for_data
from toolkit.tasks import get_task

# ftk's schedule.decay -> the Trainer's lr_scheduler_type with the same shape after warm-up
SCHEDULERS = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}


class EvaluationClock(TrainerCallback):
    """Seconds from the training start to the end of each evaluation during training, with
    its metrics (the passes after training, validation and test, are not epochs)."""

    def __init__(self) -> None:
        self.start = 0.0
        self.training = False
        self.evaluations: list[dict] = []

    def on_train_begin(self, args, state, control, **kwargs):
        self.start, self.training = time.time(), True

    def on_train_end(self, args, state, control, **kwargs):
        self.training = False

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.training:
            seconds = time.time() - self.start
            self.evaluations.append({"epoch": state.epoch, "seconds": seconds, **(metrics or {})})


def tokenize(splits, tokenizer, columns: list[str], max_length: int):
    """Every split padded to max_length, as the example script does by default."""

    def encode(batch):
        texts = [batch[column] for column in columns]  # a text, or a text and its pair
        return tokenizer(*texts, padding="max_length", max_length=max_length, truncation=True)

    return splits.map(encode, batched=True)


def compute_metrics(prediction) -> dict[str, float]:
    """Accuracy, as the example script scores classification, and macro-F1 (ftk's second
    metric, which picks the best epoch when the classes are uneven)."""
    from sklearn.metrics import accuracy_score, f1_score

    predicted, labels = np.argmax(prediction.predictions, axis=-1), prediction.label_ids
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "f1_macro": float(f1_score(labels, predicted, average="macro")),
    }


def warmup(schedule) -> int | float:
    """The recipe's warm-up as TrainingArguments.warmup_steps: steps, or a float below 1 for a
    share of all steps (transformers 5 folded warmup_ratio into it)."""
    if schedule.warmup_epochs is not None:
        raise SystemExit("schedule.warmup_epochs: the stock arm takes warmup_steps or _fraction")
    if schedule.warmup_steps is not None:
        return schedule.warmup_steps
    return schedule.warmup_fraction or 0.0


def training_arguments(config, output_dir: str, best_metric: str, cli) -> TrainingArguments:
    training, schedule = config.training, config.schedule
    if schedule.decay not in SCHEDULERS:
        raise SystemExit(
            f"schedule.decay {schedule.decay!r}: the stock arm knows {list(SCHEDULERS)}"
        )
    return TrainingArguments(
        output_dir=output_dir,
        learning_rate=training["learning_rate"],
        num_train_epochs=training["num_train_epochs"],
        per_device_train_batch_size=training["per_device_train_batch_size"],
        weight_decay=training["weight_decay"],
        seed=training["seed"],
        lr_scheduler_type=SCHEDULERS[schedule.decay],
        warmup_steps=warmup(schedule),
        eval_strategy="epoch",
        save_strategy="epoch",
        load_best_model_at_end=True,
        metric_for_best_model=best_metric,
        bf16=cli.bf16,
        use_cpu=cli.use_cpu,
        report_to="none",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--result", type=Path, required=True, help="where the JSON result goes")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--use_cpu", action="store_true")
    cli = parser.parse_args()

    config = load_config(cli.config)
    task = get_task(config.task)
    data = load_labelled_data(config, task)
    best_metric = metrics_for_data(config, task, data).metrics[0]
    args = training_arguments(config, cli.output_dir, best_metric, cli)
    set_seed(args.seed)

    model_path = resolve_model_path(config.model.name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    labels = data.label_names
    model = AutoModelForSequenceClassification.from_pretrained(
        model_path,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    splits = tokenize(data.splits, tokenizer, task.input_columns(config), config.data.max_length)
    if data.label_column != "label":
        splits = splits.rename_column(data.label_column, "label")

    clock = EvaluationClock()
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=splits["train"],
        eval_dataset=splits["validation"],
        processing_class=tokenizer,
        data_collator=default_data_collator,
        compute_metrics=compute_metrics,
        callbacks=[clock],
    )
    trained = trainer.train()
    trainer.save_model()
    final = trainer.evaluate()
    test = trainer.evaluate(splits["test"], metric_key_prefix="test") if "test" in splits else {}
    result = {
        "train_runtime": trained.metrics["train_runtime"],
        "evaluations": clock.evaluations,
        "eval_accuracy": final["eval_accuracy"],
        "test_accuracy": test.get("test_accuracy"),
        "best_metric": best_metric,
    }
    cli.result.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
