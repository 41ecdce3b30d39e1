"""The diagnosis rules on recorded histories: hand-built history.jsonl rows shaped like the real
ones (an "eval" row and a "train_sample" row per evaluation, "train" rows of logged losses),
no training."""

from __future__ import annotations

import math

import pytest

from toolkit.advice.findings import (
    NOISE_STANDARD_ERRORS,
    NOISY_ERROR_POINTS,
    NOT_LEARNED_PROGRESS,
    RunFacts,
    chance_score,
    diagnose_run,
)


def history(evals, sample=None, losses=(), steps_per_eval=10, metric="accuracy"):
    """Rows as HistoryCallback writes them: per evaluation (validation score, validation loss)
    and, when given, the training sample's (score, loss) at the same step."""
    rows = []
    for step, loss in losses:
        rows.append({"kind": "train", "step": step, "epoch": step / steps_per_eval, "loss": loss})
    for i, (value, loss) in enumerate(evals):
        step = (i + 1) * steps_per_eval
        rows.append(
            {
                "kind": "eval",
                "step": step,
                "epoch": float(i + 1),
                "eval_loss": loss,
                f"eval_{metric}": value,
                "eval_runtime": 0.5,
            }
        )
        if sample is not None:
            score, sample_loss = sample[i]
            rows.append(
                {
                    "kind": "train_sample",
                    "step": step,
                    "epoch": float(i + 1),
                    "train_sample_loss": sample_loss,
                    f"train_sample_{metric}": score,
                }
            )
    return rows


def facts(**changes) -> RunFacts:
    values = {
        "metric": "accuracy",
        "greater_is_better": True,
        "train_counts": {"a": 400, "b": 400, "c": 400},
        "validation_counts": {"a": 700, "b": 700, "c": 700},
        "validation_size": 2100,
        "num_train_epochs": 3,
        "learning_rate": 5e-5,
        "patience": 2,
        "validation_fraction": 0.1,
    }
    return RunFacts(**{**values, **changes})


def rules(findings) -> list[str]:
    return [f.rule for f in findings]


def test_a_healthy_run_has_no_findings():
    rows = history(
        evals=[(0.80, 0.50), (0.90, 0.30), (0.89, 0.32)],
        sample=[(0.85, 0.40), (0.97, 0.10), (0.99, 0.05)],
    )
    assert diagnose_run(rows, facts()) == []


def test_the_reviews_run_still_improving_imbalanced_noisy_and_barely_fitted():
    # The 600 short reviews: 64/27/9%, 60 validation examples (5 of the small class),
    # the best epoch the last of 3, accuracy picking it, training sample at 0.75.
    train = {"pos": 245, "neu": 103, "neg": 35}
    rows = history(
        evals=[(0.65, 0.90), (0.683, 0.86), (0.70, 0.84)],
        sample=[(0.66, 0.88), (0.71, 0.83), (0.75, 0.78)],
    )
    found = diagnose_run(
        rows,
        facts(
            train_counts=train,
            validation_counts={"pos": 38, "neu": 17, "neg": 5},
            validation_size=60,
        ),
    )
    assert rules(found) == ["not_learned", "still_improving", "imbalance", "noisy_selection"]
    by = {f.rule: f for f in found}
    improving = by["still_improving"]
    assert "epoch 3 of 3" in improving.text and "0.6500 -> 0.6830 -> 0.7000" in improving.text
    assert "num_train_epochs 6" in improving.text
    assert "accuracy is misleading" not in by["imbalance"].text  # the wording says it plainly
    assert "accuracy picked the best epoch" in by["imbalance"].text
    assert f"scores {245 / 383:.2f} in accuracy" in by["imbalance"].text
    noisy = by["noisy_selection"]
    assert noisy.figures["validation_size"] == 60
    assert noisy.figures["one_example_points"] == pytest.approx(100 / 60, abs=1e-3)
    assert noisy.figures["standard_error_points"] == pytest.approx(
        100 * math.sqrt(0.7 * 0.3 / 60), abs=1e-3
    )
    assert "'neg', has 5 validation examples" in noisy.text
    assert "data.validation_size, now 0.1" in noisy.text
    learned = by["not_learned"].figures
    share = 245 / 383
    assert learned["progress"] == pytest.approx((0.75 - share) / (1 - share), abs=1e-4)


