"""The verdict is a pure function of the numbers: both directions, the bands, the cost words;
with both models' test predictions, the paired bootstrap interval decides."""

from __future__ import annotations

import time

import numpy as np
import pytest

from toolkit.advice.baselines.candidate import Baselines, BaselineScore
from toolkit.advice.noise import draw_counts, paired_bootstrap, vectorised
from toolkit.advice.verdict import CLEAR_POINTS, CLOSE_POINTS, verdict, verdict_for_run
from toolkit.metrics.classification import prediction_scorer
from toolkit.metrics.regression import regression_scorer
from toolkit.training.scoring import TestRows


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
    v = verdict_for_run(baselines, {"test_accuracy": 0.90, "train_runtime": 200.0}, ["accuracy"])
    assert v.baseline == "b" and v.gain_points == pytest.approx(10.0)
    assert v.time_ratio == pytest.approx(100.0)
    assert (
        verdict_for_run(baselines, {"eval_accuracy": 0.9, "train_runtime": 1.0}, ["accuracy"])
        is None
    )
    assert verdict_for_run(None, {"test_accuracy": 0.9, "train_runtime": 1.0}, ["accuracy"]) is None


# ----------------------------------------------------------------------------- measured noise

SCORER = prediction_scorer(["accuracy", "f1_macro"])


