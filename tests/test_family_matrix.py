"""The checkpoint families users bring, against what ftk does with them: every cell of the
matrix either works (and the test checks a property that would expose a silent failure) or is
refused with exit status 2 and a message saying why.

`EXPECTED` is the one table of intended outcomes; the tests are parametrized from it and
docs/families.md is generated from it (`python tests/test_family_matrix.py --markdown`), with a
test keeping the two equal. The checkpoints are tests/families.py's tiny random ones, each saved
once per session with its own tokenizer or image processor and loaded through from_pretrained.

Speed: a cell that trains runs in-process, 2 optimizer steps on 18-24 examples. Classification
runs the whole `toolkit.train` (baselines off), so each family makes one complete run, outputs
and best-model reload included, which `ftk predict` and `pipeline()` then read. The other cells
call the stages `ftk train` is made of (toolkit/run/stages.py: plan, data, model, the one
trainer assembly, fit), leaving out the baselines, scoring and report, which do not depend on
the family. Two cells also run through the real CLI in a child process. Whatever trains is
marked e2e; the loading, tokenizing, layer-decay and refusal checks are the fast subset.
"""

from __future__ import annotations

import gc
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from families import FAMILIES, WORDS

# ----------------------------------------------------------------------------- the table

CELLS = {  # test name -> column heading
    "classification": "classification",
    "regression": "regression",
    "multilabel": "multi-label",
    "tokens": "token classification",
    "layer_decay": "layer_decay",
    "lora": "LoRA",
    "pretrain": "pre-train, then fine-tune",
    "predict": "predict = pipeline",
}
TEXT_ONLY = {"tokens"}


@dataclass(frozen=True)
class Works:
    how: str = ""  # for the docs, where families differ (how layers are grouped, what LoRA adapts)


@dataclass(frozen=True)
class Refused:
    reason: str  # for the docs
    words: tuple[str, ...]  # what ftk's message must say (any case), besides exiting with 2


Outcome = Works | Refused
OK = Works()


def row(family: str, **cells: Outcome) -> dict[tuple[str, str], Outcome]:
    """Every cell that applies to `family` (token classification: text only), OK unless given."""
    applies = [c for c in CELLS if c not in TEXT_ONLY or FAMILIES[family].modality == "text"]
    assert set(cells) <= set(applies), f"{family}: no such cell {set(cells) - set(applies)}"
    return {(family, cell): cells.get(cell, OK) for cell in applies}


def no_simmim(model: str, why: str) -> Refused:
    return Refused(why, ("masked-image-modeling", model))


EXPECTED: dict[tuple[str, str], Outcome] = {
    **row("bert"),
    **row("roberta"),
    **row("deberta-v3"),
    **row("modernbert", lora=Works("fused Wqkv")),
    **row("distilbert"),
    **row("electra"),
    **row("xlm-roberta"),
    **row(
        "albert",
        layer_decay=Refused("one layer's weights shared by every depth", ("layer_decay", "shared")),
    ),
    **row("mpnet", lora=Works("q, v")),
    **row("vit"),
    **row("deit"),
    **row(
        "beit",
        pretrain=no_simmim("beit", "BEiT's masked-image model predicts visual tokens, not pixels"),
    ),
    **row("swin", layer_decay=Works("by block")),
    **row(
        "convnext",
        layer_decay=Works("by stage and block"),
        pretrain=no_simmim("convnext", "transformers has no masked-image model for ConvNeXt"),
    ),
    **row(
        "dinov2",
        pretrain=no_simmim("dinov2", "transformers has no masked-image model for DINOv2"),
    ),
}


def describe(outcome: Outcome | None) -> str:
    if outcome is None:
        return "n/a"
    if isinstance(outcome, Refused):
        return f"refused: {outcome.reason}"
    return f"ok ({outcome.how})" if outcome.how else "ok"


def markdown() -> str:
    """docs/families.md: the table, families as rows and cells as columns."""
    header = "| family | " + " | ".join(CELLS.values()) + " |"
    lines = [header, "|" + "---|" * (len(CELLS) + 1)]
    for family in FAMILIES:
        cells = [describe(EXPECTED.get((family, cell))) for cell in CELLS]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    return DOC_INTRO + "\n".join(lines) + "\n" + DOC_NOTES