def test_digits_run_that_barely_started_learning_says_so_and_what_to_try():
    # 10 even classes, training sample accuracy 0.42 after 225 steps (the ViT run).
    counts = {str(d): 360 for d in range(10)}
    rows = history(
        evals=[(0.30, 2.0), (0.41, 1.8), (0.44, 1.7)],
        sample=[(0.31, 2.0), (0.40, 1.8), (0.42, 1.7)],
        steps_per_eval=75,
    )
    found = diagnose_run(rows, facts(train_counts=counts, validation_counts=counts))
    first = found[0]
    assert first.rule == "not_learned"
    assert first.figures["steps"] == 225 and first.figures["chance_score"] == pytest.approx(0.1)
    assert first.figures["progress"] == pytest.approx((0.42 - 0.1) / 0.9, abs=1e-4)
    assert first.figures["progress"] < NOT_LEARNED_PROGRESS
    for advice in ("after 225 optimizer steps", "learning_rate (now 5e-05)", "ftk pretrain"):
        assert advice in first.text


def test_not_learned_by_loss_alone_when_no_training_sample_was_scored():
    # overfitting.train_sample_size 0: the logged training loss still near ln(3)
    rows = history(evals=[(0.40, 1.09), (0.38, 1.09)], losses=[(5, 1.10), (20, 1.08)])
    found = diagnose_run(rows, facts())
    assert rules(found)[0] == "not_learned"
    assert found[0].figures["prior_loss"] == pytest.approx(math.log(3), abs=1e-4)
    # the same run with a loss well below the prior's is not flagged
    rows = history(evals=[(0.40, 1.09), (0.38, 1.09)], losses=[(5, 1.10), (20, 0.40)])
    assert "not_learned" not in rules(diagnose_run(rows, facts()))


def test_not_learned_for_a_numeric_target_compares_mse_with_the_variance():
    rows = history(
        evals=[(0.94, 0.88), (0.95, 0.90)],
        sample=[(0.96, 0.93), (0.95, 0.92)],
        metric="rmse",
    )
    numbers = facts(metric="rmse", greater_is_better=False, train_counts={}, validation_counts={})
    found = diagnose_run(rows, RunFacts(**{**numbers.__dict__, "target_variance": 1.0}))
    assert rules(found) == ["not_learned"]
    assert "mean target" in found[0].text
    fitted = RunFacts(**{**numbers.__dict__, "target_variance": 4.0})
    assert diagnose_run(rows, fitted) == []


def test_overfit_names_the_epoch_it_began_and_the_gap_at_the_kept_epoch():
    rows = history(
        evals=[(0.80, 0.50), (0.86, 0.40), (0.85, 0.45), (0.84, 0.52)],
        sample=[(0.85, 0.45), (0.93, 0.30), (0.97, 0.20), (0.99, 0.10)],
    )
    found = diagnose_run(rows, facts(num_train_epochs=4))
    assert rules(found) == ["overfit"]
    overfit = found[0]
    assert overfit.figures["began_epoch"] == 2.0 and overfit.figures["onset_epoch"] == 4.0
    assert overfit.figures["gap_at_best"] == pytest.approx(7.0)  # 0.93 vs 0.86 at epoch 2
    assert "from epoch 2 validation loss rose for 2 evaluations" in overfit.text
    assert "a gap of 7.0 points" in overfit.text


def test_imbalance_with_macro_f1_first_says_ftk_moved_it():
    uneven = {"a": 700, "b": 200, "c": 100}
    rows = history(
        evals=[(0.50, 0.9), (0.70, 0.7), (0.69, 0.72)],
        sample=[(0.6, 0.8), (0.9, 0.4), (0.95, 0.3)],
        metric="f1_macro",
    )
    moved = diagnose_run(
        rows, facts(metric="f1_macro", train_counts=uneven, metrics_reordered=True)
    )
    assert rules(moved) == ["imbalance"]
    assert "macro-F1 picked the best epoch (ftk moved it first" in moved[0].text
    chosen = diagnose_run(rows, facts(metric="f1_macro", train_counts=uneven))
    assert "moved" not in chosen[0].text
    # two classes: uneven only above two thirds
    assert diagnose_run(rows, facts(metric="f1_macro", train_counts={"a": 60, "b": 40})) == []


