"""End to end through the real CLI: tiny ViTs on generated images of coloured shapes."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest
from helpers import (
    TINY_VIT_SIZES,
    draw_shape,
    ftk,
    history_rows,
    make_image_folder,
    write_corrupt_image,
    write_image_config,
)

pytestmark = pytest.mark.e2e

SHAPES = {"circle", "square", "triangle"}


def run_cli(config, *extra):
    return ftk("train", "--config", config, "--early_stopping.patience", "null", *extra)


@pytest.fixture(scope="module")
def folder_run(tiny_vit, tmp_path_factory):
    """A checkpoint (tiny ViT, new head) fine-tuned on class folders with TrivialAugment."""
    root = tmp_path_factory.mktemp("image-e2e")
    train = make_image_folder(root / "train", 30, seed=1)
    test = make_image_folder(root / "test", 10, seed=2)
    run_dir = root / "run"
    config = write_image_config(
        root / "tiny-vit.yaml",
        f"{{name_or_path: '{tiny_vit}'}}",
        f"{{train_dir: '{train}', test_dir: '{test}'}}",
        run_dir,
        augment="{image: trivial, horizontal_flip: 0.5}",
    )
    return run_dir, run_cli(config)


def test_image_baselines_fit_in_a_side_process(folder_run, tmp_path):
    """baseline.background: true (the default on a GPU): the images cross to a spawned process."""
    run_dir, _ = folder_run
    beside = tmp_path / "beside"
    result = run_cli(
        run_dir / "run_config.yaml",
        "--output_dir",
        str(beside),
        "--overwrite",
        "--baseline.background",
        "true",
        "--num_train_epochs",
        "1",
    )
    assert "Baselines: fitting the cheap models in a side process" in result.stdout
    baselines = json.loads((beside / "baseline.json").read_text())
    assert [b["name"] for b in baselines["baselines"]] == [
        b["name"] for b in json.loads((run_dir / "baseline.json").read_text())["baselines"]
    ]
    assert all(0 <= b["test"]["accuracy"] <= 1 for b in baselines["baselines"])
    assert json.loads((beside / "metrics.json").read_text())["verdict"] is not None


def test_run_directory_holds_every_artifact(folder_run):
    run_dir, _ = folder_run
    for name in [
        "model.safetensors",
        "config.json",
        "preprocessor_config.json",
        "run_config.yaml",
        "metrics.json",
        "history.jsonl",
        "loss.png",
        "learning_rate.png",
        "README.md",
    ]:
        assert (run_dir / name).is_file(), name
    assert not list(run_dir.glob("*.bin")) and not list(run_dir.glob("checkpoint-*"))
    card = (run_dir / "README.md").read_text()
    assert "pipeline_tag: image-classification" in card and "image folders" in card


def test_metrics_and_learning(folder_run):
    run_dir, result = folder_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["test_per_class"]) == SHAPES
    assert metrics["skipped_images"] == 0
    assert metrics["test_accuracy"] >= 0.6, "coloured shapes are easy to tell apart"
    assert "Data: train 81, validation 9, test 30 examples; 3 classes" in result.stdout
    losses = [row["loss"] for row in history_rows(run_dir, "train")]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, "training loss falls"


def test_best_epoch_is_the_model_kept(folder_run):
    """transformers 5 cannot reload a ViT checkpoint by key; the toolkit's reload must."""
    run_dir, _ = folder_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    epochs = history_rows(run_dir, "eval")[:-1]  # last: final eval
    # the best accuracy, the lower validation loss on a tie (training/best_epoch.py)
    best = max(epochs, key=lambda row: (row["eval_accuracy"], -row["eval_loss"]))
    assert metrics["best_checkpoint_step"] == best["step"]
    assert metrics["eval_accuracy"] == pytest.approx(best["eval_accuracy"])
    # the final scores are recomputed in fp32; evaluations during bf16 training ran in bf16
    tolerance = 1e-4 if metrics["mixed_precision"] == "no" else 2e-2
    assert metrics["eval_loss"] == pytest.approx(best["eval_loss"], rel=tolerance)