def paired_predictions(n: int, first_right: float, second_right: float, seed: int = 0):
    """Truth over three classes and two prediction sets right on about the given shares."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)

    def predictions(share: float) -> np.ndarray:
        wrong = (truth + rng.integers(1, 3, n)) % 3  # never the true class
        return np.where(rng.random(n) < share, truth, wrong)

    return truth, predictions(first_right), predictions(second_right)


def baselines_with(predictions, test_scores) -> Baselines:
    return Baselines(
        task="text-classification",
        fingerprint="x",
        split_seed=42,
        metrics=["f1_macro", "accuracy"],
        split_sizes={},
        best="tfidf_logreg",
        scores=[
            BaselineScore(
                "tfidf_logreg",
                "",
                fit_s=10.0,
                predict_s=0.1,
                validation={"f1_macro": 0.5, "accuracy": 0.6},
                test=test_scores,
                test_predictions=[int(p) for p in predictions],
            )
        ],
    )


def test_a_gain_the_test_split_cannot_separate_is_called_so():
    # The reviews: a few points on 379 examples is within the paired interval.
    truth, model, baseline = paired_predictions(379, 0.72, 0.69)
    test = SCORER(baseline, truth)
    metrics = {f"test_{k}": v for k, v in SCORER(model, truth).items()}
    metrics["train_runtime"] = 400.0
    v = verdict_for_run(
        baselines_with(baseline, test),
        metrics,
        ["f1_macro", "accuracy"],
        TestRows(truth, model),
        SCORER,
        seed=0,
    )
    low, high = v.interval
    assert low < 0 < high and low < v.gain_points < high
    assert v.test_examples == 379 and v.metric == "f1_macro"
    assert "the test split cannot tell them apart" in v.text
    assert "may not be worth it" in v.text and "earns its cost" not in v.text
    assert "Decided on f1_macro, the first of `metrics`; also on test: accuracy " in v.text
    assert [c["metric"] for c in v.comparisons] == ["f1_macro", "accuracy"]
    assert v.comparisons[1]["low"] < v.comparisons[1]["gain"] < v.comparisons[1]["high"]


def test_a_gain_the_whole_interval_supports_earns_its_cost():
    truth, model, baseline = paired_predictions(1000, 0.95, 0.80)
    interval = paired_bootstrap("accuracy", SCORER, truth, model, baseline, seed=1)
    v = verdict(
        "accuracy",
        "tfidf_logreg",
        SCORER(baseline, truth)["accuracy"],
        SCORER(model, truth)["accuracy"],
        10.0,
        400.0,
        interval,
    )
    assert v.interval[0] > CLEAR_POINTS and "earns its cost" in v.text
    assert "the 95% interval of the transformer's gain is +" in v.text
    behind = verdict(
        "accuracy",
        "tfidf_logreg",
        SCORER(model, truth)["accuracy"],
        SCORER(baseline, truth)["accuracy"],
        10.0,
        400.0,
        paired_bootstrap("accuracy", SCORER, truth, baseline, model, seed=1),
    )
    assert behind.interval[1] < 0 and "use the baseline" in behind.text


def test_a_known_paired_difference_is_bounded_by_its_interval():
    # The transformer is right wherever the baseline is, and on 20 more of 500 examples: every
    # resample's difference is >= 0, and the whole-set difference is exactly 4 points.
    truth = np.arange(500) % 3
    baseline = truth.copy()
    baseline[:100] = (truth[:100] + 1) % 3
    model = baseline.copy()
    model[:20] = truth[:20]
    interval = paired_bootstrap("accuracy", SCORER, truth, model, baseline, seed=3)
    assert interval.difference == pytest.approx(0.04)
    assert 0.0 <= interval.low < 0.04 < interval.high
    same = paired_bootstrap("accuracy", SCORER, truth, baseline, baseline, seed=3)
    assert (same.low, same.high) == (0.0, 0.0)


@pytest.mark.parametrize("metric", ["accuracy", "f1_macro", "f1_micro", "f1_weighted"])
def test_numpy_resamples_equal_the_metric_code_on_each_resample(metric):
    truth, model, _ = paired_predictions(300, 0.7, 0.6, seed=2)
    scorer = prediction_scorer([metric])
    draws = np.random.default_rng(0).integers(0, 300, size=(4, 300))
    fast = vectorised(metric, truth, model)(draw_counts(draws, 300))
    slow = [scorer(model[d], truth[d])[metric] for d in draws]
    assert fast == pytest.approx(slow, abs=1e-12)


@pytest.mark.parametrize("metric", ["rmse", "mae", "pearson"])
def test_numpy_resamples_equal_the_regression_code(metric):
    rng = np.random.default_rng(0)
    truth = rng.normal(size=200)
    predicted = truth + rng.normal(scale=0.5, size=200)
    draws = rng.integers(0, 200, size=(4, 200))
    fast = vectorised(metric, truth, predicted)(draw_counts(draws, 200))
    slow = [regression_scorer([metric])(predicted[d], truth[d])[metric] for d in draws]
    assert fast == pytest.approx(slow, abs=1e-9)


def test_a_thousand_resamples_of_a_thousand_examples_take_well_under_a_second():
    truth, model, baseline = paired_predictions(1000, 0.8, 0.75)
    started = time.perf_counter()
    for metric in ("accuracy", "f1_macro"):
        paired_bootstrap(metric, SCORER, truth, model, baseline)
    assert time.perf_counter() - started < 2.0
    again = paired_bootstrap("f1_macro", SCORER, truth, model, baseline)
    assert again == paired_bootstrap("f1_macro", SCORER, truth, model, baseline)  # seeded


def test_rows_of_any_shape_go_through_the_targets_own_scorer():
    # Multi-label rows (one 0/1 vector per example): no numpy shortcut, the scorer decides.
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, size=(200, 4))
    model = np.where(rng.random((200, 4)) < 0.9, truth, 1 - truth)
    baseline = np.where(rng.random((200, 4)) < 0.6, truth, 1 - truth)

    def exact_match(predicted, labels):
        return {"subset_accuracy": float(np.mean(np.all(predicted == labels, axis=1)))}

    interval = paired_bootstrap("subset_accuracy", exact_match, truth, model, baseline, 200)
    expected = (
        exact_match(model, truth)["subset_accuracy"]
        - exact_match(baseline, truth)["subset_accuracy"]
    )
    assert interval.difference == pytest.approx(expected)
    assert interval.low < expected < interval.high and interval.low > 0


def test_error_metrics_read_the_interval_as_a_reduction_of_the_baselines_error():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=400)
    model, baseline = truth + rng.normal(scale=0.3, size=400), truth + rng.normal(size=400)
    score = regression_scorer(["rmse"])
    interval = paired_bootstrap("rmse", score, truth, model, baseline)
    base = score(baseline, truth)["rmse"]
    v = verdict("rmse", "tfidf_ridge", base, score(model, truth)["rmse"], 1.0, 50.0, interval)
    assert v.gain_unit == "%" and 0 < v.interval[0] < v.gain_points < v.interval[1]
    assert v.interval[1] == pytest.approx(-100 * interval.low / base, abs=0.01)


ENTITY_NAMES = ("f1", "precision", "recall", "accuracy")


def random_tag_rows(rng, sentences: int, accuracy: float):
    """Word-tag id rows over O / B-x / I-x / B-y / I-y, and a model's copy with errors."""
    truth = [rng.integers(0, 5, size=rng.integers(1, 12)).tolist() for _ in range(sentences)]
    guess = [
        [t if rng.random() < accuracy else int(rng.integers(0, 5)) for t in row] for row in truth
    ]
    return truth, guess


