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
    ScoredSplit,
    chance_score,
    diagnose_run,
)
from toolkit.config.taxonomy import CLASSES, NUMBERS
from toolkit.metrics.priors import entropy_of_shares, mean_binary_entropy


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
    merged = {**values, **changes}
    counts = list(merged["train_counts"].values())
    # one class per input, unweighted: the prior of its class counts, unless a test sets one
    prior = {"prior_loss": entropy_of_shares(counts), "prior_knows": CLASSES.prior_knows}
    return RunFacts(**{**(prior if counts else {}), **merged})


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
    # not learned too: the not-learned length (8 epochs), not twice the epochs
    assert "num_train_epochs 8" in improving.text and "as the not-learned finding" in improving.text
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
    mean_target = {"prior_knows": NUMBERS.prior_knows}
    found = diagnose_run(rows, RunFacts(**{**numbers.__dict__, **mean_target, "prior_loss": 1.0}))
    assert rules(found) == ["not_learned"]
    assert "mean target" in found[0].text
    fitted = RunFacts(**{**numbers.__dict__, **mean_target, "prior_loss": 4.0})
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


# ----------------------------------------------------------------------------- label sets


def binary_entropy(p: float) -> float:
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def label_set_facts(**changes) -> RunFacts:
    """A multi-label run: labels a, b, c in 5%, 3% and 2% of 1,000 rows, f1_micro first."""
    from toolkit.config.taxonomy import LABEL_SETS

    counts = {"a": 50, "b": 30, "c": 20}
    values = {
        "metric": "f1_micro",
        "train_counts": counts,
        "validation_counts": counts,
        "single_class": False,
        "prior_loss": mean_binary_entropy(list(counts.values()), 1000),
        "prior_knows": LABEL_SETS.prior_knows,
    }
    return facts(**{**values, **changes})


def test_a_multi_label_run_whose_loss_is_the_prior_is_not_learned():
    # The run: a BCE of 0.162 where each label's frequency alone scores 0.164 (the
    # softmax entropy of the label shares, 3.469 there, made the rule unable to fire)
    prior = mean_binary_entropy([50, 30, 20], 1000)
    assert prior == pytest.approx(sum(map(binary_entropy, (0.05, 0.03, 0.02))) / 3)
    rows = history(evals=[(0.0, prior)], sample=[(0.0, prior)], metric="f1_micro")
    found = diagnose_run(rows, label_set_facts())
    assert rules(found) == ["not_learned"]
    assert found[0].figures["prior_loss"] == pytest.approx(prior, abs=1e-4)
    assert "knows only each label's frequency" in found[0].text
    assert "majority class" not in found[0].text  # no majority answer for label sets


def test_a_multi_label_run_that_learned_is_not_flagged():
    # f1_micro 0.70 on the training sample and a loss a fifth of the prior: learned. (Read as
    # a majority answer, the label counts made 0.5 the chance score and 0.70 only 40% of the
    # way to perfect: "not learned".)
    prior = mean_binary_entropy([50, 30, 20], 1000)
    rows = history(
        evals=[(0.55, prior / 3), (0.72, prior / 4), (0.66, prior / 4)],
        sample=[(0.62, prior / 3), (0.68, prior / 5), (0.70, prior / 5)],
        metric="f1_micro",
    )
    assert diagnose_run(rows, label_set_facts()) == []


@pytest.mark.parametrize("weights", [None, "balanced"])
def test_a_threshold_tuned_to_the_grids_bottom_says_the_model_is_unsure(weights):
    rows = history(evals=[(0.3, 0.05), (0.4, 0.04)], sample=[(0.4, 0.04), (0.5, 0.03)])
    run = label_set_facts(decision_threshold=0.05, class_weights=weights, output_dir="runs/ml")
    (found,) = [f for f in diagnose_run(rows, run) if f.rule == "threshold_at_edge"]
    assert found.figures == {"threshold": 0.05, "grid": [0.05, 0.95]}
    assert "is 0.05, the lowest the grid tries (0.05 to 0.95)" in found.text
    assert "not confident about its labels" in found.text and "too rare" in found.text
    command = (
        "`ftk train --config runs/ml/run_config.yaml --class_weights balanced "
        "--output_dir runs/ml-balanced`"
    )
    assert (command in found.text) == (weights is None)
    assert ("already weighted" in found.text) == (weights is not None)


