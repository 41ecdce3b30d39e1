"""`ftk baseline` then `ftk train` into the same run directory: baselines reused, verdict,
report.md with its PNGs naming the best epoch that history.jsonl shows."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from helpers import ftk, history_rows, make_texts, write_csv, write_text_config


@pytest.fixture(scope="module")
def run(tiny_bert, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    data = {
        "train": write_csv(folder / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(10, seed=2)),
    }
    run_dir = folder / "run"
    config = write_text_config(folder / "tiny.yaml", tiny_bert, data, run_dir)
    baseline = ftk("baseline", "--config", str(config))
    first_baseline = json.loads((run_dir / "baseline.json").read_text())
    trained = ftk(
        "train",
        "--config",
        str(config),
        "--num_train_epochs",
        "5",
        "--early_stopping.patience",
        "null",
    )
    return run_dir, config, baseline, trained, first_baseline


@pytest.mark.e2e
def test_baseline_command_writes_scores_on_the_run_splits(run):
    _run_dir, _, baseline, _, first = run
    assert [b["name"] for b in first["baselines"]] == ["majority", "tfidf_logreg"]
    assert first["split_sizes"] == {"train": 81, "validation": 9, "test": 30}  # same as train's
    tfidf = first["baselines"][1]
    assert set(tfidf["test"]) == {"accuracy", "f1_macro"} and tfidf["test"]["accuracy"] > 0.9
    assert first["best"] == "tfidf_logreg" and tfidf["fit_s"] > 0
    assert "tfidf_logreg" in baseline.stdout and "baseline.json" in baseline.stdout


@pytest.mark.e2e
def test_train_reuses_the_baselines_and_ends_with_a_verdict(run):
    run_dir, _, _, trained, first = run
    assert "Baselines: reusing" in trained.stdout
    assert json.loads((run_dir / "baseline.json").read_text()) == first
    metrics = json.loads((run_dir / "metrics.json").read_text())
    verdict = metrics["verdict"]
    assert verdict["baseline"] == "tfidf_logreg"
    assert verdict["transformer_test"] == metrics["test_accuracy"]
    assert verdict["gain_points"] == pytest.approx(
        100 * (metrics["test_accuracy"] - first["baselines"][1]["test"]["accuracy"]), abs=0.01
    )
    assert verdict["transformer_train_s"] == metrics["train_runtime"]
    assert f"Verdict: {verdict['text']}" in trained.stdout
    assert "Data size: 81 labelled training examples" in trained.stdout


def scores(baselines: dict) -> list:
    """What a baseline.json says about the models, without its wall-clock times."""
    return [{k: v for k, v in b.items() if not k.endswith("_s")} for b in baselines["baselines"]]


@pytest.mark.e2e
def test_baselines_fitted_in_a_side_process_score_the_same(run, tmp_path):
    """baseline.background: true (the default on a GPU) fits them beside training."""
    _, config, _, _, first = run
    run_dir = tmp_path / "beside"
    trained = ftk(
        "train",
        "--config",
        str(config),
        "--output_dir",
        str(run_dir),
        "--baseline.background",
        "true",
        "--num_train_epochs",
        "1",
    )
    assert "Baselines: fitting the cheap models in a side process" in trained.stdout
    beside = json.loads((run_dir / "baseline.json").read_text())
    assert scores(beside) == scores(first) and beside["fingerprint"] == first["fingerprint"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["verdict"]["baseline"] == "tfidf_logreg"
    assert "| tfidf_logreg (best on validation) |" in (run_dir / "report.md").read_text()


def cpu_split_data(tmp_path):
    from datasets import Dataset, DatasetDict

    from toolkit.config.load import load_config
    from toolkit.data.load import LoadedData

    config = load_config(None, ["--output_dir", str(tmp_path)])
    texts = [t for t, _ in make_texts(6, seed=3)]
    split = Dataset.from_dict({"text": texts, "label": [i % 3 for i in range(len(texts))]})
    data = LoadedData(DatasetDict(train=split, validation=split), ["a", "b", "c"], "label")
    return config, data


@pytest.mark.e2e
def test_a_baseline_failing_in_its_side_process_is_a_warning_not_a_lost_run(tmp_path):
    from toolkit.advice.baselines.fit import fit_in_side_process
    from toolkit.core.log import WARNINGS, reset_warnings

    config, data = cpu_split_data(tmp_path)
    config = dataclasses.replace(config, task="no-such-task")  # run_baselines raises on it
    reset_warnings()
    assert fit_in_side_process(config, data)() is None
    (warning,) = WARNINGS
    assert (
        "The baselines failed in their side process (NotImplementedError: no baselines for "
        "task no-such-task)"
        in warning
        and "`ftk baseline`" in warning
    )


def test_on_a_cpu_the_baselines_are_fitted_when_collected_after_training(tmp_path, monkeypatch):
    from toolkit.advice.baselines import fit

    config, data = cpu_split_data(tmp_path)
    fitted = []
    monkeypatch.setattr(fit, "run_baselines", lambda *args: fitted.append(args) or "baselines")
    monkeypatch.setattr(fit, "describe_baselines", str)
    collect = fit.start_baselines_for_run(config, data, tmp_path, on_gpu=False)
    assert fitted == [], "nothing is fitted before the model trains"
    assert collect() == "baselines" and len(fitted) == 1
    at_once = dataclasses.replace(config.baseline, background=False)
    first = dataclasses.replace(config, baseline=at_once)
    fit.start_baselines_for_run(first, data, tmp_path, on_gpu=False)
    assert len(fitted) == 2, "`baseline.background: false` fits them at once"


def test_a_baseline_failing_after_training_is_a_warning_not_a_lost_run(tmp_path):
    from toolkit.advice.baselines.fit import start_baselines_for_run
    from toolkit.core.log import WARNINGS, reset_warnings

    config, data = cpu_split_data(tmp_path)
    config = dataclasses.replace(config, task="no-such-task")  # run_baselines raises on it
    reset_warnings()
    assert start_baselines_for_run(config, data, tmp_path, on_gpu=False)() is None
    (warning,) = WARNINGS
    assert "The baselines failed (NotImplementedError: no baselines for task no-such" in warning


@pytest.mark.e2e
def test_report_and_pngs_name_the_best_epoch_of_the_history(run):
    run_dir, _, _, _, _ = run
    for png in ("learning_curves.png", "confusion_matrix.png", "class_balance.png"):
        assert (run_dir / png).read_bytes()[:4] == b"\x89PNG", png
    evals = history_rows(run_dir, "eval")[:-1]  # the last one re-scores the kept model
    # the best accuracy, the lower validation loss on a tie (training/best_epoch.py)
    best = max(evals, key=lambda r: (r["eval_accuracy"], -r["eval_loss"]))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["overfitting"]["best_epoch"] == best["epoch"]
    assert metrics["best_checkpoint_step"] == best["step"]  # what the Trainer kept
    report = (run_dir / "report.md").read_text()
    assert f"Best epoch: **{best['epoch']:g}** (step {best['step']})" in report
    for heading in (
        "## Data",
        "## Schedule",
        "## Training",
        "## Confusion matrix (test split)",
        "## Baselines vs transformer",
        "## Warnings",
    ):
        assert heading in report
    assert metrics["verdict"]["text"] in report
    assert "| **transformer** |" in report and "| tfidf_logreg (best on validation) |" in report
    assert "class 'business' has only 27 labelled training examples" in report  # a warning
    assert "words median" in report and "tokens median" in report
    assert sum(map(sum, metrics["test_confusion_matrix"])) == 30
    assert "[report.md](report.md)" in (run_dir / "README.md").read_text()


@pytest.mark.e2e
def test_baseline_on_a_finished_run_touches_only_baseline_json(run):
    run_dir, config, _, _, _ = run
    before = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.is_file()}
    ftk("baseline", "--config", str(config), "--baseline.cnn_epochs", "3")
    after = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir() if p.is_file()}
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"baseline.json"}
    refused = ftk("train", "--config", config, check=False)  # a finished run is still protected
    assert refused.returncode == 2 and "already holds files" in refused.stderr


@pytest.mark.e2e
def test_bad_baseline_config_is_a_clear_error(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("baseline: {enabled: maybe}\n")
    result = ftk("baseline", "--config", config, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'baseline.enabled' must be true or false" in result.stderr
    config.write_text("baseline: {background: sometimes}\n")
    result = ftk("baseline", "--config", config, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'baseline.background' must be true or false or null" in result.stderr
    config.write_text("overfitting: {patience: 0}\n")
    result = ftk("baseline", "--config", config, check=False)
    assert result.returncode == 2 and "'overfitting.patience' must be >= 1, got 0" in result.stderr


@pytest.mark.e2e
def test_the_diagnosis_lands_in_metrics_report_card_and_console(run):
    from toolkit.advice.findings import RunFacts, diagnose_run

    run_dir, _, _, trained, _ = run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    rows = history_rows(run_dir)
    assert rows[-1]["kind"] == "eval" and rows[-1]["after_training"]  # the kept model again
    training = rows[:-1]
    facts = RunFacts(
        metric="accuracy",
        greater_is_better=True,
        train_counts={"business": 27, "sport": 27, "tech": 27},
        validation_counts={"business": 3, "sport": 3, "tech": 3},
        validation_size=9,
        num_train_epochs=5,
        learning_rate=5e-3,
        validation_fraction=0.1,
        prior_loss=math.log(3),  # three even classes, no class weights: ln 3
        prior_knows="the class frequencies",
        output_dir=str(run_dir),
        metrics=["accuracy", "f1_macro"],
        train_seconds=metrics["train_runtime"],  # sizes the noisy selection's search budget
    )
    expected = [f.to_dict() for f in diagnose_run(training, facts)]
    assert metrics["diagnosis"] == expected  # the rules on the run's own recorded history
    rules = [f["rule"] for f in expected]
    assert "noisy_selection" in rules  # 9 validation examples: one is worth 11.1 points
    noisy = next(f for f in expected if f["rule"] == "noisy_selection")
    assert "9 validation examples, so one example is worth 11.1 points" in noisy["text"]
    assert noisy["command"].startswith(f"ftk search --config {run_dir / 'run_config.yaml'}")
    assert f"`{noisy['command']}`" in noisy["text"]
    report = (run_dir / "report.md").read_text()
    card = (run_dir / "README.md").read_text()
    assert "## Diagnosis" in report and "**Diagnosis:**" in card
    for finding in expected:
        assert f"- {finding['text']}" in report and f"- {finding['text']}" in card
        assert f"  - {finding['text']}" in trained.stdout


@pytest.mark.e2e
def test_the_verdict_measures_its_noise_on_the_test_split(run):
    run_dir, _, _, trained, first = run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    verdict = metrics["verdict"]
    tfidf = first["baselines"][1]
    assert len(tfidf["test_predictions"]) == 30 and tfidf["chosen"].startswith("C=")
    assert verdict["test_examples"] == 30 and verdict["metric"] == "accuracy"
    low, high = verdict["interval"]
    assert low <= verdict["gain_points"] <= high
    assert [c["metric"] for c in verdict["comparisons"]] == ["accuracy", "f1_macro"]
    assert "on 30 test examples the 95% interval of the transformer's gain is" in verdict["text"]
    assert "Decided on accuracy, the first of `metrics`; also on test: f1_macro" in verdict["text"]
    assert "kept on validation: C=" in trained.stdout or "Baselines: reusing" in trained.stdout


@pytest.mark.e2e
def test_uneven_classes_put_macro_f1_first_unless_metrics_was_set(tiny_bert, tmp_path):
    rows = make_texts(60, seed=3)
    by_label: dict[str, int] = {}
    uneven = []
    for text, label in rows:  # 60 / 15 / 6 texts: the first class holds 74%
        by_label[label] = by_label.get(label, 0) + 1
        limit = {"business": 60, "sport": 15}.get(label, 6)
        if by_label[label] <= limit:
            uneven.append((text, label))
    data = {
        "train": write_csv(tmp_path / "train.csv", uneven),
        "test": write_csv(tmp_path / "test.csv", make_texts(5, seed=4)),
    }
    default = write_text_config(tmp_path / "d.yaml", tiny_bert, data, tmp_path / "d")
    result = ftk("baseline", "--config", str(default))
    assert "f1_macro moved first: the classes are uneven and `metrics` was not set" in result.stdout
    saved = json.loads((tmp_path / "d" / "baseline.json").read_text())
    assert saved["metrics"] == ["f1_macro", "accuracy"]
    assert "class_weight=" in saved["baselines"][1]["chosen"]
    trained = ftk("train", "--config", str(default), "--num_train_epochs", "2")
    assert "Baselines: reusing" in trained.stdout  # the same order, the same fingerprint
    metrics = json.loads((tmp_path / "d" / "metrics.json").read_text())
    assert metrics["overfitting"]["metric"] == "f1_macro"  # it picked the best epoch
    assert metrics["verdict"]["metric"] == "f1_macro"
    (imbalance,) = [f for f in metrics["diagnosis"] if f["rule"] == "imbalance"]
    assert "(ftk moved it first because `metrics` was not set)" in imbalance["text"]
    chosen = write_text_config(
        tmp_path / "c.yaml", tiny_bert, data, tmp_path / "c", metrics="[accuracy, f1_macro]"
    )
    result = ftk("baseline", "--config", str(chosen))
    assert result.returncode == 0 and "moved first" not in result.stdout
    kept = json.loads((tmp_path / "c" / "baseline.json").read_text())
    assert kept["metrics"] == ["accuracy", "f1_macro"]