def test_pipeline_loads_run_and_names_labels(folder_run):
    from transformers import pipeline

    run_dir, _ = folder_run
    classifier = pipeline("image-classification", model=str(run_dir))
    image = draw_shape("circle", 24, random.Random(5))
    predictions = classifier(image, top_k=3)
    assert {p["label"] for p in predictions} == SHAPES
    assert sum(p["score"] for p in predictions) == pytest.approx(1.0, abs=1e-4)


def test_listing_from_config_and_skipped_corrupt_image(tmp_path):
    """A CSV of relative paths, a ViT built from the config, one corrupt file skipped."""
    images = make_image_folder(tmp_path / "imgs", 12, seed=3, size=16)  # the model's size
    write_corrupt_image(images / "circle" / "broken.png")
    rows = [(str(p.relative_to(tmp_path)), p.parent.name) for p in sorted(images.rglob("*.png"))]
    with (tmp_path / "listing.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("file", "shape"), *rows])
    sizes = {**TINY_VIT_SIZES, "num_channels": 1}  # grayscale model: RGB images are converted
    config = write_image_config(
        tmp_path / "scratch.yaml",
        json.dumps({"from_config": sizes}),
        f"{{train_file: '{tmp_path / 'listing.csv'}', image_column: file, "
        f"label_column: shape, bad_images: skip, test_size: 0.25}}",
        tmp_path / "run",
        num_train_epochs=1,
    )
    result = run_cli(config)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["skipped_images"] == 1
    assert "Skipped 1 unreadable image(s)" in result.stdout and "broken.png" in result.stdout
    assert "Data: train 24, validation 3, test 9 examples" in result.stdout  # 36 readable of 37
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    # trained on one channel, saved widened to RGB so that pipeline() can feed it
    assert (saved["num_channels"], saved["image_size"], saved["hidden_size"]) == (3, 16, 32)
    processor = json.loads((tmp_path / "run" / "preprocessor_config.json").read_text())
    assert processor["size"] == {"height": 16, "width": 16}
    assert processor["image_mean"] == [0.5] * 3
    assert "Saved the grayscale model to read RGB" in result.stdout
    assert_pipeline_matches_grayscale_model(tmp_path / "run", images)


def assert_pipeline_matches_grayscale_model(run_dir, images):
    """`pipeline()` on the widened run scores an image as the one-channel model it was trained
    as scores its grayscale version. The trained one-channel model is rebuilt exactly: the luma
    weights sum to 1, so summing the patch kernel over R, G, B gives back the gray kernel."""
    import torch
    from PIL import Image
    from transformers import AutoConfig, ViTForImageClassification, pipeline

    widened = ViTForImageClassification.from_pretrained(run_dir)
    gray_config = AutoConfig.from_pretrained(run_dir, num_channels=1)
    state = widened.state_dict()
    kernel = "vit.embeddings.patch_embeddings.projection.weight"
    state[kernel] = state[kernel].sum(dim=1, keepdim=True)
    gray_model = ViTForImageClassification(gray_config).eval()
    gray_model.load_state_dict(state)

    classifier = pipeline("image-classification", model=str(run_dir), device="cpu")
    colour = Image.open(sorted((images / "square").glob("*.png"))[0]).convert("RGB")
    for image, tolerance in ((colour, 2e-3), (colour.convert("L").convert("RGB"), 1e-5)):
        scores = {p["label"]: p["score"] for p in classifier(image, top_k=3)}
        pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
        gray_input = torch.from_numpy((pixels - 0.5) / 0.5)[None, None]
        with torch.no_grad():
            probs = gray_model(pixel_values=gray_input).logits.softmax(-1)[0]
        expected = {gray_config.id2label[i]: float(p) for i, p in enumerate(probs)}
        assert scores == pytest.approx(expected, abs=tolerance)
