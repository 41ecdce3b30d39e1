"""What knowing nothing about the inputs scores in each target's own loss (`prior_loss`): the
loss the Trainer's loss function gives the best constant answer, class weights included; and
the diagnosis's facts of a run built from it (run/diagnosis.run_facts)."""

from __future__ import annotations

import math

import datasets
import numpy as np
import pytest
import torch

from toolkit.config.load import load_config
from toolkit.data.load import LoadedData
from toolkit.run.diagnosis import run_facts
from toolkit.run.stages import PreparedData, loss_class_weights, plan_run
from toolkit.tasks.targets import CLASSES, LABEL_SETS, NUMBERS, TAGS
from toolkit.training.class_weights import balanced_weights, positive_weight_vector

# The reviews: 64/27/9% of 100 training examples.
REVIEW_IDS = [0] * 64 + [1] * 27 + [2] * 9
REVIEW_NAMES = ["pos", "neu", "neg"]


def binary_entropy(p: float) -> float:
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def best_constant(loss, size: int) -> float:
    """The lowest `loss(logits)` over logits the same for every example (a convex fit)."""
    logits = torch.zeros(size, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([logits], max_iter=200, tolerance_grad=1e-12)

    def closure():
        optimizer.zero_grad()
        value = loss(logits)
        value.backward()
        return value

    optimizer.step(closure)
    return float(loss(logits.detach()))


def test_multi_label_prior_is_the_mean_binary_entropy_of_the_labels():
    # label a in 5 of 10 rows (share 0.5), b in 1 (share 0.1)
    rows = [[1.0, 1.0]] + [[1.0, 0.0]] * 4 + [[0.0, 0.0]] * 5
    prior = LABEL_SETS.prior_loss(rows, ["a", "b"])
    assert prior == pytest.approx((binary_entropy(0.5) + binary_entropy(0.1)) / 2)
    # what the model's BCE scores for the best constant logits: knowing nothing
    targets = torch.tensor(rows, dtype=torch.float64)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    best = best_constant(lambda logits: bce(logits.expand_as(targets), targets), 2)
    assert best == pytest.approx(prior, abs=1e-6)


def test_a_weighted_multi_label_prior_is_what_bce_with_pos_weight_scores_knowing_nothing():
    rows = [[1.0, 1.0]] + [[1.0, 0.0]] * 4 + [[0.0, 0.0]] * 5
    weights = positive_weight_vector("balanced", ["a", "b"], rows)  # 1 and 9
    prior = LABEL_SETS.prior_loss(rows, ["a", "b"], weights.numpy())
    targets = torch.tensor(rows, dtype=torch.float64)
    pos_weight = weights.double()

    def bce(logits):
        return torch.nn.functional.binary_cross_entropy_with_logits(
            logits.expand_as(targets), targets, pos_weight=pos_weight
        )

    assert best_constant(bce, 2) == pytest.approx(prior, abs=1e-6)
    assert prior > LABEL_SETS.prior_loss(rows, ["a", "b"])  # b's positives weigh 9 times


def test_a_weighted_class_prior_is_what_the_weighted_cross_entropy_scores_knowing_nothing():
    unweighted = CLASSES.prior_loss(REVIEW_IDS, REVIEW_NAMES)
    shares = np.array([0.64, 0.27, 0.09])
    assert unweighted == pytest.approx(-(shares * np.log(shares)).sum())  # 0.856
    weights = balanced_weights(REVIEW_NAMES, REVIEW_IDS)
    weighted = CLASSES.prior_loss(REVIEW_IDS, REVIEW_NAMES, weights.numpy())
    # balanced weights make every class weigh the same in total: the best constant answer is
    # 1/3 each, scoring ln 3 (the weighted run at 1.021 is 93% of it, not 119%)
    assert weighted == pytest.approx(math.log(3))
    labels = torch.tensor(REVIEW_IDS)

    def cross_entropy(logits):
        batch = logits.expand(len(labels), 3)
        return torch.nn.functional.cross_entropy(batch, labels, weight=weights.double())

    assert best_constant(cross_entropy, 3) == pytest.approx(weighted, abs=1e-6)
    # with {label: weight} weights too
    named = np.array([1.0, 2.0, 5.0])
    mass = np.array([64, 27 * 2, 9 * 5]) / (64 + 54 + 45)
    assert CLASSES.prior_loss(REVIEW_IDS, REVIEW_NAMES, named) == pytest.approx(
        -(mass * np.log(mass)).sum()
    )


def test_tag_prior_is_the_entropy_of_the_tag_shares_over_the_words():
    sentences = [[0, 1, 2, 0], [0, 0, 1, 0], [0, 0]]  # 7 O, 2 B-x, 1 I-x of 10 words
    shares = np.array([0.7, 0.2, 0.1])
    assert TAGS.prior_loss(sentences, ["O", "B-x", "I-x"]) == pytest.approx(
        -(shares * np.log(shares)).sum()
    )


def test_numeric_prior_is_the_mse_of_predicting_the_mean():
    values = [1.0, 2.0, 3.0, 6.0]
    mse = float(np.mean((np.array(values) - 3.0) ** 2))
    assert NUMBERS.prior_loss(values, []) == pytest.approx(mse) == pytest.approx(3.5)


# ----------------------------------------------------------------------------- a run's facts


def review_run(tmp_path, *overrides: str):
    """A planned text-classification run and its (hand-made) prepared reviews."""
    recipe = tmp_path / "run.yaml"
    recipe.write_text(
        "task: text-classification\nmodel: {name_or_path: tiny}\n"
        f"data: {{train_file: {tmp_path / 'train.csv'}}}\noutput_dir: {tmp_path / 'run'}\n"
        "use_cpu: true\n"
    )
    config = load_config(recipe, list(overrides))
    train = datasets.Dataset.from_dict({"text": ["x"] * 100, "label": REVIEW_IDS})
    validation = datasets.Dataset.from_dict({"text": ["x"] * 3, "label": [0, 1, 2]})
    splits = datasets.DatasetDict(train=train, validation=validation)
    data = LoadedData(splits, REVIEW_NAMES, "label")
    weights = loss_class_weights(config, data)
    return plan_run(config), PreparedData(None, splits, None, data=data, class_weights=weights)


def test_a_runs_facts_hold_its_weighted_prior_and_its_test_predictions(tmp_path):
    plan, prepared = review_run(tmp_path, "--class_weights", "balanced")
    confusion = [[64, 0, 0], [27, 0, 0], [9, 0, 0]]
    metrics = {"test_confusion_matrix": confusion}
    facts = run_facts(plan, prepared, "f1_macro", metrics)
    assert facts.prior_loss == pytest.approx(math.log(3))  # weighted: not the shares' 0.856
    assert facts.prior_knows == "the class frequencies, weighted as the loss weighs them"
    assert facts.class_weights == "balanced" and facts.single_class
    assert facts.scored is not None and facts.scored.confusion == confusion
    assert facts.scored.label_names == REVIEW_NAMES
    assert facts.output_dir == str(tmp_path / "run") and facts.decision_threshold is None
    plain, prepared = review_run(tmp_path)
    unweighted = run_facts(plain, prepared, "f1_macro", {})
    assert unweighted.prior_loss == pytest.approx(CLASSES.prior_loss(REVIEW_IDS, REVIEW_NAMES))
    assert unweighted.prior_knows == "the class frequencies" and unweighted.scored is None