DOC_INTRO = """# Checkpoint families

What ftk does with each family of checkpoints: every cell works (ok) or is refused before
training, with exit status 2 and the reason. Generated from `EXPECTED` in
`tests/test_family_matrix.py` (`python tests/test_family_matrix.py --markdown >
docs/families.md`), whose tests check every cell on a tiny random checkpoint of the family,
saved with its own tokenizer or image processor (`tests/families.py`); a test fails when this
page and the table differ.

"""

DOC_NOTES = """
- **classification, regression, multi-label, token classification**: the checkpoint's encoder
  loads completely (only the task head, and a pooler the checkpoint lacks, start at random)
  and training gives a finite loss. Token classification splits each word into the pieces it
  has in running text (byte-level BPE: a word after the first starts with `Ġ`).
- **layer_decay**: one LR group per layer, the LR rising with depth from the embeddings to the
  top layer, every trainable parameter in exactly one group; Swin's groups are its blocks,
  ConvNeXt's the blocks of each stage.
- **LoRA**: only the adapters and the head (with any module the checkpoint did not hold)
  train; every layer gets an adapter (attention query and value projections; ModernBERT's
  fused Wqkv).
- **pre-train, then fine-tune**: masked-language modelling for text, SimMIM for images; the
  fine-tuned model starts from the pre-trained encoder, all of it.
- **predict = pipeline**: `ftk predict` gives the labels and scores (within 1e-5) that
  `transformers.pipeline()` gives for the run directory.
"""


def cases(cell: str, trains: bool = True) -> list[Any]:
    """pytest params (family, outcome) of `cell`; a working cell that trains is marked e2e."""
    params = []
    for (family, name), outcome in EXPECTED.items():
        if name == cell:
            marks = [pytest.mark.e2e] if trains and isinstance(outcome, Works) else []
            params.append(pytest.param(family, outcome, id=family, marks=marks))
    return params


# ----------------------------------------------------------------------------- fixtures

LABELS = ["business", "sport", "tech"]


def labelled(label_names: list[str]):
    """Loaded data that only names its classes: what build_model reads to size the head."""
    import datasets

    from toolkit.data.load import LoadedData

    return LoadedData(datasets.DatasetDict(), label_names, "label")


STEPS = 2


@pytest.fixture(scope="module", autouse=True)
def one_thread_and_frozen_imports():
    """Two speed-ups for many tiny runs in one process.

    One compute thread: a training step of the tiny BERT took 0.18-0.49 s on two threads and
    0.02 s on one while other processes kept the two cores busy (threads spin waiting for
    each other); a model this small has nothing to split between threads anyway.

    Frozen imports: each Trainer.train() ends with accelerate's gc.collect(), whose time grows
    with every object alive in the process: with torch and transformers loaded it took 0.55 s
    of a 0.85 s cell. Freezing what the imports made lets each collection skip it."""
    import datasets
    import torch
    import transformers

    import toolkit.api  # noqa: F401  (the imports whose objects get frozen)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    gc.freeze()
    yield
    gc.unfreeze()
    torch.set_num_threads(threads)


class Checkpoints:
    """Each family's checkpoint, saved the first time a test asks for it."""

    def __init__(self, root: Path):
        self.root = root
        self.saved: dict[str, Path] = {}

    def __getitem__(self, family: str) -> Path:
        if family not in self.saved:
            self.saved[family] = FAMILIES[family].save(self.root / family)
        return self.saved[family]


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> Checkpoints:
    return Checkpoints(tmp_path_factory.mktemp("families"))


@dataclass
class Data:
    """Tiny data of every kind the cells train on, and inputs to predict."""

    texts: Path
    numbers: Path
    label_sets: Path
    tagged: Path
    corpus: Path
    images: Path
    image_numbers: Path
    image_label_sets: Path
    unlabelled_images: Path
    new_images: Path


@pytest.fixture(scope="session")
def data(tmp_path_factory) -> Data:
    from helpers import (
        REPEATED_SENTENCES,
        make_image_folder,
        make_multilabel_texts,
        make_regression_texts,
        make_square_images,
        make_texts,
        write_csv,
        write_pattern_images,
    )
    from tagging_helpers import make_sentences, write_jsonl
    from test_multilabel import write_colour_images

    root = tmp_path_factory.mktemp("matrix-data")
    return Data(
        texts=write_csv(root / "texts.csv", make_texts(6, seed=1)),
        numbers=write_csv(root / "numbers.csv", make_regression_texts(18, seed=1)),
        label_sets=write_csv(root / "sets.csv", make_multilabel_texts(18, seed=1)),
        tagged=write_jsonl(root / "tagged.jsonl", make_sentences(18, seed=1)),
        corpus=write_csv(
            root / "corpus.csv", [(s,) for s in REPEATED_SENTENCES * 8], header=("text",)
        ),
        images=make_image_folder(root / "shapes", 6, seed=1),
        image_numbers=make_square_images(root / "squares", 18, seed=1, size=24),
        image_label_sets=write_colour_images(root / "colours", 18, seed=1),
        unlabelled_images=write_pattern_images(root / "patterns.parquet", n=24),
        new_images=new_images(root / "new"),
    )


