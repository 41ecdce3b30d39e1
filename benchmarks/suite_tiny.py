"""The defaults suite's --tiny mode: synthetic stand-ins for four kinds of set (text classes,
regression, tags, images), each with a tiny random model (hidden 32, 2 layers) and a recipe
shaped like the shipped one for its task: a run is seconds of training after ftk's imports
(the test suite runs them). The data are the test suite's own learnable toys (tests/helpers.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from common import ROOT
from suite_sets import SuiteSet, dir_args, file_args, save_png_folders, write_splits_csv

sys.path.insert(0, str(ROOT / "tests"))

import helpers
import tagging_helpers

Prepare = Callable[[Path | None, Path], dict[str, int]]

# The shipped recipes' schedule, with the tests' tiny-model pace: 8 epochs of ~10 steps.
RECIPE_TAIL = [
    "schedule: {warmup_fraction: 0.1, decay: cosine}",
    "learning_rate: 5.0e-3",
    "num_train_epochs: 8",
    "per_device_train_batch_size: 8",
    "use_cpu: true",
    "seed: 42",
]


# the tiny recipes' for_this_data, as the shipped recipes list it (tags and images: epochs)
TEXT_OWN, EPOCHS_OWN = "[num_train_epochs, data.max_length]", "[num_train_epochs]"


def write_recipe(path: Path, task: str, metrics: str, model: str, data: str, own: str) -> Path:
    """`own`: its for_this_data, as the shipped recipe for the task lists it: released when a
    set's data is given (the recipe names none), so the derived arm chooses them."""
    lines = [f"task: {task}", f"for_this_data: {own}", f"metrics: {metrics}", f"model: {model}"]
    path.write_text("\n".join([*lines, f"data: {data}", *RECIPE_TAIL]) + "\n")
    return path


def save_text_model(folder: Path) -> None:
    words = sorted({w for ws in helpers.TOPIC_WORDS.values() for w in ws} | set(helpers.FILLER))
    helpers.save_tiny_bert(folder, words, max_length=64)


def with_model(save_model: Callable[[Path], object], folder: Path, write_files: Prepare) -> Prepare:
    """A set's preparation that also saves its tiny model (once; sets share them), so a
    rerun whose sets are all prepared imports no torch."""

    def prepare(archive: Path | None, out: Path) -> dict[str, int]:
        if not folder.is_dir():
            save_model(folder)
        return write_files(archive, out)

    return prepare


def classes_files(_archive: Path | None, out: Path) -> dict[str, int]:
    return write_splits_csv(out, ["text", "label"], helpers.make_texts(30, seed=0))


def regression_files(_archive: Path | None, out: Path) -> dict[str, int]:
    return write_splits_csv(out, ["text", "label"], helpers.make_regression_texts(120, seed=0))


def tag_files(_archive: Path | None, out: Path) -> dict[str, int]:
    sentences = tagging_helpers.make_sentences(100, seed=0)
    sizes = {}
    out.mkdir(parents=True, exist_ok=True)
    for split, part in [("train", sentences[:70]), ("validation", sentences[70:80])]:
        tagging_helpers.write_conll(out / f"{split}.conll", part)
        sizes[split] = len(part)
    tagging_helpers.write_conll(out / "test.conll", sentences[80:])
    return {**sizes, "test": 20}


def image_files(_archive: Path | None, out: Path) -> dict[str, int]:
    import random

    rng = random.Random(0)
    shapes = list(helpers.SHAPE_COLOURS)
    counts = {"train": 24, "validation": 6, "test": 10}  # per class
    splits = {
        split: [(helpers.draw_shape(shape, 16, rng), shape) for shape in shapes for _ in range(n)]
        for split, n in counts.items()
    }
    return save_png_folders(out, splits)


def tiny_sets(workdir: Path) -> list[SuiteSet]:
    """The four stand-ins; their recipes are written under `workdir` at once, their models
    and files when they are prepared."""
    models = workdir / "models"
    bert, tagger = models / "tiny-bert", models / "tiny-tagger"
    vit = "{from_config: " + str(helpers.TINY_VIT_SIZES).replace("'", "") + "}"
    recipes = workdir / "recipes"
    recipes.mkdir(parents=True, exist_ok=True)
    text = "{max_length: 32}"

    def recipe(
        name: str, task: str, metrics: str, model: str, data: str = text, own: str = TEXT_OWN
    ) -> str:
        return str(write_recipe(recipes / f"{name}.yaml", task, metrics, model, data, own))

    return [
        SuiteSet(
            name="tiny-classes",
            kind="text classes (synthetic)",
            recipe=recipe("classes", "text-classification", "[accuracy]", named(bert)),
            metric="accuracy",
            package=None,
            prepare=with_model(save_text_model, bert, classes_files),
            data_args=lambda folder: file_args(folder, ".csv"),
        ),
        SuiteSet(
            name="tiny-regression",
            kind="regression (synthetic)",
            recipe=recipe("numbers", "text-regression", "[rmse]", named(bert)),
            metric="rmse",
            package=None,
            prepare=with_model(save_text_model, bert, regression_files),
            data_args=lambda folder: file_args(folder, ".csv"),
        ),
        SuiteSet(
            name="tiny-tags",
            kind="token tagging (synthetic)",
            recipe=recipe(
                "tags", "token-classification", "[f1, accuracy]", named(tagger), own=EPOCHS_OWN
            ),
            metric="f1",
            package=None,
            prepare=with_model(tagging_helpers.save_tiny_tagger_base, tagger, tag_files),
            data_args=lambda folder: file_args(folder, ".conll"),
        ),
        SuiteSet(
            name="tiny-images",
            kind="RGB images (synthetic)",
            recipe=recipe(
                "images", "image-classification", "[accuracy]", vit, "{}", own=EPOCHS_OWN
            ),
            metric="accuracy",
            package=None,
            prepare=image_files,
            data_args=dir_args,
        ),
    ]


def named(model: Path) -> str:
    return f"{{name_or_path: '{model}'}}"
