"""text-regression end to end through the real CLI: a tiny BERT learns a count of words, and
every number the run reports is checked against numpy/scipy on the run's own predictions."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import ftk, history_rows, make_regression_texts, write_csv, write_text_config
from scipy import stats

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def regression_run(tiny_bert, tmp_path_factory):
    folder = tmp_path_factory.mktemp("regression")
    data = {
        "train": write_csv(folder / "train.csv", make_regression_texts(120, seed=1)),
        "test": write_csv(folder / "test.csv", make_regression_texts(40, seed=2)),
    }
    run_dir = folder / "run"
    config = write_text_config(
        folder / "tiny.yaml", tiny_bert, data, run_dir, task="text-regression"
    )
    result = ftk("train", "--config", config, "--early_stopping.patience", "null")
    return run_dir, data, result


def metrics_of(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def targets(path):
    return np.array([float(row["label"]) for row in csv.DictReader(path.open())])


def by_hand(predicted, true):
    errors = np.asarray(predicted) - np.asarray(true)
    return {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
        "pearson": float(stats.pearsonr(predicted, true)[0]),
        "spearman": float(stats.spearmanr(predicted, true)[0]),
    }


@pytest.fixture(scope="module")
def predicted(regression_run):
    """`ftk predict` on the test file: one value per row, in order."""
    from toolkit.cli import main

    run_dir, data, _ = regression_run
    out = run_dir.parent / "predictions.csv"
    assert main(["predict", str(run_dir), "--input", str(data["test"]), "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["text", "label", "pred_value"]
    return np.array([float(r["pred_value"]) for r in rows])


def test_training_loss_falls_and_the_count_is_learnt(regression_run):
    run_dir, _, result = regression_run
    losses = [r["loss"] for r in history_rows(run_dir, "train")]
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last < 0.3 * first, (first, last)
    assert metrics_of(run_dir)["test_pearson"] > 0.7
    assert "numeric target 'label'" in result.stdout


def test_test_metrics_equal_numpy_on_the_runs_own_predictions(regression_run, predicted):
    run_dir, data, _ = regression_run
    metrics = metrics_of(run_dir)
    true = targets(data["test"])
    saved = metrics["test_predictions"]
    assert saved["true"] == pytest.approx(list(true))
    assert saved["predicted"] == pytest.approx(list(predicted), abs=1e-5)
    for name, value in by_hand(predicted, true).items():
        assert metrics[f"test_{name}"] == pytest.approx(value, abs=1e-5), name
    # the loss is the MSE of the one output (problem_type: regression)
    assert metrics["test_loss"] == pytest.approx(metrics["test_rmse"] ** 2, rel=1e-4)


def test_best_epoch_is_the_lowest_validation_rmse(regression_run):
    run_dir, _, _ = regression_run
    metrics = metrics_of(run_dir)
    rows = history_rows(run_dir)
    evals = {r["step"]: r for r in rows if r["kind"] == "eval" and not r.get("after_training")}
    best_step = min(evals, key=lambda step: evals[step]["eval_rmse"])
    assert metrics["best_checkpoint_step"] == best_step
    # the final scores are recomputed in fp32; evaluations during bf16 training ran in bf16
    tolerance = 1e-6 if metrics["mixed_precision"] == "no" else 2e-2
    assert metrics["eval_rmse"] == pytest.approx(evals[best_step]["eval_rmse"], rel=tolerance)
    assert metrics["overfitting"]["best_step"] == best_step
    assert metrics["overfitting"]["gap_unit"] == "rmse"


def test_pipeline_gives_the_values_ftk_predict_gives(regression_run, predicted):
    from transformers import pipeline

    run_dir, data, _ = regression_run
    texts = [row["text"] for row in csv.DictReader(data["test"].open())]
    regressor = pipeline("text-classification", model=str(run_dir), function_to_apply="none")
    outputs = regressor(texts)
    assert {o["label"] for o in outputs} == {"label"}  # the head is named after the column
    assert [o["score"] for o in outputs] == pytest.approx(list(predicted), abs=1e-5)
    # problem_type: regression makes the raw value the pipeline's default, too
    plain = pipeline("text-classification", model=str(run_dir))(texts[:3])
    assert [o["score"] for o in plain] == pytest.approx(list(predicted[:3]), abs=1e-5)


def test_baselines_ran_and_the_mean_predictor_is_the_train_mean(regression_run):
    from toolkit.config.load import load_config
    from toolkit.run.stages import load_labelled_data
    from toolkit.tasks import get_task

    run_dir, data, _ = regression_run
    saved = json.loads((run_dir / "baseline.json").read_text())
    scores = {b["name"]: b for b in saved["baselines"]}
    assert set(scores) == {"mean", "tfidf_ridge"}
    config = load_config(run_dir / "run_config.yaml")
    train = np.array(load_labelled_data(config, get_task(config.task)).splits["train"]["label"])
    assert len(train) == 108  # 120 rows less a 10% validation hold-out
    true = targets(data["test"])
    mean = float(np.mean(train.astype(np.float64)))
    assert scores["mean"]["test"]["rmse"] == pytest.approx(
        float(np.sqrt(np.mean((true - mean) ** 2))), rel=1e-6
    )
    assert scores["mean"]["test"]["mae"] == pytest.approx(float(np.mean(np.abs(true - mean))))
    assert scores["mean"]["test"]["pearson"] == 0.0  # constant: no order explained
    # the best baseline is the lowest validation rmse, and the verdict reads rmse downwards
    best = min(scores.values(), key=lambda b: b["validation"]["rmse"])
    assert saved["best"] == best["name"]
    verdict = metrics_of(run_dir)["verdict"]
    expected = 100 * (best["test"]["rmse"] - verdict["transformer_test"]) / best["test"]["rmse"]
    assert verdict["gain_unit"] == "%"
    assert verdict["gain_points"] == pytest.approx(expected, abs=0.01)


def test_report_draws_predicted_vs_true_and_the_card_describes_a_regressor(regression_run):
    run_dir, _, _ = regression_run
    for png in ("predicted_vs_true.png", "target_distribution.png", "learning_curves.png"):
        assert (run_dir / png).stat().st_size > 1000, png
    assert not (run_dir / "confusion_matrix.png").exists()
    report = (run_dir / "report.md").read_text()
    assert "![predicted vs true](predicted_vs_true.png)" in report
    card = (run_dir / "README.md").read_text()
    assert "pipeline_tag: text-classification" in card
    assert "- type: mse" in card and "squared: false" in card and "name: rmse" in card
    assert "| rmse |" in card and "| spearman |" in card and "| accuracy |" not in card
    assert 'function_to_apply="none"' in card
    config = json.loads((run_dir / "config.json").read_text())
    assert config["problem_type"] == "regression" and config["id2label"] == {"0": "label"}


def test_evaluate_reproduces_the_test_metrics(regression_run, tmp_path):
    from toolkit.cli import main

    run_dir, data, _ = regression_run
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(run_dir), "--data", str(data["test"]), "--output", str(out)]) == 0
    results = json.loads(out.read_text())
    metrics = metrics_of(run_dir)
    for name in ("loss", "rmse", "mae", "pearson", "spearman"):
        assert results[name] == pytest.approx(metrics[f"test_{name}"], abs=1e-5), name
    assert "per_class" not in results


def test_evaluate_refuses_targets_that_are_not_numbers(regression_run, tmp_path, capsys):
    from helpers import expect_user_error

    run_dir, _, _ = regression_run
    bad = write_csv(tmp_path / "bad.csv", [("goal match", "1.5"), ("bank", "high")])
    err = expect_user_error(["evaluate", str(run_dir), "--data", str(bad)], capsys)
    assert "'label'" in err and "bad.csv" in err and "not numbers" in err and "'high'" in err


def test_predict_refuses_top_k_for_a_regressor(regression_run, capsys):
    from helpers import expect_user_error

    run_dir, _, _ = regression_run
    err = expect_user_error(["predict", str(run_dir), "--text", "goal", "--top-k", "2"], capsys)
    assert "one number per input" in err


def test_image_regression_end_to_end(tmp_path):
    """image-regression: a ViT built from sizes learns the side of a square; the run's test
    metrics equal numpy on its saved predictions, the baselines are the mean and pixel ridge,
    and the pipeline (function_to_apply none) gives the values back."""
    from helpers import TINY_VIT_SIZES, make_square_images, write_image_config
    from transformers import pipeline

    train = make_square_images(tmp_path / "train", 60, seed=1)
    test = make_square_images(tmp_path / "test", 20, seed=2)
    run_dir = tmp_path / "run"
    config = write_image_config(
        tmp_path / "vit.yaml",
        json.dumps({"from_config": TINY_VIT_SIZES}),
        f"{{train_file: '{train}', test_file: '{test}', image_column: file}}",
        run_dir,
        task="image-regression",
        num_train_epochs=4,
        dataloader_num_workers=0,
    )
    ftk("train", "--config", config)
    metrics = metrics_of(run_dir)
    saved = metrics["test_predictions"]
    assert saved["true"] == pytest.approx(list(targets(test)), abs=1e-6)
    for name, value in by_hand(saved["predicted"], saved["true"]).items():
        assert metrics[f"test_{name}"] == pytest.approx(value, abs=1e-5), name
    losses = [r["loss"] for r in history_rows(run_dir, "train")]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    baselines = json.loads((run_dir / "baseline.json").read_text())
    assert [b["name"] for b in baselines["baselines"]] == ["mean", "pixel_ridge"]
    assert (run_dir / "predicted_vs_true.png").is_file()
    regressor = pipeline("image-classification", model=str(run_dir), function_to_apply="none")
    outputs = regressor([str(test.parent / "0.png"), str(test.parent / "1.png")])
    assert [o[0]["score"] for o in outputs] == pytest.approx(saved["predicted"][:2], abs=1e-4)


def test_vader_recipe_and_its_data_script(tmp_path):
    """The recipe loads as a regression recipe; the converter reads the sdist's layout (a
    tar.gz inside the tar.gz) into text,sentiment rows."""
    import io
    import tarfile
    from pathlib import Path

    from toolkit.config.load import load_config

    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "configs" / "text-regression-vader-minilm.yaml")
    assert config.task == "text-regression" and config.data.label_column == "sentiment"
    assert config.metrics[0] == "rmse"

    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as archive:
        for name in ("movieReview", "amazonReview", "nytEditorial"):
            lines = f"1\t2.25\t{name} is great\r\n2\t-1.5\tso bad\r\n".encode()
            info = tarfile.TarInfo(f"hutto_ICWSM_2014/{name}Snippets_GroundTruth.txt")
            info.size = len(lines)
            archive.addfile(info, io.BytesIO(lines))
        lines = b"1\t0.5\tok tweet\n"
        info = tarfile.TarInfo("hutto_ICWSM_2014/tweets_GroundTruth.txt")
        info.size = len(lines)
        archive.addfile(info, io.BytesIO(lines))
    sdist = tmp_path / "vaderSentiment-3.3.2.tar.gz"
    with tarfile.open(sdist, "w:gz") as outer:
        info = tarfile.TarInfo("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz")
        info.size = len(inner.getvalue())
        outer.addfile(info, io.BytesIO(inner.getvalue()))
    script = root / "benchmarks" / "vader_snippets.py"
    done = subprocess.run(
        [sys.executable, str(script), str(sdist), str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader((tmp_path / "out" / "movie_snippets.csv").open()))
    assert rows == [
        {"text": "movieReview is great", "sentiment": "2.25"},
        {"text": "so bad", "sentiment": "-1.5"},
    ]
