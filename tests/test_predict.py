"""`ftk predict` and `ftk evaluate` on a tiny trained text run and a tiny image run."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import make_texts, write_csv, write_text_config

LABELS = ["business", "sport", "tech"]


def ftk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def text_run(tiny_bert, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("predict")
    data = {
        "train": write_csv(folder / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(10, seed=2)),
    }
    run_dir = folder / "run"
    config = write_text_config(folder / "tiny.yaml", tiny_bert, data, run_dir, num_train_epochs=3)
    done = ftk("train", "--config", str(config))
    assert done.returncode == 0, done.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> Path:
    """A finished image run as `ftk train` leaves it: a tiny ViT, its processor, run_config."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    run_dir = tmp_path_factory.mktemp("image-run")
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=2,
        id2label={0: "cat", 1: "dog"},
        label2id={"cat": 0, "dog": 1},
    )
    ViTForImageClassification(config).save_pretrained(run_dir)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(run_dir)
    (run_dir / "run_config.yaml").write_text(
        yaml.safe_dump(
            {
                "task": "image-classification",
                "metrics": ["accuracy", "f1_macro"],
                "data": {"label_column": "label"},
            }
        )
    )
    return run_dir


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """cat/ (dark) and dog/ (bright) PNGs of different sizes."""
    from PIL import Image

    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for label, base in (("cat", 40), ("dog", 200)):
        (root / label).mkdir()
        for i in range(3):
            pixels = np.clip(base + rng.integers(-30, 30, (20 + 4 * i, 24, 3)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(root / label / f"{i}.png")
    return root


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# ----------------------------------------------------------------------------- text


@pytest.mark.e2e
def test_predict_table_writes_every_row_with_topk_labels(text_run, tmp_path):
    test_csv = text_run.parent / "test.csv"
    out = tmp_path / "preds.csv"
    done = ftk(
        "predict",
        str(text_run),
        "--input",
        str(test_csv),
        "--output",
        str(out),
        "--top-k",
        "2",
        "--batch-size",
        "7",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Predicting" in done.stderr, "a progress bar"
    rows, source = read_csv(out), read_csv(test_csv)
    assert len(rows) == len(source) == 30
    assert list(rows[0]) == [
        "text",
        "label",
        "pred_label",
        "pred_score",
        "pred_label_2",
        "pred_score_2",
    ]
    assert [r["text"] for r in rows] == [r["text"] for r in source], "input order kept"
    for row in rows:
        assert row["pred_label"] in LABELS and row["pred_label_2"] in LABELS
        assert row["pred_label"] != row["pred_label_2"]
        assert 1 >= float(row["pred_score"]) >= float(row["pred_score_2"]) >= 0


@pytest.mark.e2e
def test_predict_scores_match_transformers_pipeline(text_run, tmp_path):
    from transformers import pipeline

    from toolkit.use.predict import predict

    texts = ["goal match team win", "market profit shares bank", "chip data code"]
    source = write_csv(tmp_path / "new.csv", [(t, "") for t in texts], header=("text", "id"))
    out = tmp_path / "preds.jsonl"
    rows = predict(text_run, input_path=source, output=out, top_k=3)
    assert [json.loads(line) for line in out.read_text().splitlines()] == rows
    classifier = pipeline("text-classification", model=str(text_run), device="cpu", top_k=None)
    for row, expected in zip(rows, classifier(texts), strict=False):
        ranked = [(row[f"pred_label{s}"], row[f"pred_score{s}"]) for s in ("", "_2", "_3")]
        assert [label for label, _ in ranked] == [e["label"] for e in expected]
        assert [score for _, score in ranked] == pytest.approx(
            [e["score"] for e in expected], abs=1e-5
        )


@pytest.mark.e2e
def test_predict_one_text(text_run):
    done = ftk("predict", str(text_run), "--text", "goal match team win")
    assert done.returncode == 0, done.stderr[-2000:]
    label = done.stdout.split()[0]
    assert label in LABELS and "| goal match team win" in done.stdout


@pytest.mark.e2e
def test_predict_every_text_given_in_order(text_run, tmp_path):
    """`--text a --text b` predicts both, in the order given (argparse once kept only b)."""
    texts = ["goal match team win", "shares bank market profit", "goal match team win"]
    output = tmp_path / "texts.csv"
    args = [arg for text in texts for arg in ("--text", text)]
    done = ftk("predict", str(text_run), *args, "--output", str(output))
    assert done.returncode == 0, done.stderr[-2000:]
    with output.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["text"] for row in rows] == texts
    assert all(row["pred_label"] in LABELS for row in rows)
    assert rows[0]["pred_score"] == rows[2]["pred_score"]  # the same text, the same scores
    printed = ftk("predict", str(text_run), *args[:4])
    assert printed.returncode == 0, printed.stderr[-2000:]
    lines = [line for line in printed.stdout.splitlines() if "| " in line]
    assert [line.split("| ", 1)[1] for line in lines[-2:]] == texts[:2]


@pytest.mark.e2e
def test_evaluate_reproduces_the_runs_test_metrics(text_run, tmp_path):
    from toolkit.use.evaluate import evaluate_run

    out = tmp_path / "eval.json"
    results = evaluate_run(text_run, text_run.parent / "test.csv", output=out, batch_size=5)
    trained = json.loads((text_run / "metrics.json").read_text())
    assert results["examples"] == 30
    for name in ("accuracy", "f1_macro"):
        assert results[name] == pytest.approx(trained[f"test_{name}"], abs=1e-9), name
    assert results["loss"] == pytest.approx(trained["test_loss"], abs=1e-4)
    assert set(results["per_class"]) == set(LABELS)
    assert json.loads(out.read_text()) == results


@pytest.mark.e2e
def test_evaluate_reads_labels_as_training_does(text_run, tmp_path):
    """Spaces around a label are dropped in evaluate as in train: 'sport ' scores as 'sport'."""
    from toolkit.use.evaluate import evaluate_run

    test = text_run.parent / "test.csv"
    with test.open() as handle:
        rows = list(csv.reader(handle))[1:]
    padded = write_csv(tmp_path / "padded.csv", [(text, f" {label} ") for text, label in rows])
    assert evaluate_run(text_run, padded) == evaluate_run(text_run, test) | {"data": str(padded)}


def latin1_table(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["text,label"] + [f"{text} café,{label}" for text, label in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return path


@pytest.mark.e2e
def test_predict_and_evaluate_read_a_latin1_table_with_encoding(text_run, tmp_path, capsys):
    from toolkit.cli import main
    from toolkit.use.evaluate import evaluate_run
    from toolkit.use.predict import predict

    table = latin1_table(tmp_path / "excel.csv", make_texts(2, seed=3))
    assert main(["predict", str(text_run), "--input", str(table)]) == 2
    err = capsys.readouterr().err
    assert "not valid utf-8" in err and "--encoding latin-1" in err and "excel.csv" in err
    assert main(["evaluate", str(text_run), "--data", str(table)]) == 2
    assert "--encoding latin-1" in capsys.readouterr().err
    rows = predict(text_run, input_path=table, encoding="latin-1")
    assert len(rows) == 6 and all(r["text"].endswith(" café") for r in rows)
    assert evaluate_run(text_run, table, encoding="latin-1")["examples"] == 6
    assert main(["predict", str(text_run), "--input", str(table), "--encoding", "latin-1"]) == 0


@pytest.mark.e2e
def test_empty_texts_in_new_data_are_said(text_run, tmp_path, capsys):
    """predict keeps a row for every input and names the empty ones; evaluate drops them, as
    the run's training did (data.empty_texts: drop)."""
    from toolkit.use.evaluate import evaluate_run
    from toolkit.use.predict import predict

    rows = [("goal match team", "sport"), ("", "tech"), ("   ", "business"), ("bank", "business")]
    table = write_csv(tmp_path / "gaps.csv", rows)
    assert len(predict(text_run, input_path=table)) == 4
    assert "2 row(s) with an empty text (rows 2, 3)" in capsys.readouterr().err
    assert evaluate_run(text_run, table)["examples"] == 2
    err = capsys.readouterr().err
    assert "Dropped 2 of 4 rows" in err and "(rows 2, 3)" in err


@pytest.mark.e2e
def test_predict_table_without_text_column_lists_columns(text_run, tmp_path):
    bad = write_csv(tmp_path / "bad.csv", [("goal", "x")], header=("body", "id"))
    done = ftk("predict", str(text_run), "--input", str(bad))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no column 'text'" in done.stderr and "body, id" in done.stderr
    assert "--text-column" in done.stderr
    ok = ftk(
        "predict",
        str(text_run),
        "--input",
        str(bad),
        "--text-column",
        "body",
        "--output",
        str(tmp_path / "p.csv"),
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    shown = ftk("predict", str(text_run), "--input", str(bad), "--text-column", "body")
    assert shown.stdout.rstrip().endswith("| goal"), shown.stdout  # the input, from its column


@pytest.mark.e2e
def test_evaluate_unknown_labels_are_listed(text_run, tmp_path):
    bad = write_csv(
        tmp_path / "bad.csv", [("goal match", "sport"), ("x", "weather"), ("y", "politics")]
    )
    done = ftk("evaluate", str(text_run), "--data", str(bad))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'politics', 'weather'" in done.stderr and "business, sport, tech" in done.stderr


@pytest.mark.e2e
def test_not_a_run_directory(tmp_path, text_run):
    done = ftk("predict", str(tmp_path), "--text", "hello")
    assert done.returncode == 2
    assert "not a finished ftk run directory" in done.stderr and "run_config.yaml" in done.stderr
    (tmp_path / "checkpoint-3").mkdir()
    (tmp_path / "checkpoint-3" / "trainer_state.json").write_text('{"global_step": 3}')
    done = ftk("evaluate", str(tmp_path), "--data", str(text_run.parent / "test.csv"))
    assert done.returncode == 2 and "is an unfinished run" in done.stderr
    assert "Resume it from checkpoint-3 with `ftk train --resume" in done.stderr


@pytest.mark.e2e
def test_predict_needs_exactly_one_input(text_run, capsys):
    from toolkit.cli import main

    assert main(["predict", str(text_run)]) == 2
    assert "exactly one of --input" in capsys.readouterr().err
    table = str(Path(text_run).parent / "test.csv")
    assert main(["predict", str(text_run), "--input", table, "--text", "a", "--text", "b"]) == 2
    assert "exactly one of --input" in capsys.readouterr().err
    assert main(["predict", str(text_run), "--text", "a", "--output", "p.txt"]) == 2
    assert ".csv or .jsonl" in capsys.readouterr().err


# ----------------------------------------------------------------------------- images


def test_predict_image_folder(image_run, images, tmp_path):
    import torch
    from PIL import Image
    from transformers import ViTForImageClassification, ViTImageProcessor

    from toolkit.use.predict import predict

    out = tmp_path / "preds.csv"
    rows = predict(image_run, input_path=images, output=out, top_k=2, batch_size=4)
    paths = sorted(images.rglob("*.png"))
    assert [r["image"] for r in read_csv(out)] == [str(p) for p in paths]
    assert all({r["pred_label"], r["pred_label_2"]} == {"cat", "dog"} for r in rows)
    # Same probabilities as running the saved model by hand on each image alone.
    model = ViTForImageClassification.from_pretrained(image_run).eval()
    processor = ViTImageProcessor.from_pretrained(image_run)
    for row, path in zip(rows, paths, strict=False):
        with torch.no_grad():
            logits = model(
                **processor(Image.open(path).convert("RGB"), return_tensors="pt")
            ).logits[0]
        probs = torch.softmax(logits, -1)
        assert row["pred_score"] == pytest.approx(float(probs.max()), abs=1e-5)
        assert row["pred_label"] == model.config.id2label[int(probs.argmax())]


@pytest.mark.e2e
def test_predict_one_image(image_run, images):
    done = ftk("predict", str(image_run), "--input", str(images / "dog" / "0.png"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] in ("cat", "dog") and "dog/0.png" in done.stdout


def test_evaluate_image_folder(image_run, images):
    from toolkit.use.evaluate import evaluate_run
    from toolkit.use.predict import predict

    results = evaluate_run(image_run, images)
    predicted = [r["pred_label"] for r in predict(image_run, input_path=images)]
    truth = [Path(r).parent.name for r in sorted(map(str, images.rglob("*.png")))]
    assert results["examples"] == 6
    assert results["accuracy"] == pytest.approx(
        np.mean([p == t for p, t in zip(predicted, truth, strict=False)])
    )
    assert set(results["per_class"]) == {"cat", "dog"}


@pytest.mark.e2e
def test_unreadable_images_are_listed(image_run, images, tmp_path):
    import shutil

    folder = tmp_path / "imgs"
    shutil.copytree(images, folder)
    (folder / "cat" / "broken.png").write_bytes(b"not a png")
    (folder / "dog" / "empty.jpg").write_bytes(b"")
    done = ftk(
        "predict", str(image_run), "--input", str(folder), "--output", str(tmp_path / "p.csv")
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "2 image file(s) could not be read" in done.stderr
    assert "cat/broken.png" in done.stderr and "dog/empty.jpg" in done.stderr
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.e2e
def test_evaluate_image_folder_needs_class_subfolders(image_run, images, tmp_path):
    from toolkit.cli import main

    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "a.png").write_bytes((images / "cat" / "0.png").read_bytes())
    assert main(["evaluate", str(image_run), "--data", str(flat)]) == 2


@pytest.mark.e2e
def test_text_input_to_an_image_run_is_refused(image_run, capsys):
    from toolkit.cli import main

    assert main(["predict", str(image_run), "--text", "a cat"]) == 2
    assert "classifies images" in capsys.readouterr().err
    assert main(["predict", str(image_run), "--text", "a cat", "--text", "a dog"]) == 2
    assert "classifies images" in capsys.readouterr().err


def test_predict_finds_every_image_kind_that_training_reads(tmp_path):
    """One list of image suffixes: a .ppm or .pgm that trains is also found by `ftk predict`
    and `ftk evaluate` (predict once kept a shorter list of its own)."""
    from PIL import Image

    import toolkit.data.new_data
    import toolkit.use.inputs
    from toolkit.data.images import IMAGE_SUFFIXES, class_folders, image_files

    for suffix, mode in ((".ppm", "RGB"), (".pgm", "L"), (".png", "RGB")):
        (tmp_path / "cat").mkdir(exist_ok=True)
        Image.new(mode, (8, 8)).save(tmp_path / "cat" / f"a{suffix}")
    found = {p.suffix for p in image_files(tmp_path)}
    assert found == {".ppm", ".pgm", ".png"}
    assert {Path(p).suffix for p in class_folders(tmp_path, "data.train_dir")["cat"]} == found
    assert toolkit.use.inputs.IMAGE_SUFFIXES is IMAGE_SUFFIXES
    assert toolkit.data.new_data.image_files is image_files  # evaluate's class folders


def test_predict_and_evaluate_a_grayscale_run(images, tmp_path):
    """A model with num_channels 1 (the Fashion-MNIST recipe) reads its inputs as grayscale,
    whatever mode the files are in (RGB, 8-bit gray, 16-bit gray), as in training."""
    import torch
    from PIL import Image
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    from toolkit.use.evaluate import evaluate_run
    from toolkit.use.predict import predict

    torch.manual_seed(0)
    run_dir = tmp_path / "gray-run"
    config = ViTConfig(
        image_size=16,
        patch_size=4,
        num_channels=1,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=2,
        id2label={0: "cat", 1: "dog"},
        label2id={"cat": 0, "dog": 1},
    )
    ViTForImageClassification(config).save_pretrained(run_dir)
    ViTImageProcessor(
        size={"height": 16, "width": 16}, image_mean=[0.5], image_std=[0.5]
    ).save_pretrained(run_dir)
    (run_dir / "run_config.yaml").write_text(
        yaml.safe_dump(
            {
                "task": "image-classification",
                "metrics": ["accuracy"],
                "data": {"label_column": "label"},
            }
        )
    )
    ramp = np.tile(np.linspace(0, 65535, 20).astype(np.uint16), (20, 1))
    Image.fromarray(ramp).save(images / "cat" / "sixteen-bit.png")
    Image.open(images / "dog" / "0.png").convert("L").save(images / "dog" / "gray.png")
    try:
        rows = predict(run_dir, input_path=images)
        assert len(rows) == 8 and {r["pred_label"] for r in rows} <= {"cat", "dog"}
        results = evaluate_run(run_dir, images)
        assert results["examples"] == 8 and 0 <= results["accuracy"] <= 1
    finally:  # the module's other tests count the original six images
        (images / "cat" / "sixteen-bit.png").unlink()
        (images / "dog" / "gray.png").unlink()


# ----------------------------------------------------------------------------- plain checkpoints


@pytest.fixture(scope="module")
def plain_classifier(tiny_bert, tmp_path_factory) -> Path:
    """A transformers classifier ftk did not train: no run_config.yaml, just save_pretrained."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("plain-classifier")
    labels = {0: "negative", 1: "positive"}
    model = BertForSequenceClassification.from_pretrained(
        tiny_bert, num_labels=2, id2label=labels, label2id={v: k for k, v in labels.items()}
    )
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(folder)
    return folder


def test_predict_and_evaluate_any_transformers_classifier(plain_classifier, tmp_path, capsys):
    """A checkpoint with a classification head works without being an ftk run: the scores are
    the pipeline's, and evaluate scores accuracy on a table with text and label columns."""
    from transformers import pipeline

    import toolkit

    texts = ["goal match team win", "bank shares profit"]
    rows = toolkit.predict(plain_classifier, texts, top_k=2)
    assert "not an ftk run" in capsys.readouterr().err
    classifier = pipeline("text-classification", model=str(plain_classifier), top_k=None)
    for row, expected in zip(rows, classifier(texts), strict=True):
        scores = {e["label"]: e["score"] for e in expected}
        assert row["pred_score"] == pytest.approx(scores[row["pred_label"]], abs=1e-5)
    table = write_csv(tmp_path / "l.csv", [(texts[0], "positive"), (texts[1], "negative")])
    results = toolkit.evaluate(plain_classifier, table)
    assert results["examples"] == 2 and 0 <= results["accuracy"] <= 1


@pytest.mark.e2e
def test_a_checkpoint_without_a_classification_head_is_named(tiny_bert, capsys):
    from toolkit.cli import main

    assert main(["predict", str(tiny_bert), "--text", "hello"]) == 2
    err = capsys.readouterr().err
    assert "nor a transformers classifier" in err and "BertModel" in err


def test_predict_reads_a_photo_upright_as_training_does(image_run, tmp_path):
    """A photo whose EXIF says "rotate 90 degrees" is decoded as `datasets` decodes training
    images (upright), not as its raw pixels lie."""
    import torch
    from PIL import Image, ImageOps
    from transformers import ViTForImageClassification, ViTImageProcessor

    from toolkit.use.predict import predict

    rng = np.random.default_rng(3)
    pixels = np.zeros((24, 32, 3), dtype=np.uint8)
    pixels[:, :16] = 230  # bright on the left, dark on the right: rotation changes the scores
    pixels = np.clip(pixels.astype(int) + rng.integers(0, 20, pixels.shape), 0, 255)
    photo = Image.fromarray(pixels.astype(np.uint8))
    exif = photo.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to view
    folder = tmp_path / "photos"
    folder.mkdir()
    photo.save(folder / "portrait.jpg", exif=exif, quality=100)
    rows = predict(image_run, input_path=folder, top_k=2, batch_size=1, show=False)

    model = ViTForImageClassification.from_pretrained(image_run).eval()
    processor = ViTImageProcessor.from_pretrained(image_run)

    def scores(image):
        with torch.no_grad():
            logits = model(**processor(image.convert("RGB"), return_tensors="pt")).logits[0]
        return torch.softmax(logits, -1).tolist()

    with Image.open(folder / "portrait.jpg") as saved:
        saved.load()
        upright, raw = scores(ImageOps.exif_transpose(saved)), scores(saved)
    predicted = {rows[0]["pred_label"]: rows[0]["pred_score"]}
    predicted[rows[0]["pred_label_2"]] = rows[0]["pred_score_2"]
    names = model.config.id2label
    assert [predicted[names[i]] for i in range(2)] == pytest.approx(upright, abs=1e-5)
    assert upright != pytest.approx(raw, abs=1e-5)  # the check can tell the two apart


def test_a_tagger_tags_every_word_even_past_max_length(tmp_path):
    """Words past the run's max_length keep a row each, read in further windows that open
    with the words before them as context, and the cut is said; every word gets the scores of
    its first piece, as `Trainer.predict` saw it in training."""
    import torch
    from helpers import save_tiny_bert
    from transformers import AutoTokenizer, BertForTokenClassification

    from toolkit.use.inference import load_run, word_logits

    words = ["the", "paris", "oslo", "went", "to"]
    base = save_tiny_bert(tmp_path / "base", ["the", "paris", "os", "##lo", "went", "to"], 64)
    torch.manual_seed(0)
    names = {0: "O", 1: "B-LOC", 2: "I-LOC"}
    model = BertForTokenClassification.from_pretrained(
        base, num_labels=3, id2label=names, label2id={v: k for k, v in names.items()}
    )
    run_dir = tmp_path / "tagger"
    model.save_pretrained(run_dir)
    AutoTokenizer.from_pretrained(base).save_pretrained(run_dir)
    (run_dir / "run_config.yaml").write_text(
        yaml.safe_dump({"task": "token-classification", "data": {"max_length": 6}})
    )
    run = load_run(run_dir)
    long_sentence = words * 2  # 10 words, 12 pieces ("oslo" is 2): past 6 with [CLS]/[SEP]
    logits, cut = word_logits(run, [words[:2], long_sentence], batch_size=2)
    assert [len(rows) for rows in logits] == [2, 10]
    # [CLS] the paris os ##lo [SEP]: 3 words read, 7 past the limit
    assert cut == 7
    encoded = run.processor(long_sentence[:3], is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        by_hand = run.model(**encoded).logits[0].numpy()
    np.testing.assert_allclose(logits[1][:3], by_hand[[1, 2, 3]], atol=1e-5)
    # the next window opens with "oslo" (2 pieces, half the room) as context:
    # [CLS] os ##lo went to [SEP] reads "went" and "to"
    encoded = run.processor(long_sentence[2:5], is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        second = run.model(**encoded).logits[0].numpy()
    np.testing.assert_allclose(logits[1][3:5], second[[3, 4]], atol=1e-5)