def new_images(folder: Path) -> Path:
    """Images to predict, none at the models' 32 pixels (so every processor resizes, and those
    with a shortest-edge resize also crop): shapes at 24 px and a photo-like 40 x 28 one."""
    from helpers import make_image_folder
    from PIL import Image

    make_image_folder(folder, 2, seed=5, size=24, classes=("circle", "square"))
    Image.open(folder / "circle" / "0.png").resize((40, 28)).save(folder / "circle" / "wide.png")
    return folder


def recipe(checkpoint: Path, task: str, data_section: dict, output_dir: Path, **extra) -> dict:
    """A run of STEPS optimizer steps on the CPU, without baselines or the overfitting watch."""
    return {
        "task": task,
        "model": {"name_or_path": str(checkpoint)},
        "data": data_section,
        "baseline": {"enabled": False},
        "overfitting": {"train_sample_size": 0},
        "schedule": {"warmup_steps": 0},
        "output_dir": str(output_dir),
        "max_steps": STEPS,
        "learning_rate": 1e-3,
        "per_device_train_batch_size": 8,
        "logging_steps": 1,
        "use_cpu": True,
        "bf16": False,
        "dataloader_num_workers": 0,
        "disable_tqdm": True,
        "report_to": "none",
        **extra,
    }


# What each task reads from `Data`, as a data section.
def data_section(task: str, data: Data) -> dict:
    sections = {
        "text-classification": {"train_file": str(data.texts)},
        "text-regression": {"train_file": str(data.numbers)},
        "text-multilabel": {"train_file": str(data.label_sets), "label_separator": ","},
        "token-classification": {"train_file": str(data.tagged)},
        "image-classification": {"train_dir": str(data.images)},
        "image-regression": {"train_file": str(data.image_numbers), "image_column": "file"},
        "image-multilabel": {
            "train_file": str(data.image_label_sets),
            "image_column": "file",
            "label_separator": "|",
        },
    }
    text = {"max_length": 32} if task.startswith(("text", "token")) else {}
    return {**sections[task], **text, "validation_size": 0.25}


def task_name(family: str, target: str) -> str:
    """The ftk task of `target` (classification, regression, multilabel) for the family."""
    return f"{FAMILIES[family].modality}-{target}"


def stage_recipe(checkpoint: Path, task: str, data: Data, output_dir: Path, **extra) -> dict:
    """`recipe` for a fit through the stages: no evaluation or checkpoint to save."""
    return recipe(
        checkpoint,
        task,
        data_section(task, data),
        output_dir,
        eval_strategy="no",
        save_strategy="no",
        load_best_model_at_end=False,
        early_stopping={"patience": None},
        **extra,
    )


# ----------------------------------------------------------------------------- running


@dataclass
class Fitted:
    model: Any  # as trained (a peft model for LoRA)
    before: dict[str, Any]  # every parameter before the first step
    encoder_before: dict[str, Any] | None  # the base model's state then (None: LoRA)
    loss: float  # mean training loss
    prepared: Any  # the run's PreparedData


def fit(raw: dict) -> Fitted:
    """`ftk train`'s stages in-process, up to the end of training (run/fine_tuning.py minus
    baselines, advice, scoring and outputs)."""
    from toolkit.api import load_config
    from toolkit.run.assembly import assemble_trainer
    from toolkit.run.stages import (
        build_model,
        open_run_dir,
        plan_for_data,
        plan_run,
        prepare_labelled,
    )

    plan = plan_run(load_config(raw))
    prepared = prepare_labelled(plan)
    plan, compute_metrics = plan_for_data(plan, prepared)
    model = build_model(plan, prepared.data)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    encoder_before = None if plan.config.peft.method else base_state(model)
    trainer, _ = assemble_trainer(
        plan, model, prepared, compute_metrics, lambda: open_run_dir(plan, overwrite=True)
    )
    loss = trainer.train().training_loss
    return Fitted(trainer.model, before, encoder_before, loss, prepared)


