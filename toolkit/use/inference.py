"""A finished run directory as a model: load it with its config read back as a `RunConfig`,
and turn inputs into logits: class scores, values (a regression run), label scores (a
multi-label run), or one tag's scores per word (a token classification run).

Shared by `ftk predict` (new, unlabelled inputs) and `ftk evaluate` (a new labelled set). A run
is read through what it saved (run_config.yaml, config.json, tokenizer or image processor); a
plain transformers checkpoint with a classification head gets the RunConfig run_config.yaml
would hold (the default columns). Texts are tokenized by the run's task (`task.prepare`) and
scored by `Trainer.predict` with the run's collator, as the run's validation and test splits
were.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
import yaml
from tqdm.auto import tqdm
from transformers import Trainer, TrainerCallback, TrainingArguments

from toolkit.config.load import read_keys
from toolkit.config.schema import ModelConfig, RunConfig
from toolkit.config.taxonomy import IMAGE, TEXT, WORDS, Modality, fine_tuning_kind
from toolkit.core.errors import UserError
from toolkit.core.log import note
from toolkit.data.tag_schemes import detect_scheme
from toolkit.model.remote_code import custom_code_needed
from toolkit.outputs.run_dir import check_run_dir, refuse_unfinished
from toolkit.tasks import get_task
from toolkit.tasks.targets import (
    CLASSES,
    LABEL_SETS,
    NUMBERS,
    TAGS,
    Target,
    target_for,
)
from toolkit.tasks.word_windows import read_every_word
from toolkit.use.locate import locate_run


@dataclass
class Run:
    """What predict/evaluate need from a run directory."""

    path: Path
    name: str  # how messages name the run: 'runs/x', or Hub repo 'me/x'
    config: RunConfig  # run_config.yaml read back, or built for a plain checkpoint
    model: Any
    processor: Any  # tokenizer (text) or image processor (images)
    # what the model predicts (the run's task, or a plain checkpoint's head)
    target: Target = CLASSES

    @property
    def modality(self) -> Modality:
        """What the model reads: texts, images, or words (config/taxonomy.py)."""
        return self.config.kind.modality

    @property
    def decision_threshold(self) -> float:
        """Multi-label runs: the threshold tuned on validation (config.json), else 0.5."""
        return float(getattr(self.model.config, "decision_threshold", None) or 0.5)

    @property
    def label_names(self) -> list[str]:
        return label_names_of(self.model)


# config.json's problem_type -> what the model predicts (anything else: one class per input)
PROBLEM_TYPES: dict[str, Target] = {"regression": NUMBERS, "multi_label_classification": LABEL_SETS}
CLASSIFIER_HEADS = ("ForSequenceClassification", "ForImageClassification", "ForTokenClassification")


def load_run(run: str | Path, revision: str | None = None) -> Run:
    """The model and processor of the finished run `run` (or of a plain transformers
    checkpoint with a classification head): a local folder, or a Hub repo id downloaded at
    `revision`; else a UserError saying what is off."""
    located = locate_run(run, revision)
    path, name = located.path, located.name
    refuse_unfinished(path)  # a run cut off while saving may hold a readable config.json
    refuse_custom_code(path, name)
    config = None  # a plain checkpoint's is built once its head is known
    if not (path.is_dir() and not (path / "run_config.yaml").is_file() and is_classifier(path)):
        if (path / "config.json").is_file() and not (path / "run_config.yaml").is_file():
            raise_not_a_classifier(path, name)
        check_run_dir(path)
        config = read_run_config(path, name)
    modality = config.kind.modality if config is not None else checkpoint_modality(path)
    from transformers import (
        AutoImageProcessor,
        AutoModelForImageClassification,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    # off, not unset: unset, transformers asks on the terminal whether to run shipped code
    if modality.reads_images:
        processor = AutoImageProcessor.from_pretrained(path, trust_remote_code=False)
        model = AutoModelForImageClassification.from_pretrained(
            path, use_safetensors=True, trust_remote_code=False
        )
    else:
        processor = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        word_head = modality.per_word  # a tag per word
        head = AutoModelForTokenClassification if word_head else AutoModelForSequenceClassification
        model = head.from_pretrained(path, use_safetensors=True, trust_remote_code=False)
    model.eval().to("cuda" if torch.cuda.is_available() else "cpu")
    if config is None:
        # a token classification head tags words; otherwise config.json's problem_type decides
        problem_type = PROBLEM_TYPES.get(model.config.problem_type, CLASSES)
        target = TAGS if modality.per_word else problem_type
        config = plain_checkpoint_config(name, modality, target)
        if not modality.reads_images:  # at most what the tokenizer reads, as training asks
            limit = processor.model_max_length or config.data.max_length
            config.data.max_length = min(config.data.max_length, limit)
    if modality.per_word and config.data.tag_scheme == "auto":
        config = tags_read_by_names(config, name, label_names_of(model))
    return Run(
        path=path,
        name=name,
        config=config,
        model=model,
        processor=processor,
        target=target_for(config.kind.target, config.data.tag_scheme),
    )


def refuse_custom_code(path: Path, name: str) -> None:
    """predict and evaluate never run code shipped with a model: not even a run trained with
    model.trust_remote_code says so, since a run downloaded from the Hub would then run its
    author's code on the reader's machine."""
    why = custom_code_needed(path)
    if why:
        raise UserError(
            f"{name} needs code that is not part of transformers to load: {why}. ftk predict "
            f"and ftk evaluate never run code shipped with a model (trust_remote_code stays "
            f"off). If you trust that code, load the model in Python with "
            f"trust_remote_code=True; else use a model of a type transformers ships."
        )


def tags_read_by_names(config: RunConfig, name: str, label_names: list[str]) -> RunConfig:
    """A plain checkpoint's config, or a run's from before data.tag_scheme, reading its tags
    as their names say. Metrics the scheme cannot score (entity f1 of a POS run trained before
    ftk told the two apart) give way to the scheme's own, said."""
    scheme = detect_scheme(label_names)
    if config.metrics_chosen and not set(config.metrics) <= set(scheme.metrics):
        note(
            f"{name} tags words with {scheme.title}, which {', '.join(config.metrics)} cannot "
            f"score; `ftk evaluate` reports {', '.join(scheme.default_metrics)} instead."
        )
        config = dataclasses.replace(config, metrics_chosen=False)
    return config.reading_tags(scheme)


