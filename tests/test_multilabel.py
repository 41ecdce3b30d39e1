"""Multi-label classification (text-multilabel, image-multilabel): label sets load as multi-hot
vectors, the metrics agree with a count by hand, and the real CLI trains a tiny BERT and a tiny
ViT whose runs load in transformers' pipelines (sigmoid scores) and in `ftk predict` /
`ftk evaluate`, with a decision threshold tuned on validation beside 0.5."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from helpers import (
    expect_user_error,
    ftk,
    history_rows,
    make_multilabel_texts,
    write_csv,
    write_text_config,
)

from toolkit.config.taxonomy import CLASSES, LABEL_SETS
from toolkit.metrics.multilabel import label_set_scores, per_label_report, tune_threshold

# ----------------------------------------------------------------------------- metrics


def test_metrics_agree_with_a_count_by_hand():
    # labels a, b, c; four inputs
    true = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    predicted = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 0]])
    # a: tp 2; b: tp 2; c: fp 1 (row 2), fn 1 (row 1) -> micro: tp 4, fp 1, fn 1 -> 8/10
    # per label F1: a 1, b 1, c 0 -> macro 2/3; rows equal: 3 and 4 -> subset accuracy 2/4
    scores = label_set_scores(predicted, true)
    assert scores["f1_micro"] == pytest.approx(0.8)
    assert scores["f1_macro"] == pytest.approx(2 / 3)
    assert scores["subset_accuracy"] == pytest.approx(0.5)
    report = per_label_report(predicted, true, ["a", "b", "c"])
    assert report["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["a"]["support"] == 2 and report["a"]["f1"] == 1.0


def test_the_tuned_threshold_is_the_grid_point_with_the_best_micro_f1():
    # every true label scores sigmoid 0.3 to 0.4, every false one below 0.2: only a threshold
    # between 0.2 and 0.3 gets all decisions right, and 0.5 predicts nothing
    true = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    probabilities = np.where(true == 1, 0.35, 0.15)
    logits = np.log(probabilities / (1 - probabilities))
    threshold = tune_threshold(logits, true)
    assert threshold in (0.2, 0.25, 0.3)
    predicted = (probabilities > threshold).astype(int)
    assert label_set_scores(predicted, true)["f1_micro"] == 1.0
    assert label_set_scores((probabilities > 0.5).astype(int), true)["f1_micro"] == 0.0


# ----------------------------------------------------------------------------- data


def load(train_rows, tmp_path, *, suffix="jsonl", validation_rows=None, **data_keys):
    """load_data of a multi-label config over files written from rows of dicts."""
    from toolkit.config.load import config_from_raw
    from toolkit.data.load import load_data

    def write(name, rows):
        path = tmp_path / f"{name}.{suffix}"
        if suffix == "jsonl":
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        else:
            with path.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        return str(path)

    data = {"train_file": write("train", train_rows), **data_keys}
    if validation_rows is not None:
        data["validation_file"] = write("validation", validation_rows)
    config = config_from_raw({"task": "text-multilabel", "data": data}, [])
    return load_data(config.data, ["text"], seed=0, target=LABEL_SETS)


def topic_rows(n=20):
    labels = [["sport"], ["tech", "sport"], [], ["business"]]
    return [{"text": f"text {i}", "label": labels[i % 4]} for i in range(n)]


def test_list_labels_become_multi_hot_vectors_over_sorted_names(tmp_path):
    data = load(topic_rows(), tmp_path)
    assert data.label_names == ["business", "sport", "tech"]
    rows = {r["text"]: r["label"] for split in data.splits.values() for r in split}
    assert rows["text 1"] == [0.0, 1.0, 1.0]
    assert rows["text 2"] == [0.0, 0.0, 0.0]  # no label at all is allowed: the empty set
    assert "3 labels: business, sport, tech" in data.describe() and "with none" in data.describe()


def test_separated_strings_load_like_lists(tmp_path):
    rows = [{"text": r["text"], "label": " | ".join(r["label"])} for r in topic_rows()]
    as_text = load(rows, tmp_path, suffix="csv", label_separator="|")
    as_lists = load(topic_rows(), tmp_path)
    texts = sorted(as_text.splits["train"]["text"])
    assert texts == sorted(as_lists.splits["train"]["text"])
    by_text = {r["text"]: r["label"] for r in as_text.splits["train"]}
    assert all(by_text[r["text"]] == r["label"] for r in as_lists.splits["train"])


def test_a_hub_style_list_of_class_ids_is_named(tmp_path):
    import datasets

    from toolkit.config.schema import DataConfig
    from toolkit.data.label_sets import row_label_sets

    names = datasets.ClassLabel(names=["x", "y"])
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.List(names)})
    ds = datasets.Dataset.from_dict({"text": ["a", "b"], "label": [[1], [0, 1]]}, features=features)
    assert row_label_sets(ds, DataConfig(), "train") == [["y"], ["x", "y"]]


def test_a_validation_label_unseen_in_training_is_named(tmp_path):
    from toolkit.core.errors import UserError

    validation = [{"text": "v", "label": ["sport", "weather"]}]
    with pytest.raises(UserError) as caught:
        load(topic_rows(), tmp_path, validation_rows=validation)
    message = str(caught.value)
    assert "'weather'" in message and "validation" in message and "never occur" in message


def test_strings_without_a_separator_ask_for_one(tmp_path):
    from toolkit.core.errors import UserError

    rows = [{"text": "t", "label": "sport,tech"}, {"text": "u", "label": "business"}]
    with pytest.raises(UserError, match=r"data\.label_separator"):
        load(rows, tmp_path, suffix="csv")


def test_fewer_than_two_labels_is_an_error(tmp_path):
    from toolkit.core.errors import UserError

    rows = [{"text": f"t{i}", "label": ["sport"] if i % 2 else []} for i in range(10)]
    with pytest.raises(UserError, match="at least two"):
        load(rows, tmp_path)


def test_a_single_label_task_given_lists_points_at_the_multilabel_task(tmp_path, capsys):
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in topic_rows()))
    err = expect_user_error(
        ["baseline", "--data.train_file", str(path), "--output_dir", str(tmp_path / "o")], capsys
    )
    assert "holds lists" in err and "task: text-multilabel" in err


MIXUP = ["--augment.mixup", "0.2"]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--task", "text-multilabel", "--metrics", "[accuracy]"], "use f1_micro, f1_macro"),
        (["--data.label_separator", ","], "takes one label per row"),
        (
            ["--task", "image-multilabel", "--model.from_config", "{model_type: vit}", *MIXUP],
            "predicts a set of labels",
        ),
    ],
)
def test_settings_that_do_not_fit_are_refused(capsys, args, expected):
    err = expect_user_error(["train", "--print-config", *args], capsys)
    assert expected in err


def test_balanced_positive_weights_are_negatives_over_positives():
    from toolkit.training.class_weights import positive_weight_vector

    # label a: 1 of 4 rows (3 negatives), b: 2 of 4, c: every row (no negatives: weight 1)
    labels = [[1, 0, 1], [0, 1, 1], [0, 1, 1], [0, 0, 1]]
    weights = positive_weight_vector("balanced", ["a", "b", "c"], labels)
    assert weights.tolist() == [3.0, 1.0, 1.0]
    assert positive_weight_vector({"b": 5.0}, ["a", "b", "c"], labels).tolist() == [1, 5, 1]


def test_weighted_multilabel_loss_is_bce_with_pos_weight():
    """ToolkitTrainer.compute_loss on a multi-label head with class weights: torch's BCE with
    pos_weight, never the soft-label cross-entropy that 2-D float labels would otherwise get."""
    from types import SimpleNamespace

    import torch

    from toolkit.training.trainer import ToolkitTrainer

    logits = torch.tensor([[2.0, -1.0], [0.5, 0.0]])
    labels = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    weights = torch.tensor([1.0, 4.0])
    config = SimpleNamespace(problem_type="multi_label_classification")
    trainer = SimpleNamespace(model=SimpleNamespace(config=config), class_weights=weights)

    def model(**inputs):
        return {"logits": logits}

    loss = ToolkitTrainer.compute_loss(trainer, model, {"input_ids": None, "labels": labels})
    p = torch.sigmoid(logits)
    by_hand = -(weights * labels * torch.log(p) + (1 - labels) * torch.log(1 - p)).mean()
    assert float(loss) == pytest.approx(float(by_hand), rel=1e-6)


def test_a_comma_is_a_command_line_value():
    from toolkit.config.load import parse_overrides

    assert parse_overrides(["--data.label_separator", ","]) == [("data.label_separator", ",")]
    assert parse_overrides(["--data.label_separator", "|"]) == [("data.label_separator", "|")]


# ----------------------------------------------------------------------------- end to end


def label_sets(path):
    return [
        set(filter(None, (row["label"] or "").split(","))) for row in csv.DictReader(path.open())
    ]


def by_hand(predicted, true, names):
    """F1 micro/macro and subset accuracy counted over Python sets."""
    counts = {n: [0, 0, 0] for n in names}  # tp, fp, fn
    for p, t in zip(predicted, true, strict=True):
        for n in names:
            counts[n][0] += n in p and n in t
            counts[n][1] += n in p and n not in t
            counts[n][2] += n not in p and n in t

    def f1(tp, fp, fn):
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0

    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {
        "f1_micro": f1(*total),
        "f1_macro": sum(f1(*c) for c in counts.values()) / len(names),
        "subset_accuracy": sum(p == t for p, t in zip(predicted, true, strict=True)) / len(true),
    }


@pytest.fixture(scope="module")
def text_run(tiny_bert, tmp_path_factory):
    folder = tmp_path_factory.mktemp("multilabel")
    data = {
        "train": write_csv(folder / "train.csv", make_multilabel_texts(160, seed=1)),
        "test": write_csv(folder / "test.csv", make_multilabel_texts(48, seed=2)),
    }
    run_dir = folder / "run"
    config = write_text_config(
        folder / "tiny.yaml", tiny_bert, data, run_dir, task="text-multilabel"
    )
    args = ["train", "--config", config, "--data.label_separator", ",", "--num_train_epochs", 10]
    result = ftk(*args, "--early_stopping.patience", "null", timeout=900)
    return run_dir, data, result


def metrics_of(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def predictions(run_dir, test, tmp_path, *extra):
    from toolkit.cli import main

    out = tmp_path / "predictions.jsonl"
    args = ["predict", str(run_dir), "--input", str(test), "--output", str(out), *extra]
    assert main(args) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.mark.e2e
def test_loss_falls_and_the_data_line_counts_label_sets(text_run):
    run_dir, _, result = text_run
    losses = [r["loss"] for r in history_rows(run_dir, "train")]
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10]), (losses[:10], losses[-10:])
    assert "3 labels: business, sport, tech" in result.stdout
    config = json.loads((run_dir / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification"
    assert config["decision_threshold"] == metrics_of(run_dir)["eval_threshold_tuned"]


@pytest.mark.e2e
def test_test_metrics_equal_a_count_on_ftk_predicts_labels(text_run, tmp_path):
    run_dir, data, _ = text_run
    metrics = metrics_of(run_dir)
    names = ["business", "sport", "tech"]
    true = label_sets(data["test"])
    at_half = predictions(run_dir, data["test"], tmp_path, "--threshold", "0.5")
    assert {r["threshold"] for r in at_half} == {0.5}
    for name, value in by_hand([set(r["pred_labels"]) for r in at_half], true, names).items():
        assert metrics[f"test_{name}"] == pytest.approx(value, abs=1e-6), name
    tuned = predictions(run_dir, data["test"], tmp_path)  # the run's own threshold
    assert {r["threshold"] for r in tuned} == {metrics["eval_threshold_tuned"]}
    for name, value in by_hand([set(r["pred_labels"]) for r in tuned], true, names).items():
        assert metrics[f"test_{name}_tuned"] == pytest.approx(value, abs=1e-6), name
    per_label = metrics["test_per_label"]
    assert per_label["sport"]["support"] == sum("sport" in t for t in true)


@pytest.mark.e2e
def test_the_pipeline_gives_sigmoid_scores_ftk_predict_gives(text_run, tmp_path):
    from transformers import pipeline

    run_dir, data, _ = text_run
    rows = predictions(run_dir, data["test"], tmp_path, "--threshold", "0.05")
    tagger = pipeline("text-classification", model=str(run_dir), top_k=None)
    outputs = tagger([r["text"] for r in rows[:8]])
    for row, scored in zip(rows, outputs, strict=False):
        scores = {o["label"]: o["score"] for o in scored}
        assert len(scores) == 3  # every label, each its own sigmoid: they need not sum to 1
        for label, score in zip(row["pred_labels"], row["pred_scores"], strict=True):
            assert scores[label] == pytest.approx(score, abs=1e-5)
        assert sorted(row["pred_labels"]) == sorted(k for k, v in scores.items() if v > 0.05)


@pytest.mark.e2e
def test_evaluate_reproduces_the_tuned_test_metrics(text_run, tmp_path):
    from toolkit.cli import main

    run_dir, data, _ = text_run
    out = tmp_path / "eval.json"
    args = ["evaluate", str(run_dir), "--data", str(data["test"]), "--output", str(out)]
    assert main(args) == 0
    results = json.loads(out.read_text())
    metrics = metrics_of(run_dir)
    assert results["threshold"] == metrics["eval_threshold_tuned"]
    for name in ("f1_micro", "f1_macro", "subset_accuracy"):
        assert results[name] == pytest.approx(metrics[f"test_{name}_tuned"], abs=1e-6), name
    assert results["loss"] == pytest.approx(metrics["test_loss"], rel=1e-4)


@pytest.mark.e2e
def test_baselines_report_and_card(text_run):
    run_dir, _, _ = text_run
    baselines = json.loads((run_dir / "baseline.json").read_text())
    assert [b["name"] for b in baselines["baselines"]] == ["most_frequent_set", "tfidf_ovr_logreg"]
    report = (run_dir / "report.md").read_text()
    assert "## Per label (test split)" in report and "| sport |" in report
    assert "tuned on validation" in report
    card = (run_dir / "README.md").read_text()
    assert "top_k=None" in card and "any number per input" in card


@pytest.mark.e2e
def test_predict_refuses_top_k_and_a_threshold_out_of_range(text_run, capsys):
    run_dir, _, _ = text_run
    err = expect_user_error(["predict", str(run_dir), "--text", "goal", "--top-k", "2"], capsys)
    assert "--threshold" in err and "multi-label" in err
    err = expect_user_error(
        ["predict", str(run_dir), "--text", "goal", "--threshold", "1.5"], capsys
    )
    assert "between 0 and 1" in err


def test_a_threshold_is_refused_for_a_single_label_run(tmp_path):
    from types import SimpleNamespace

    from toolkit.core.errors import UserError
    from toolkit.use.predict import check_threshold

    single_label = SimpleNamespace(path=tmp_path, target=SimpleNamespace(kind=CLASSES))
    with pytest.raises(UserError, match="no decision threshold"):
        check_threshold(single_label, 0.3, 1)


def write_colour_images(root, n, seed):
    """16x16 images with a red block top-left and/or a blue block bottom-right (or neither);
    labels.csv lists each file with its colours joined by '|'."""
    import random

    from PIL import Image

    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        pixels = np.full((16, 16, 3), 30, dtype=np.uint8)
        colours = [c for c in ("red", "blue") if rng.random() < 0.5]
        if "red" in colours:
            pixels[:8, :8] = (230, 30, 30)
        if "blue" in colours:
            pixels[8:, 8:] = (30, 30, 230)
        Image.fromarray(pixels).save(root / f"{i}.png")
        rows.append((f"{i}.png", "|".join(colours)))
    return write_csv(root / "labels.csv", rows, header=("file", "label"))


@pytest.mark.e2e
def test_image_multilabel_end_to_end(tmp_path):
    """A ViT built from sizes learns which colour blocks an image holds, with balanced
    positive-label weights; the pipeline's sigmoid scores are ftk predict's, and the baselines
    are the label-set ones."""
    from helpers import TINY_VIT_SIZES, write_image_config
    from transformers import pipeline

    train = write_colour_images(tmp_path / "train", 80, seed=1)
    test = write_colour_images(tmp_path / "test", 24, seed=2)
    run_dir = tmp_path / "run"
    config = write_image_config(
        tmp_path / "vit.yaml",
        json.dumps({"from_config": TINY_VIT_SIZES}),
        f"{{train_file: '{train}', test_file: '{test}', image_column: file, label_separator: '|'}}",
        run_dir,
        task="image-multilabel",
        num_train_epochs=6,
        dataloader_num_workers=0,
        class_weights="balanced",
    )
    result = ftk("train", "--config", config)
    metrics = metrics_of(run_dir)
    losses = [r["loss"] for r in history_rows(run_dir, "train")]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    # balanced class weights: each label's negatives / positives in the training split
    from toolkit.config.load import load_config
    from toolkit.run.stages import load_labelled_data
    from toolkit.tasks import get_task

    config = load_config(run_dir / "run_config.yaml")
    train = np.array(load_labelled_data(config, get_task(config.task)).splits["train"]["label"])
    expected = (len(train) - train.sum(axis=0)) / train.sum(axis=0)  # blue, red
    assert f"Positive-label weights in the loss: blue {expected[0]:.3g}, red {expected[1]:.3g}" in (
        result.stdout
    )
    assert {"test_f1_micro", "test_f1_macro", "test_subset_accuracy"} <= set(metrics)
    baselines = json.loads((run_dir / "baseline.json").read_text())
    assert [b["name"] for b in baselines["baselines"]] == ["most_frequent_set", "pixel_ovr_logreg"]
    predicted = predictions(run_dir, test.parent / "0.png", tmp_path, "--threshold", "0.01")
    tagger = pipeline("image-classification", model=str(run_dir), top_k=None)
    scores = {o["label"]: o["score"] for o in tagger(str(test.parent / "0.png"))}
    assert set(scores) == {"blue", "red"}
    for label, score in zip(predicted[0]["pred_labels"], predicted[0]["pred_scores"], strict=True):
        assert scores[label] == pytest.approx(score, abs=1e-4)