def test_entity_resamples_equal_seqeval_on_each_resample():
    from toolkit.metrics.entities import word_tag_scorer

    rng = np.random.default_rng(0)
    truth, guess = random_tag_rows(rng, 60, 0.8)
    scorer = word_tag_scorer(list(ENTITY_NAMES), ["O", "B-x", "I-x", "B-y", "I-y"])
    draws = rng.integers(0, 60, size=(5, 60))
    fast = scorer.resampled(draw_counts(draws, 60), truth, guess)
    for metric in ENTITY_NAMES:
        slow = [scorer([guess[i] for i in d], [truth[i] for i in d])[metric] for d in draws]
        assert fast[metric] == pytest.approx(slow, abs=1e-12), metric


def test_entity_bootstrap_scores_all_resamples_at_once_not_one_seqeval_call_each():
    from toolkit.metrics.entities import word_tag_scorer

    rng = np.random.default_rng(1)
    truth, model = random_tag_rows(rng, 500, 0.9)
    _, baseline = random_tag_rows(np.random.default_rng(1), 500, 0.7)
    scorer = word_tag_scorer(list(ENTITY_NAMES), ["O", "B-x", "I-x", "B-y", "I-y"])
    calls = []

    class CountingScorer:  # seqeval once per resample took minutes on the WNUT run
        def __call__(self, predicted, true):
            calls.append("per-resample")
            return scorer(predicted, true)

        def resampled(self, counts, true, predicted):
            calls.append("all-resamples")
            return scorer.resampled(counts, true, predicted)

    interval = paired_bootstrap("f1", CountingScorer(), truth, model, baseline)
    assert calls.count("all-resamples") == 2 and calls.count("per-resample") <= 2, calls
    expected = scorer(model, truth)["f1"] - scorer(baseline, truth)["f1"]
    assert interval.difference == pytest.approx(expected)
    assert interval.low < expected < interval.high


@pytest.mark.parametrize("metric", ["accuracy", "f1_macro", "spearman"])
def test_resamples_drawn_in_chunks_are_the_ones_a_single_draw_gives(monkeypatch, metric):
    # Memory stays flat in the test size: the draws come a few resamples at a time, from the
    # same seeded stream, so the interval is the one a single (resamples, n) draw gives.
    import toolkit.advice.noise as noise

    truth, model, baseline = paired_predictions(400, 0.8, 0.7, seed=5)
    if metric == "spearman":
        score = lambda p, t: {"spearman": float(np.corrcoef(p, t)[0, 1])}  # noqa: E731
    else:
        score = SCORER
    whole = paired_bootstrap(metric, score, truth, model, baseline, resamples=200, seed=4)
    monkeypatch.setattr(noise, "DRAWS_HELD", 400 * 7)  # 7 resamples per chunk, the last short
    chunked = paired_bootstrap(metric, score, truth, model, baseline, resamples=200, seed=4)
    assert (chunked.low, chunked.high) == (whole.low, whole.high)
    shapes = [d.shape for d in noise.resample_draws(400, 200, seed=4)]
    assert shapes[0] == (7, 400) and shapes[-1] == (200 % 7, 400) and len(shapes) == 29