def test_a_threshold_tuned_to_the_grids_top_says_the_model_is_over_confident():
    rows = history(evals=[(0.3, 0.05), (0.4, 0.04)], sample=[(0.4, 0.04), (0.5, 0.03)])
    (found,) = diagnose_run(rows, label_set_facts(decision_threshold=0.95))
    assert found.rule == "threshold_at_edge" and "the highest the grid tries" in found.text
    assert "over-confident" in found.text and "--class_weights" not in found.text
    weighted = diagnose_run(
        rows, label_set_facts(decision_threshold=0.95, class_weights="balanced")
    )
    assert "positive-label weights" in weighted[0].text
    # inside the grid: nothing to say
    for inside in (0.1, 0.5, 0.9):
        assert diagnose_run(rows, label_set_facts(decision_threshold=inside)) == []


# ----------------------------------------------------------------------------- collapse

# The reviews: 64/27/9% in training, a test split of 100 in the same shares.
REVIEWS = {"pos": 245, "neu": 103, "neg": 35}


def scored(*rows: list[int]) -> ScoredSplit:
    """Test predictions counted: rows true pos/neu/neg, columns predicted pos/neu/neg."""
    return ScoredSplit("test", ["pos", "neu", "neg"], [list(row) for row in rows])


def reviews(**changes) -> RunFacts:
    return facts(metric="f1_macro", train_counts=REVIEWS, output_dir="runs/reviews", **changes)


LEARNED = [(0.60, 0.8), (0.70, 0.6), (0.69, 0.62)], [(0.7, 0.7), (0.9, 0.3), (0.95, 0.2)]


def test_a_run_collapsed_to_the_majority_gets_the_class_weights_command():
    rows = history(*LEARNED, metric="f1_macro")
    only_pos = scored([64, 0, 0], [27, 0, 0], [9, 0, 0])  # macro-F1 0.26
    found = {f.rule: f for f in diagnose_run(rows, reviews(scored=only_pos))}
    assert list(found) == ["imbalance", "collapsed"]
    collapse = found["collapsed"]
    assert collapse.figures["predicted_share"] == 1.0 and collapse.figures["true_share"] == 0.64
    assert collapse.figures["other_recalls"] == {"neu": 0.0, "neg": 0.0}
    assert (
        "predicts 'pos' for 100% of the test examples, though it is the class of 64% of them"
    ) in collapse.text
    assert (
        "Next: `ftk train --config runs/reviews/run_config.yaml --class_weights balanced "
        "--output_dir runs/reviews-balanced`"
    ) in collapse.text
    # nearly all 'pos' (92%): the other classes get 8% of the answers for 36% of the examples
    mostly_pos = scored([64, 0, 0], [20, 7, 0], [8, 0, 1])
    assert "collapsed" in rules(diagnose_run(rows, reviews(scored=mostly_pos)))


def test_a_collapse_with_class_weights_set_says_they_did_not_help():
    rows = history(*LEARNED, metric="f1_macro")
    only_pos = scored([64, 0, 0], [27, 0, 0], [9, 0, 0])
    (collapse,) = [
        f
        for f in diagnose_run(rows, reviews(scored=only_pos, class_weights="balanced"))
        if f.rule == "collapsed"
    ]
    assert "with `class_weights` set (balanced)" in collapse.text
    assert "--class_weights" not in collapse.text and "learning_rate (now 5e-05)" in collapse.text


