"""The verdict is a pure function of the numbers: both directions, the bands, the cost words."""

from __future__ import annotations

import pytest

from toolkit.advice.baselines.candidate import Baselines, BaselineScore
from toolkit.advice.verdict import CLEAR_POINTS, CLOSE_POINTS, verdict, verdict_for_run


def test_baseline_within_noise_says_transformer_may_not_be_worth_it():
    v = verdict("accuracy", "tfidf_logreg", 0.950, 0.954, baseline_seconds=6.0, model_seconds=360.0)
    assert v.gain_points == pytest.approx(0.4)
    assert v.time_ratio == pytest.approx(60.0)
    assert v.text == (
        "The baseline (tfidf_logreg) is within 0.4 points on test accuracy, at "
        "1/60 of the training time; a transformer may not be worth it here."
    )


def test_baseline_slightly_ahead_says_so():
    # The measured BBC case: TF-IDF 97.89%, MiniLM 97.18% on test.
    v = verdict(
        "accuracy", "tfidf_logreg", 0.9789, 0.9718, baseline_seconds=22.7, model_seconds=490.4
    )
    assert v.text == (
        "The baseline (tfidf_logreg) is 0.7 points better on test accuracy "
        "(within noise), at 1/22 of the training time; a transformer may not "
        "be worth it here."
    )


def test_clear_transformer_win_says_it_earns_its_cost():
    v = verdict("accuracy", "tfidf_logreg", 0.850, 0.911, baseline_seconds=8.0, model_seconds=360.0)
    assert v.gain_points == pytest.approx(6.1)
    assert v.text.startswith(
        "The transformer is 6.1 points better on test accuracy than the "
        "baseline (tfidf_logreg), at 45x the training time"
    )
    assert "earns its cost" in v.text


def test_baseline_better_says_use_the_baseline():
    v = verdict("f1_macro", "majority", 0.80, 0.70, baseline_seconds=1.0, model_seconds=100.0)
    assert v.gain_points == pytest.approx(-10.0)
    assert v.text.startswith("The baseline (majority) is 10.0 points better on test f1_macro")
    assert "use the baseline" in v.text


@pytest.mark.parametrize(
    "gain, phrase",
    [
        (CLOSE_POINTS - 0.01, "may not be worth it"),
        (CLOSE_POINTS, "worth it only if 1.0 points matter"),
        (CLEAR_POINTS - 0.01, "worth it only if"),
        (CLEAR_POINTS, "earns its cost"),
        (-CLOSE_POINTS + 0.01, "may not be worth it"),
        (-CLOSE_POINTS, "use the baseline"),
    ],
)
def test_band_edges(gain, phrase):
    v = verdict("accuracy", "b", 0.5, 0.5 + gain / 100, baseline_seconds=1, model_seconds=10)
    assert phrase in v.text, v.text


def test_cost_words_when_the_baseline_is_slower_or_instant():
    slower = verdict("accuracy", "small_cnn", 0.90, 0.95, baseline_seconds=200, model_seconds=100)
    assert "at 0.5x the training time" in slower.text
    instant = verdict("accuracy", "majority", 0.90, 0.90, baseline_seconds=0.0, model_seconds=2)
    assert instant.time_ratio == pytest.approx(2000.0)
    assert "at 1/2000 of the training time" in instant.text


def test_verdict_for_run_uses_the_baseline_best_on_validation():
    baselines = Baselines(
        task="text-classification",
        fingerprint="x",
        split_seed=42,
        metrics=["accuracy"],
        split_sizes={},
        best="b",
        scores=[
            BaselineScore(
                "a",
                "",
                fit_s=1.0,
                predict_s=0.0,
                test={"accuracy": 0.99},
                validation={"accuracy": 0.5},
            ),
            BaselineScore(
                "b",
                "",
                fit_s=2.0,
                predict_s=0.0,
                test={"accuracy": 0.80},
                validation={"accuracy": 0.9},
            ),
        ],
    )
    v = verdict_for_run(baselines, {"test_accuracy": 0.90, "train_runtime": 200.0}, "accuracy")
    assert v.baseline == "b" and v.gain_points == pytest.approx(10.0)
    assert v.time_ratio == pytest.approx(100.0)
    assert (
        verdict_for_run(baselines, {"eval_accuracy": 0.9, "train_runtime": 1.0}, "accuracy") is None
    )
    assert verdict_for_run(None, {"test_accuracy": 0.9, "train_runtime": 1.0}, "accuracy") is None