def label_names_of(model: Any) -> list[str]:
    """The model's labels in id order (config.json's id2label)."""
    id2label = model.config.id2label
    return [id2label[i] for i in range(len(id2label))]


def read_run_config(path: Path, name: str) -> RunConfig:
    """run_config.yaml as a RunConfig, read as training reads a config (config/load.py): keys
    typed as the schema types them, but the rules between keys not applied again (the run was
    checked when it trained; its data files and base model need not exist here) and keys this
    version does not know passed over."""
    raw = yaml.safe_load((path / "run_config.yaml").read_text()) or {}
    if not isinstance(raw, dict):
        raise UserError(f"{name}'s run_config.yaml holds no mapping of config keys.")
    try:
        config = read_keys(raw, skip_unknown=True)
    except UserError as problem:
        raise UserError(f"{name}'s run_config.yaml does not read back: {problem}") from None
    if config.kind.pretraining:
        raise UserError(
            f"{name} is a {config.task} pre-training run: its model fills in masked inputs and "
            f"has no labels to predict. Fine-tune it first (`ftk train --pretrain`), then "
            f"predict or evaluate with the fine-tuned run."
        )
    return config


def checkpoint_modality(path: Path) -> Modality:
    """What a plain checkpoint reads: images when it ships an image processor and no
    tokenizer, words when its head tags tokens, else texts."""
    if (path / "preprocessor_config.json").is_file() and not (
        path / "tokenizer_config.json"
    ).is_file():
        return IMAGE
    tagger = any(str(a).endswith("ForTokenClassification") for a in architectures_of(path))
    return WORDS if tagger else TEXT


def is_classifier(path: Path) -> bool:
    """`path` holds a transformers classifier (config.json names a classification head, and
    safetensors weights): any HF checkpoint of that kind works, not only an ftk run."""
    if not any(path.glob("model*.safetensors")):
        return False
    return any(str(a).endswith(CLASSIFIER_HEADS) for a in architectures_of(path))


def architectures_of(path: Path) -> list[str]:
    """config.json's `architectures` ([] when the file is missing or unreadable)."""
    try:
        return list(json.loads((path / "config.json").read_text()).get("architectures") or [])
    except (OSError, json.JSONDecodeError, AttributeError):
        return []


def raise_not_a_classifier(path: Path, name: str) -> None:
    architectures = architectures_of(path)
    weights = "" if any(path.glob("model*.safetensors")) else " and no safetensors weights"
    raise UserError(
        f"{name} is neither a finished ftk run directory (no run_config.yaml) nor a "
        f"transformers classifier: its config.json names {architectures or 'no architecture'}"
        f"{weights}. Give an ftk run, or a checkpoint with a *ForSequenceClassification or "
        f"*ForImageClassification head saved as safetensors."
    )


def plain_checkpoint_config(name: str, modality: Modality, target: Target) -> RunConfig:
    """What run_config.yaml would say, for a checkpoint ftk did not train: its task, the
    default columns, and accuracy (the target's own metrics for a regression, multi-label or
    token model); said once, so a wrong column is no surprise."""
    note(
        f"{name} is a transformers classifier, not an ftk run (no run_config.yaml): texts "
        f"come from column 'text' (--text-column to change), labels from 'label', and "
        f"`ftk evaluate` scores accuracy (rmse, mae, pearson, spearman for a regression "
        f"model)."
    )
    metrics = ["accuracy"] if target is CLASSES else list(target.kind.default_metrics)
    return RunConfig(task=fine_tuning_kind(modality, target.kind).name, metrics=metrics)