def test_minority_classes_never_recalled_are_a_collapse_below_the_share_too():
    rows = history(*LEARNED, metric="f1_macro")
    # 'pos' predicted for 85% (its share 64%), but 'neg' and 'neu' almost never right
    unrecalled = scored([64, 0, 0], [20, 1, 6], [1, 8, 0])
    (collapse,) = [
        f for f in diagnose_run(rows, reviews(scored=unrecalled)) if f.rule == "collapsed"
    ]
    assert collapse.figures["predicted_share"] == 0.85
    assert collapse.figures["other_recalls"] == {"neu": pytest.approx(1 / 27, abs=1e-4), "neg": 0.0}


def test_a_run_that_learned_the_classes_gets_neither_finding():
    rows = history(*LEARNED, metric="f1_macro")
    learned = scored([58, 4, 2], [6, 19, 2], [2, 1, 6])
    assert "collapsed" not in rules(diagnose_run(rows, reviews(scored=learned)))
    # favouring 'pos' (90% of the answers where it holds 85%) is no collapse
    favoured = scored([85, 0, 0], [4, 6, 0], [1, 0, 4])
    assert "collapsed" not in rules(diagnose_run(rows, reviews(scored=favoured)))
    # a balanced (class-weighted) run that learned: its prior is the weighted one, ln 3, and
    # a training loss of 0.2 is far below it; its answers are spread over the classes
    weighted = reviews(
        scored=learned, class_weights="balanced", prior_loss=math.log(3), metrics_reordered=True
    )
    assert rules(diagnose_run(rows, weighted)) == ["imbalance"]
    # even classes: answering one class always is no majority collapse to speak of
    even = facts(metric="f1_macro", scored=scored([34, 0, 0], [33, 0, 0], [33, 0, 0]))
    assert "collapsed" not in rules(diagnose_run(rows, even))


def test_a_streamed_run_speaks_of_steps_and_holds_out_a_longer_head():
    """A stream has no epochs, and ftk search cannot run on it: its noisy selection names
    the evaluation kept and a longer validation head (data.stream_validation_rows), its
    still-improving finding the step of max_steps."""
    small = facts(
        validation_size=100,
        validation_counts={"a": 34, "b": 33, "c": 33},
        validation_fraction=None,
        streamed=True,
        stream_validation_rows=100,
        max_steps=30,
        output_dir="runs/s",
    )
    sample = [(0.9, 0.3), (0.95, 0.2), (0.97, 0.1)]
    found = {
        f.rule: f
        for f in diagnose_run(history([(0.78, 0.6), (0.79, 0.55), (0.80, 0.5)], sample), small)
    }
    noisy = found["noisy_selection"]
    assert "which evaluation was kept is partly luck" in noisy.text
    assert "search" not in (noisy.command or "")
    assert noisy.command == (
        "ftk train --config runs/s/run_config.yaml --data.stream_validation_rows 200 "
        "--output_dir runs/s-validation-rows-200"
    )
    assert "(step 30 of 30)" in found["still_improving"].text
    assert all("epoch" not in f.text for f in found.values()), [f.text for f in found.values()]


def test_a_last_gain_within_the_noise_on_a_fitted_model_is_not_still_improving():
    # the demo's run: 171 validation examples, accuracy 0.9415 -> 0.9591 (1.8 points, under two
    # standard errors of 1.5), the training sample at 0.9956
    fitted = [(0.982, 0.11), (0.9956, 0.05)]
    demo = history(evals=[(0.9415, 0.20), (0.9591, 0.17)], sample=fitted)
    assert "still_improving" not in rules(diagnose_run(demo, facts(validation_size=171)))
    # the same gain on a model still fitting its training data: it is learning
    learning = history(evals=[(0.9415, 0.20), (0.9591, 0.17)], sample=[(0.90, 0.3), (0.95, 0.2)])
    assert "still_improving" in rules(diagnose_run(learning, facts(validation_size=171)))
    # a gain beyond the noise on a fitted model: 1,000 examples, 2 x 0.6 points
    beyond = history(evals=[(0.9415, 0.20), (0.9591, 0.17)], sample=fitted)
    assert "still_improving" in rules(diagnose_run(beyond, facts(validation_size=1000)))