def refusal(raw: dict, command: str, tmp_path: Path, capsys, *args: str) -> str:
    """`ftk COMMAND --config RECIPE ARGS` in-process: it must exit 2 without a traceback.
    Returns the message, lowercased."""
    import yaml

    from toolkit.cli import main

    config = tmp_path / "recipe.yaml"
    config.write_text(yaml.safe_dump(raw))
    capsys.readouterr()
    code = main([command, "--config", str(config), *args])
    err = capsys.readouterr().err
    assert code == 2, err[-2000:]
    assert "Traceback" not in err
    return err.lower()


def check_refused(outcome: Refused, message: str) -> None:
    missing = [word for word in outcome.words if word.lower() not in message]
    assert not missing, f"the message lacks {missing}: {message}"


def refused_as_expected(outcome: Outcome, raw: dict, command: str, tmp_path: Path, capsys) -> bool:
    """For a cell the table refuses: `ftk COMMAND` on the cell's recipe exits 2 with the
    reason's words (True). For a working cell: False, and the test checks that it works."""
    if isinstance(outcome, Works):
        return False
    check_refused(outcome, refusal(raw, command, tmp_path, capsys))
    return True


def encoder_of(folder: Path) -> dict[str, Any]:
    """The encoder tensors a checkpoint folder holds, as transformers' AutoModel loads them
    (tensors AutoModel had to create, like a pooler the folder lacks, left out)."""
    from transformers import AutoModel

    model, info = AutoModel.from_pretrained(folder, output_loading_info=True)
    missing = set(info["missing_keys"])
    return {k: v for k, v in model.state_dict().items() if k not in missing}


def assert_encoder_is(start: dict[str, Any], folder: Path) -> None:
    """Every encoder tensor of the checkpoint in `folder` is, bit for bit, where the model
    started (`start`: the base model's state before training): none was initialised anew."""
    import torch

    saved = encoder_of(folder)
    assert saved, "the checkpoint holds encoder tensors"
    absent = sorted(set(saved) - set(start))
    assert not absent, f"encoder tensors the model does not hold: {absent[:5]}"
    differ = [k for k, v in saved.items() if not torch.equal(start[k], v)]
    assert not differ, f"encoder tensors not loaded from {folder.name}: {differ[:5]}"


def base_state(model: Any) -> dict[str, Any]:
    return {k: v.detach().clone() for k, v in model.base_model.state_dict().items()}


def assert_only_head_is_new(model: Any) -> None:
    """What ftk reports as newly initialised (`ftk_new_tensors`) is the task head, or a
    pooler the checkpoint lacked: never an encoder tensor."""
    from toolkit.model.lora import NEW_TENSORS_ATTR
    from toolkit.training.param_groups import base_prefix

    prefix = base_prefix(model)
    new = getattr(model, NEW_TENSORS_ATTR)
    encoder = [k for k in new if k.startswith(prefix) and ".pooler." not in k]
    assert not encoder, f"encoder tensors initialised at random: {encoder}"


def assert_finite(loss: float) -> None:
    assert math.isfinite(loss), loss


# ----------------------------------------------------------------------------- fast: loading