def predict_logits(
    run: Run, items: Sequence[Any], batch_size: int, desc: str = "Predicting"
) -> np.ndarray:
    """Logits for every item (a text, a (text, pair) tuple or an image path), in order, with
    a progress bar (on stderr)."""
    check_batch_size(batch_size)
    if not items:
        return np.zeros((0, len(run.label_names)), dtype=np.float32)
    config, dataset = new_inputs(run, items)
    return model_outputs(run, config, dataset, batch_size, desc)


def check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}.")


def new_inputs(run: Run, items: Sequence[Any]) -> tuple[RunConfig, datasets.Dataset]:
    """The items as a split the run's task prepares (texts, (text, pair) tuples, image paths
    or word lists), and the run's config with that split's column names and no label column:
    the task then keeps the model inputs only. Images are decoded by `datasets`, as training
    decoded them (EXIF orientation applied)."""
    data = run.config.data
    if run.modality.reads_images:
        columns: dict[str, list] = {"image": [str(path) for path in items]}
        data = dataclasses.replace(data, image_column="image", label_column="labels")
    elif run.modality.per_word:
        columns = {"tokens": [list(words) for words in items]}
        data = dataclasses.replace(data, tokens_column="tokens", tags_column="tags")
    else:
        pairs = isinstance(items[0], tuple)
        columns = {"text": [t[0] if pairs else t for t in items]}
        if pairs:
            columns["text_pair"] = [t[1] for t in items]
        data = dataclasses.replace(
            data,
            text_column="text",
            text_pair_column="text_pair" if pairs else None,
            label_column="labels",
        )
    dataset = datasets.Dataset.from_dict(columns)
    if run.modality.reads_images:
        dataset = dataset.cast_column("image", datasets.Image())
    # the model is the run's own (its config.json, e.g. an image model's channels), not the
    # checkpoint it was fine-tuned from, which may be on a Hub this machine cannot reach
    model = ModelConfig(name_or_path=str(run.path))
    return dataclasses.replace(run.config, data=data, model=model), dataset


def model_outputs(
    run: Run, config: RunConfig, dataset: datasets.Dataset, batch_size: int, desc: str
) -> np.ndarray:
    """The logits of every row of `dataset`, prepared by the run's task (`task.prepare`) and
    scored by `Trainer.predict` with the task's collator, as the run's validation and test
    splits were."""
    task = get_task(config.task)
    prepared = task.prepare(datasets.DatasetDict({"new": dataset}), run.processor, config)["new"]
    return prepared_outputs(run, config, prepared, batch_size, desc)


def prepared_outputs(
    run: Run, config: RunConfig, prepared: datasets.Dataset, batch_size: int, desc: str
) -> np.ndarray:
    """The logits of every row of a split the run's task prepared."""
    task = get_task(config.task)
    # an image task transforms its image column lazily, so that column must reach it
    keep_columns = task.training_defaults(config).get("remove_unused_columns") is False
    with tempfile.TemporaryDirectory() as scratch:
        args = TrainingArguments(
            output_dir=scratch,
            per_device_eval_batch_size=batch_size,
            report_to="none",
            disable_tqdm=True,  # ProgressBar says what is being done, per example
            dataloader_num_workers=0,
            remove_unused_columns=not keep_columns,
        )
        trainer = Trainer(
            model=run.model,
            args=args,
            data_collator=task.collator(run.processor, config),
            callbacks=[ProgressBar(len(prepared), batch_size, desc)],
        )
        predictions = trainer.predict(prepared).predictions
    if isinstance(predictions, tuple):  # a model that returns more than its logits
        predictions = predictions[0]
    return np.asarray(predictions, dtype=np.float32)


class ProgressBar(TrainerCallback):
    """One tqdm bar over the examples `Trainer.predict` scores, named `desc`."""

    def __init__(self, total: int, batch_size: int, desc: str):
        self.total, self.batch_size, self.desc = total, batch_size, desc
        self.bar: Any = None

    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is None:
            self.bar = tqdm(total=self.total, desc=self.desc, unit="example")
        self.bar.update(min(self.batch_size, self.total - self.bar.n))

    def on_predict(
        self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any
    ) -> None:
        if self.bar is not None:
            self.bar.close()


def word_logits(
    run: Run, sentences: Sequence[list[str]], batch_size: int, desc: str = "Tagging"
) -> tuple[list[np.ndarray], int]:
    """Per sentence, the logits of each word's first piece (the piece its tag was trained on),
    and how many words lay past the run's max_length: a longer sentence is read on in further
    windows, each opening with the words before as context (tasks/word_windows.py), as the
    run's test split was scored, so every word has the model's own prediction."""
    check_batch_size(batch_size)
    if not sentences:
        return [], 0
    config, _ = new_inputs(run, sentences)
    reading = read_every_word(
        list(sentences),
        run.processor,
        config,
        len(run.label_names),
        lambda windows: prepared_outputs(run, config, windows, batch_size, desc),
    )
    return reading.logits, reading.words_past_cut
