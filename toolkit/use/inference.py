"""A finished run directory as a model: load it, turn inputs into class probabilities (or, for
a regression run, `problem_type: regression` in config.json, into values; for a token
classification run, a *ForTokenClassification head, into one tag's scores per word).

Shared by `ftk predict` (new, unlabelled inputs) and `ftk evaluate` (a new labelled set). A run
is read through what it saved (run_config.yaml, config.json, tokenizer or image processor), so
any classification task the toolkit trains works here, whatever module trained it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm.auto import tqdm

from toolkit.core.errors import UserError
from toolkit.core.image_mode import model_mode
from toolkit.core.log import note
from toolkit.data.images import read_image
from toolkit.outputs.run_dir import check_run_dir
from toolkit.tasks.targets import (
    CLASSES,
    LABEL_SETS,
    NUMBERS,
    TAGS,
    Classes,
    LabelSets,
    Numbers,
    Tags,
)
from toolkit.use.locate import locate_run


@dataclass
class Run:
    """What predict/evaluate need from a run directory."""

    path: Path
    name: str  # how messages name the run: 'runs/x', or Hub repo 'me/x'
    settings: dict[str, Any]  # run_config.yaml as written (plain YAML, not re-validated)
    model: Any
    processor: Any  # tokenizer (text) or image processor (images)
    modality: str  # "text" | "image"
    # what the model predicts (config.json's problem_type, or a token classification head)
    target: Classes | Numbers | LabelSets | Tags = CLASSES

    @property
    def decision_threshold(self) -> float:
        """Multi-label runs: the threshold tuned on validation (config.json), else 0.5."""
        return float(getattr(self.model.config, "decision_threshold", None) or 0.5)

    @property
    def label_names(self) -> list[str]:
        id2label = self.model.config.id2label
        return [id2label[i] for i in range(len(id2label))]

    def data_key(self, key: str, default: Any = None) -> Any:
        return (self.settings.get("data") or {}).get(key, default)


# config.json's problem_type -> what the model predicts (anything else: one class per input)
TARGETS = {"regression": NUMBERS, "multi_label_classification": LABEL_SETS}
CLASSIFIER_HEADS = ("ForSequenceClassification", "ForImageClassification", "ForTokenClassification")


def load_run(run: str | Path, revision: str | None = None) -> Run:
    """The model and processor of the finished run `run` (or of a plain transformers
    checkpoint with a classification head): a local folder, or a Hub repo id downloaded at
    `revision`; else a UserError saying what is off."""
    located = locate_run(run, revision)
    path, name = located.path, located.name
    if path.is_dir() and not (path / "run_config.yaml").is_file() and is_classifier(path):
        settings = plain_checkpoint_settings(name)
    else:
        if (path / "config.json").is_file() and not (path / "run_config.yaml").is_file():
            raise_not_a_classifier(path, name)
        check_run_dir(path)
        settings = yaml.safe_load((path / "run_config.yaml").read_text()) or {}
    modality = (
        "image"
        if (path / "preprocessor_config.json").is_file()
        and not (path / "tokenizer_config.json").is_file()
        else "text"
    )
    from transformers import (
        AutoImageProcessor,
        AutoModelForImageClassification,
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )

    tagger = any(str(a).endswith("ForTokenClassification") for a in architectures_of(path))
    if modality == "image":
        processor = AutoImageProcessor.from_pretrained(path)
        model = AutoModelForImageClassification.from_pretrained(path, use_safetensors=True)
    else:
        processor = AutoTokenizer.from_pretrained(path)
        head = AutoModelForTokenClassification if tagger else AutoModelForSequenceClassification
        model = head.from_pretrained(path, use_safetensors=True)
    model.eval().to("cuda" if torch.cuda.is_available() else "cpu")
    # a token classification head tags words; otherwise config.json's problem_type decides
    target = TAGS if tagger else TARGETS.get(model.config.problem_type, CLASSES)
    if "task" not in settings and target is not CLASSES:  # a plain checkpoint of that kind
        settings["metrics"] = list(target.kind.default_metrics)
    return Run(
        path=path,
        name=name,
        settings=settings,
        model=model,
        processor=processor,
        modality=modality,
        target=target,
    )


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


def plain_checkpoint_settings(name: str) -> dict[str, Any]:
    """What run_config.yaml would say, for a checkpoint ftk did not train: the default
    columns and accuracy; said once, so a wrong column is no surprise."""
    note(
        f"{name} is a transformers classifier, not an ftk run (no run_config.yaml): texts "
        f"come from column 'text' (--text-column to change), labels from 'label', and "
        f"`ftk evaluate` scores accuracy (rmse, mae, pearson, spearman for a regression "
        f"model)."
    )
    return {"metrics": ["accuracy"], "data": {}}


def encoder(run: Run) -> Callable[[list[Any]], dict[str, torch.Tensor]]:
    """A function turning a batch of raw inputs (texts, (text, pair) tuples or image paths) into
    model inputs, preprocessed the way the run was trained."""
    if run.modality == "image":
        # The model's own channel count decides the mode (a grayscale ViT reads "L").
        mode = model_mode(getattr(run.model.config, "num_channels", 3))
        return lambda paths: dict(
            run.processor([read_image(p, mode) for p in paths], return_tensors="pt")
        )
    max_length = int(run.data_key("max_length", 256))

    def encode(texts: list[Any]) -> dict[str, torch.Tensor]:
        if texts and isinstance(texts[0], tuple):
            first, second = [t[0] for t in texts], [t[1] for t in texts]
        else:
            first, second = list(texts), None
        return dict(
            run.processor(
                first,
                second,
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
        )

    return encode


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@torch.no_grad()
def predict_logits(
    run: Run, items: Sequence[Any], batch_size: int, desc: str = "Predicting"
) -> np.ndarray:
    """Logits for every item, in order, batch by batch with a progress bar (on stderr)."""
    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}.")
    encode = encoder(run)
    device = run.model.device
    out = []
    with tqdm(total=len(items), desc=desc, unit="example") as bar:
        for batch in batches(items, batch_size):
            inputs = {k: v.to(device) for k, v in encode(list(batch)).items()}
            out.append(run.model(**inputs).logits.float().cpu().numpy())
            bar.update(len(batch))
    return np.concatenate(out) if out else np.zeros((0, len(run.label_names)))


@torch.no_grad()
def word_logits(
    run: Run, sentences: Sequence[list[str]], batch_size: int, desc: str = "Tagging"
) -> tuple[list[np.ndarray], int]:
    """Per sentence, the logits of each word's first piece (the piece its tag was trained on),
    and how many words fell past the run's max_length: those get logits that pick 'O' (the
    model never saw them), so every word keeps a row."""
    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}.")
    max_length = int(run.data_key("max_length", 256))
    names = run.label_names
    outside = np.full(len(names), -1e4, dtype=np.float32)
    outside[names.index("O") if "O" in names else 0] = 0.0
    out, cut = [], 0
    with tqdm(total=len(sentences), desc=desc, unit="sentence") as bar:
        for batch in batches(sentences, batch_size):
            encoded = run.processor(
                [list(words) for words in batch],
                is_split_into_words=True,
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            inputs = {k: v.to(run.model.device) for k, v in encoded.items()}
            logits = run.model(**inputs).logits.float().cpu().numpy()
            for i, words in enumerate(batch):
                rows = np.tile(outside, (len(words), 1))
                seen = set()
                for piece, word in enumerate(encoded.word_ids(i)):
                    if word is not None and word not in seen:
                        seen.add(word)
                        rows[word] = logits[i, piece]
                cut += len(words) - len(seen)
                out.append(rows)
            bar.update(len(batch))
    return out, cut


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