@pytest.mark.parametrize("family", [f for f, v in FAMILIES.items() if v.modality == "text"])
def test_the_test_words_are_in_the_vocabulary(family, checkpoints):
    """Every word the matrix writes is one piece (two at most where a family splits off a
    space marker), never unknown: a test text the tokenizer cannot read would hide nothing."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoints[family])
    for word in WORDS:
        pieces = tokenizer.tokenize(f"the {word}")[1:]
        assert 1 <= len(pieces) <= 2 and tokenizer.unk_token not in pieces, (word, pieces)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_encoder_loads_completely(family, checkpoints, data, tmp_path):
    """The model ftk builds for classification holds every encoder tensor of the checkpoint,
    and the only tensors it reports as new are the head (and a pooler the checkpoint lacks)."""
    from toolkit.api import load_config
    from toolkit.run.stages import build_model, plan_run

    task = task_name(family, "classification")
    raw = stage_recipe(checkpoints[family], task, data, tmp_path / "run")
    model = build_model(plan_run(load_config(raw)), labelled(LABELS))
    assert model.config.num_labels == len(LABELS)
    assert_encoder_is(base_state(model), checkpoints[family])
    assert_only_head_is_new(model)


# ----------------------------------------------------------------------------- fine-tuning


@pytest.fixture(scope="session")
def classification_runs(checkpoints, data, tmp_path_factory) -> Callable[[str], Any]:
    """family -> its finished `toolkit.train` run (made once; predict reads it too)."""
    runs: dict[str, Any] = {}
    root = tmp_path_factory.mktemp("classification-runs")

    def run(family: str) -> Any:
        if family not in runs:
            raw = classification_recipe(checkpoints[family], family, data, root / family)
            runs[family] = full_classification_run(raw)
        return runs[family]

    return run


def classification_recipe(checkpoint: Path, family: str, data: Data, output_dir: Path) -> dict:
    """The whole run's recipe: evaluation and a checkpoint at the end of the one epoch (STEPS
    steps), the best model reloaded, scored and saved with its report."""
    task = task_name(family, "classification")
    return recipe(checkpoint, task, data_section(task, data), output_dir)


@dataclass
class FullRun:
    run_dir: Path
    metrics: dict[str, Any]
    start: dict[str, Any]  # the encoder as training began


def full_classification_run(raw: dict) -> FullRun:
    import toolkit

    start = encoder_at_start()
    result = toolkit.train(raw, callbacks=[start])
    return FullRun(result.run_dir, result.metrics, start.encoder)


def encoder_at_start() -> Any:
    """A TrainerCallback keeping the base model's state as training begins."""
    from transformers import TrainerCallback

    class EncoderAtStart(TrainerCallback):
        def __init__(self) -> None:
            self.encoder: dict[str, Any] = {}

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            self.encoder = base_state(model)

    return EncoderAtStart()


@pytest.mark.parametrize(("family", "outcome"), cases("classification"))
def test_classification(family, outcome, classification_runs, checkpoints, data, tmp_path, capsys):
    raw = classification_recipe(checkpoints[family], family, data, tmp_path / "run")
    if refused_as_expected(outcome, raw, "train", tmp_path, capsys):
        return
    run = classification_runs(family)
    assert_finite(run.metrics["train_loss"])
    assert_finite(run.metrics["eval_loss"])
    assert_encoder_is(run.start, checkpoints[family])
    assert (run.run_dir / "model.safetensors").is_file()
    assert (run.run_dir / "report.md").is_file()


def fitted_with_new_head(kind, family, outcome, checkpoints, data, tmp_path, capsys):
    """The family's model fitted for `kind` (regression, multilabel) with finite loss and
    only its head new; None where the matrix expects, and got, a refusal."""
    raw = stage_recipe(checkpoints[family], task_name(family, kind), data, tmp_path / "run")
    if refused_as_expected(outcome, raw, "train", tmp_path, capsys):
        return None
    fitted = fit(raw)
    assert_finite(fitted.loss)
    assert_only_head_is_new(fitted.model)
    return fitted


@pytest.mark.parametrize(("family", "outcome"), cases("regression"))
def test_regression(family, outcome, checkpoints, data, tmp_path, capsys):
    fitted = fitted_with_new_head(
        "regression", family, outcome, checkpoints, data, tmp_path, capsys
    )
    if fitted is not None:
        config = fitted.model.config
        assert (config.num_labels, config.problem_type) == (1, "regression")


@pytest.mark.parametrize(("family", "outcome"), cases("multilabel"))
def test_multilabel(family, outcome, checkpoints, data, tmp_path, capsys):
    fitted = fitted_with_new_head(
        "multilabel", family, outcome, checkpoints, data, tmp_path, capsys
    )
    if fitted is not None:
        config = fitted.model.config
        assert config.problem_type == "multi_label_classification"
        assert config.num_labels == len(fitted.prepared.data.label_names) >= 2


@pytest.mark.parametrize(("family", "outcome"), cases("tokens"))
def test_token_classification(family, outcome, checkpoints, data, tmp_path, capsys):
    """Trains, and tags each word on its first piece: as many scored pieces as words."""
    raw = stage_recipe(checkpoints[family], "token-classification", data, tmp_path / "run")
    if refused_as_expected(outcome, raw, "train", tmp_path, capsys):
        return
    fitted = fit(raw)
    assert_finite(fitted.loss)
    assert_only_head_is_new(fitted.model)
    train = fitted.prepared.splits["train"]
    words = sum(len(tags) for tags in fitted.prepared.data.splits["train"]["ner_tags"])
    assert sum(label != -100 for labels in train["labels"] for label in labels) == words