def test_noisy_selection_needs_epochs_within_two_standard_errors_of_a_small_split():
    small = facts(validation_size=100, validation_counts={"a": 34, "b": 33, "c": 33})
    error = math.sqrt(0.8 * 0.2 / 100)  # 4 points
    close = 0.80 - 0.99 * NOISE_STANDARD_ERRORS * error
    far = 0.80 - 1.01 * NOISE_STANDARD_ERRORS * error
    sample = [(0.9, 0.3), (0.95, 0.2), (0.97, 0.1)]
    within = history(evals=[(far, 0.6), (0.80, 0.5), (close, 0.55)], sample=sample)
    assert rules(diagnose_run(within, small)) == ["noisy_selection"]
    apart = history(evals=[(far, 0.6), (0.80, 0.5), (far, 0.55)], sample=sample)
    assert diagnose_run(apart, small) == []
    # 2,100 examples: a standard error under NOISY_ERROR_POINTS, so close epochs are as good
    large = facts(validation_size=2100)
    assert 100 * math.sqrt(0.8 * 0.2 / 2100) < NOISY_ERROR_POINTS
    assert diagnose_run(history(evals=[(0.80, 0.5), (0.79, 0.6)], sample=sample), large) == []


def test_noisy_selection_on_entity_scores_leaves_out_per_example_figures():
    # The WNUT run: 192 validation tweets, entity f1 picks the epoch, 'tvshow' 1 mention.
    tags = facts(
        metric="f1",
        validation_size=192,
        validation_counts={"person": 30, "tvshow": 1},
        train_counts={"person": 300, "tvshow": 20},
    )
    sample = [(0.5, 0.2), (0.8, 0.1), (0.9, 0.05)]
    rows = history(evals=[(0.52, 0.18), (0.54, 0.2), (0.53, 0.21)], sample=sample, metric="f1")
    noisy = [f for f in diagnose_run(rows, tags) if f.rule == "noisy_selection"]
    assert len(noisy) == 1
    assert "standard error of f1 near 0.54" in noisy[0].text
    assert "one example is worth" not in noisy[0].text and "macro-F1" not in noisy[0].text


@pytest.mark.parametrize(
    "metric, expected",
    [("accuracy", 0.7), ("f1_macro", (2 * 0.7 / 1.7) / 3), ("f1_weighted", 0.7 * 1.4 / 1.7)],
)
def test_chance_score_is_what_always_answering_the_majority_scores(metric, expected):
    from sklearn.metrics import accuracy_score, f1_score

    truth = [0] * 70 + [1] * 20 + [2] * 10
    majority = [0] * 100
    measured = (
        accuracy_score(truth, majority)
        if metric == "accuracy"
        else f1_score(truth, majority, average=metric.removeprefix("f1_"), zero_division=0)
    )
    counts = {"a": 70, "b": 20, "c": 10}
    assert chance_score(metric, counts) == pytest.approx(expected) == pytest.approx(measured)


def test_the_kept_models_re_scoring_after_training_is_not_an_evaluation():
    rows = history(evals=[(0.80, 0.5), (0.85, 0.4), (0.90, 0.3)], sample=[(0.9, 0.2)] * 3)
    rescored = {**rows[-2], "after_training": True}  # the kept model: same step, same scores
    found = diagnose_run([*rows, rescored], facts())
    assert rules(found) == ["still_improving"] and "epoch 3 of 3" in found[0].text


def test_truncation_is_a_finding_when_most_training_texts_are_cut():
    rows = history(
        evals=[(0.80, 0.50), (0.90, 0.30), (0.89, 0.32)],
        sample=[(0.85, 0.40), (0.97, 0.10), (0.99, 0.05)],
    )
    cut = facts(truncated_share=1.0, max_length=96, model_max_length=512)
    (found,) = diagnose_run(rows, cut)
    assert found.rule == "truncated" and found.figures["truncated_share"] == 1.0
    assert "100% of the training texts fill data.max_length (96 tokens)" in found.text
    assert "reads up to 512 tokens" in found.text and "e.g. 192" in found.text
    assert (
        "reads up to"
        not in diagnose_run(rows, facts(**{**cut.__dict__, "model_max_length": 96}))[0].text
    )
    assert diagnose_run(rows, facts(truncated_share=0.4, max_length=96)) == []  # under half