@pytest.mark.parametrize(("family", "outcome"), cases("tokens", trains=False))
def test_words_are_split_as_in_running_text(family, outcome, checkpoints, tmp_path):
    """Token classification hands the tokenizer a sentence as a list of words; each word after
    the first must get the pieces it has in the running sentence. A byte-level BPE (RoBERTa,
    ModernBERT) marks a word that follows a space with 'Ġ': without that marker every word is
    read as the start of a text, pieces the model never saw in pre-training."""
    import datasets

    from toolkit.api import load_config
    from toolkit.tasks import get_task

    assert isinstance(outcome, Works), "a refused cell is checked by test_token_classification"
    words = ["met", "jordan", "in", "new", "york", "with", "dave", "smith"]
    raw = recipe(checkpoints[family], "token-classification", {"max_length": 32}, tmp_path)
    config = load_config(raw)
    task = get_task("token-classification")
    tokenizer = task.load_processor(config)
    splits = datasets.DatasetDict({"new": datasets.Dataset.from_dict({"tokens": [words]})})
    encoded = task.prepare(splits, tokenizer, config)["new"][0]
    as_words = pieces_by_word(tokenizer, encoded["input_ids"], encoded["word_ids"])
    running = tokenizer(" ".join(words))
    in_text = pieces_by_word(tokenizer, running["input_ids"], running.word_ids())
    assert as_words[1:] == in_text[1:]
    if "Ġ" in "".join(tokenizer.get_vocab()):  # byte-level BPE
        assert all(pieces[0].startswith("Ġ") for pieces in as_words[1:]), as_words


def pieces_by_word(tokenizer, ids: list[int], word_ids: list[int | None]) -> list[list[str]]:
    pieces: dict[int, list[str]] = {}
    for token, word in zip(tokenizer.convert_ids_to_tokens(ids), word_ids, strict=True):
        if word is not None:
            pieces.setdefault(word, []).append(token)
    return [pieces[w] for w in sorted(pieces)]


# ----------------------------------------------------------------------------- layer decay

DECAY, HEAD = 0.5, 4.0


@pytest.mark.parametrize(("family", "outcome"), cases("layer_decay", trains=False))
def test_layer_decay(family, outcome, checkpoints, data, tmp_path, capsys):
    """Works: the optimizer groups of the loaded model rise with depth, one per layer (block),
    and hold every trainable parameter once. Refused: before training, exit 2."""
    task = task_name(family, "classification")
    schedule = {"layer_decay": DECAY, "head_lr_multiplier": HEAD, "warmup_steps": 0}
    raw = stage_recipe(checkpoints[family], task, data, tmp_path / "run", schedule=schedule)
    if refused_as_expected(outcome, raw, "train", tmp_path, capsys):
        return
    from toolkit.api import load_config
    from toolkit.run.stages import build_model, plan_run
    from toolkit.training.param_groups import build_param_groups

    config = load_config(raw)
    model = build_model(plan_run(config), labelled(LABELS))
    groups = build_param_groups(model, config.schedule, 1.0, 0.0, set())
    check_groups(model, groups, FAMILIES[family].block, FAMILIES[family].blocks)


def check_groups(model: Any, groups: list[dict], block: str, blocks: int) -> None:
    """Every trainable parameter in one group; the parameters of each block (`block`: a
    pattern naming one) share one LR, rising strictly from block to block in the model's
    order, above every embedding's; the head has HEAD x peak."""
    from toolkit.training.param_groups import base_prefix

    owner = [(id(p), group["lr"]) for group in groups for p in group["params"]]
    lr_of = dict(owner)
    assert len(lr_of) == len(owner), "a parameter in two groups"
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert {id(p) for _, p in trainable} == set(lr_of), "groups and trainable parameters differ"
    by_block: dict[str, set[float]] = {}
    for name, param in trainable:
        match = re.search(block, name)
        if match:
            by_block.setdefault(match.group(0), set()).add(lr_of[id(param)])
    assert len(by_block) == blocks, f"blocks found: {list(by_block)}"
    assert all(len(lrs) == 1 for lrs in by_block.values()), f"a block split: {by_block}"
    rising = [lrs.pop() for lrs in by_block.values()]
    assert rising == sorted(set(rising)), f"LRs by block, lowest layer first: {rising}"
    embeddings = [lr_of[id(p)] for n, p in trainable if ".embeddings." in f".{n}"]
    assert embeddings and max(embeddings) < rising[0]
    prefix = base_prefix(model)
    head = {lr_of[id(p)] for n, p in trainable if not n.startswith(prefix)}
    assert head == {HEAD}


# ----------------------------------------------------------------------------- LoRA


@pytest.mark.parametrize(("family", "outcome"), cases("lora"))
def test_lora(family, outcome, checkpoints, data, tmp_path, capsys):
    """Only the adapters and the head train: after two steps at a high LR every other weight is
    as it was, the adapters and the head moved, every layer (block) has an adapter, and nothing
    the checkpoint lacked stays frozen at its random start."""
    import torch

    task = task_name(family, "classification")
    raw = stage_recipe(checkpoints[family], task, data, tmp_path / "run", peft={"method": "lora"})
    raw["learning_rate"] = 5e-2
    if refused_as_expected(outcome, raw, "train", tmp_path, capsys):
        return
    fitted = fit(raw)
    assert_finite(fitted.loss)
    after = dict(fitted.model.named_parameters())
    changed = {n for n, p in after.items() if not torch.equal(p, fitted.before[n])}
    trained = {n for n, p in after.items() if p.requires_grad}

    def adapter_or_head(name: str) -> bool:
        return ".lora_" in name or ".modules_to_save." in name

    assert all(adapter_or_head(n) for n in trained), sorted(trained)
    assert changed <= trained and any(".lora_B." in n for n in changed)
    assert any(".modules_to_save." in n for n in changed)
    in_blocks = [re.search(FAMILIES[family].block, n) for n in trained if ".lora_" in n]
    adapted = {match.group(0) for match in in_blocks if match}
    assert len(adapted) == FAMILIES[family].blocks, sorted(adapted)
    # peft names a trained copy of module M "M.modules_to_save.default"
    trained_as_named = {n.replace(".modules_to_save.default", "") for n in trained}
    for key in fitted.model.get_base_model().ftk_new_tensors:
        assert f"base_model.model.{key}" in trained_as_named, f"{key} stays at random"


# ----------------------------------------------------------------------------- pre-training


def pretrain_recipe(family: str, checkpoint: Path, data: Data, output_dir: Path) -> dict:
    if FAMILIES[family].modality == "text":
        task, section = "masked-lm", {"train_file": str(data.corpus), "max_length": 16}
    else:
        task, section = "masked-image-modeling", {"train_file": str(data.unlabelled_images)}
    raw = recipe(checkpoint, task, {**section, "validation_size": 0.25}, output_dir)
    for key in ("baseline", "overfitting"):
        del raw[key]  # fine-tuning's sections
    return raw


@pytest.mark.parametrize(("family", "outcome"), cases("pretrain"))
def test_pretrain_then_finetune(family, outcome, checkpoints, data, tmp_path, capsys):
    """Works: pre-training (`ftk train --pretrain`'s first stage) moves the encoder, and
    fine-tuning starts from all of the moved encoder. Refused: `ftk pretrain` exits 2."""
    raw = pretrain_recipe(family, checkpoints[family], data, tmp_path / "pretrained")
    if refused_as_expected(outcome, raw, "pretrain", tmp_path, capsys):
        return
    import torch

    from toolkit.api import load_config
    from toolkit.run.pretraining import pretrained_base

    task = task_name(family, "classification")
    finetune = stage_recipe(checkpoints[family], task, data, tmp_path / "run")
    base = pretrained_base(load_config(raw), load_config(finetune))
    finetune["model"]["name_or_path"] = str(base)
    fitted = fit(finetune)
    assert_finite(fitted.loss)
    original, pretrained = encoder_of(checkpoints[family]), encoder_of(base)
    assert any(not torch.equal(v, original[k]) for k, v in pretrained.items() if k in original)
    assert fitted.encoder_before is not None
    assert_encoder_is(fitted.encoder_before, base)


# ----------------------------------------------------------------------------- predict


@pytest.mark.parametrize(("family", "outcome"), cases("predict"))
def test_predict_equals_pipeline(family, outcome, classification_runs, data):
    assert isinstance(outcome, Works), "a refused predict cell needs a check of its own here"
    assert_predict_equals_pipeline(classification_runs(family).run_dir, family, data)


def assert_predict_equals_pipeline(run_dir: Path, family: str, data: Data) -> None:
    """`ftk predict` and `transformers.pipeline()` on the run directory: the same labels in the
    same order, scores within 1e-5."""
    from transformers import pipeline

    import toolkit

    if FAMILIES[family].modality == "text":
        texts = ["goal match team win", "market profit shares and bank", "the chip data of it"]
        rows = toolkit.predict(run_dir, texts, top_k=3)
        classify = pipeline("text-classification", model=str(run_dir), device="cpu", top_k=None)
        expected = classify(texts)
    else:
        rows = toolkit.predict(run_dir, data.new_images, top_k=3)
        classify = pipeline("image-classification", model=str(run_dir), device="cpu")
        expected = classify([str(row["image"]) for row in rows], top_k=3)
    assert len(rows) == len(expected) >= 3
    for row, answer in zip(rows, expected, strict=True):
        ranked = [(row[f"pred_label{s}"], row[f"pred_score{s}"]) for s in ("", "_2", "_3")]
        where = row.get("image", row.get("text"))
        assert [label for label, _ in ranked] == [a["label"] for a in answer], where
        assert [score for _, score in ranked] == pytest.approx(
            [a["score"] for a in answer], abs=1e-5
        ), where


# ----------------------------------------------------------------------------- the real CLI

# Cells run once more as a user runs them, `python -m toolkit ...` in a child process: ones
# whose family-specific part the in-process cells leave out (LoRA's merged save of a fused
# attention layer; `ftk train --pretrain` with its reuse of the pre-trained folder).
CLI_CELLS = [("modernbert", "lora"), ("swin", "pretrain")]


def ftk_cli(*args: Any) -> subprocess.CompletedProcess:
    """`python -m toolkit ARGS` on one compute thread (see one_thread_and_frozen_imports)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "toolkit", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def write_yaml(path: Path, raw: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(raw))
    return path


def cli_arguments(checkpoint: Path, family: str, cell: str, data: Data, folder: Path) -> list:
    """The `ftk` command line of a cell of CLI_CELLS; its run goes to folder/run."""
    task = task_name(family, "classification")
    raw = recipe(checkpoint, task, data_section(task, data), folder / "run")
    if cell == "lora":
        return ["train", "--config", write_yaml(folder / "lora.yaml", raw), "--peft.method", "lora"]
    pretrain = pretrain_recipe(family, checkpoint, data, folder / "pretrained")
    return [
        "train",
        "--config",
        write_yaml(folder / "finetune.yaml", raw),
        "--pretrain",
        write_yaml(folder / "pretrain.yaml", pretrain),
    ]


@pytest.mark.e2e
@pytest.mark.parametrize(("family", "cell"), CLI_CELLS, ids=["-".join(c) for c in CLI_CELLS])
def test_cell_through_the_cli(family, cell, checkpoints, data, tmp_path):
    """Works: exit 0, finite losses, and the run directory predicts as pipeline() does.
    Refused: exit 2 with the reason."""
    done = ftk_cli(*cli_arguments(checkpoints[family], family, cell, data, tmp_path))
    outcome = EXPECTED[(family, cell)]
    if isinstance(outcome, Refused):
        assert done.returncode == 2, done.stderr[-3000:]
        check_refused(outcome, done.stderr.lower())
        return
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert_finite(metrics["train_loss"])
    assert_finite(metrics["eval_loss"])
    if cell == "pretrain":
        pretrained = json.loads((tmp_path / "pretrained" / "metrics.json").read_text())
        assert_finite(pretrained["eval_loss"])
        assert "new (random): classifier" in done.stdout  # the pre-trained encoder, all of it
    assert_predict_equals_pipeline(tmp_path / "run", family, data)


# ----------------------------------------------------------------------------- the docs


def test_docs_page_is_the_table():
    page = Path(__file__).resolve().parents[1] / "docs" / "families.md"
    assert page.read_text() == markdown(), (
        "docs/families.md differs from EXPECTED: python tests/test_family_matrix.py "
        "--markdown > docs/families.md"
    )


def test_every_family_has_every_cell_that_applies():
    for family, spec in FAMILIES.items():
        cells = {cell for f, cell in EXPECTED if f == family}
        assert cells == set(CELLS) - (TEXT_ONLY if spec.modality == "image" else set())


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python tests/test_family_matrix.py --markdown > docs/families.md")
    sys.stdout.write(markdown())
