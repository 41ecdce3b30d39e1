"""Baselines learn a separable set and stay at chance when the labels carry no signal."""

from __future__ import annotations

import random

import numpy as np
import pytest
from helpers import make_texts
from PIL import Image

from toolkit.advice.baselines import image as image_baselines
from toolkit.advice.baselines import text as text_baselines
from toolkit.advice.baselines.candidate import best_baseline, score_candidate
from toolkit.metrics.classification import prediction_scorer

SCORE = prediction_scorer(["accuracy", "f1_macro"])


def text_splits(shuffle_train: bool):
    """Shuffled: a label permutation test; with a perfectly separable signal, shuffling only
    the training labels leaves each class mapped to one random label (accuracy 0, 1/3, 2/3
    or 1 by luck), so the test labels are permuted independently as well."""
    train, test = make_texts(40, seed=1), make_texts(50, seed=2)
    names = sorted({label for _, label in train})
    labels = [names.index(label) for _, label in train]
    if shuffle_train:
        random.Random(0).shuffle(labels)
    inputs = {
        "train": [t for t, _ in train],
        "validation": [t for t, _ in test],
        "test": [t for t, _ in test],
    }
    truth = [names.index(label) for _, label in test]
    if shuffle_train:  # test labels shuffled too: no relation between text and label anywhere
        random.Random(1).shuffle(truth)
    truth = np.array(truth)
    return inputs, {"train": np.array(labels), "validation": truth, "test": truth}


def synthetic_images(n_per_class: int, seed: int) -> tuple[list[Image.Image], np.ndarray]:
    """16x16 grey images: class 0 bright left half, 1 bright top half, 2 bright centre; noise."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((3, 16, 16), dtype=bool)
    masks[0, :, :8] = masks[1, :8, :] = masks[2, 4:12, 4:12] = True
    images, labels = [], []
    for label in range(3):
        for _ in range(n_per_class):
            pixels = rng.normal(60, 40, (16, 16)) + 120 * masks[label]
            images.append(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L"))
            labels.append(label)
    order = rng.permutation(len(labels))
    return [images[i] for i in order], np.array(labels)[order]


def image_splits(shuffle_train: bool):
    train, train_labels = synthetic_images(80, seed=1)
    test, test_labels = synthetic_images(60, seed=2)
    if shuffle_train:  # both shuffled: no relation between image and label anywhere
        train_labels = np.random.default_rng(0).permutation(train_labels)
        test_labels = np.random.default_rng(1).permutation(test_labels)
    inputs = image_baselines.inputs_from_splits(
        {"train": {"image": train}, "validation": {"image": test}, "test": {"image": test}}
    )
    return inputs, {"train": train_labels, "validation": test_labels, "test": test_labels}


def scores(candidates, inputs, labels):
    return {c.name: score_candidate(c, inputs, labels, SCORE) for c in candidates}


def test_text_baselines_learn_a_separable_set():
    results = scores(text_baselines.candidates(), *text_splits(shuffle_train=False))
    assert results["tfidf_logreg"].test["accuracy"] > 0.9
    assert results["majority"].test["accuracy"] == pytest.approx(1 / 3)
    assert results["tfidf_logreg"].fit_s >= 0 and results["tfidf_logreg"].predict_s >= 0
    assert best_baseline(list(results.values()), "accuracy").name == "tfidf_logreg"


def test_tfidf_features_add_character_ngrams_for_short_texts_only():
    short = ["the team won the cup", "shares fell on the market", "the team lost", "market up"]
    features = text_baselines.TfidfFeatures()
    words_and_chars = features.fit_transform(short)
    assert features.char_ngrams_
    char_names = features.union_.transformer_list[1][1].get_feature_names_out()
    assert "te" in char_names and words_and_chars.shape[1] > len(char_names)

    long = [" ".join([text] * 80) for text in short]  # ~1,400-2,000 characters each
    assert sum(map(len, long)) / len(long) > text_baselines.CHAR_NGRAMS_UP_TO_MEAN_CHARS
    features = text_baselines.TfidfFeatures()
    words = features.fit_transform(long)
    assert not features.char_ngrams_ and len(features.union_.transformer_list) == 1
    vocabulary = features.union_.transformer_list[0][1].vocabulary_
    assert "the team" in vocabulary and "cup" not in vocabulary  # min_df 2: "cup" is in one text
    assert words.shape == (4, len(vocabulary))
    assert features.transform(["the cup"]).shape == (1, len(vocabulary))


def test_tfidf_features_keep_single_occurrences_when_nothing_occurs_twice():
    features = text_baselines.TfidfFeatures(up_to_mean_chars=0)  # words only
    x = features.fit_transform(["alpha beta", "gamma delta"])
    assert x.shape == (2, 6)  # 4 words + 2 bigrams, each in one text


def test_text_baseline_is_at_chance_on_shuffled_labels():
    results = scores(text_baselines.candidates(), *text_splits(shuffle_train=True))
    assert results["tfidf_logreg"].test["accuracy"] < 0.5  # chance is 1/3 (150 test texts)


@pytest.mark.e2e
def test_image_baselines_learn_a_separable_set():
    results = scores(
        image_baselines.candidates(cnn_epochs=8, seed=0), *image_splits(shuffle_train=False)
    )
    assert results["pixel_logreg"].test["accuracy"] > 0.9
    assert results["small_cnn"].test["accuracy"] > 0.8
    assert results["majority"].test["accuracy"] == pytest.approx(1 / 3)


@pytest.mark.e2e
def test_image_baselines_are_at_chance_on_shuffled_labels():
    results = scores(
        image_baselines.candidates(cnn_epochs=8, seed=0), *image_splits(shuffle_train=True)
    )
    for name in ("pixel_logreg", "small_cnn"):
        assert results[name].test["accuracy"] < 0.5, name  # chance 1/3 on 180 images


def test_image_inputs_accept_arrays_and_mixed_pil_sizes():
    array = np.zeros((4, 10, 12), dtype=np.uint8)
    assert image_baselines.to_array(array).shape == (4, 10, 12, 1)
    mixed = [Image.new("L", (20, 10)), Image.new("L", (20, 10)), Image.new("RGB", (8, 8))]
    assert image_baselines.to_array(mixed).shape == (3, 10, 20, 3)  # most common size, RGB
    big = [Image.new("L", (256, 128))]
    assert image_baselines.to_array(big).shape == (1, 32, 64, 1)  # capped at 64 a side


@pytest.mark.e2e
def test_small_sets_get_enough_cnn_steps():
    """2 epochs of 1,000 images are 16 steps, which left the CNN at chance on Fashion-MNIST:
    small sets get more passes (at least MIN_CNN_STEPS steps), large ones keep `epochs`."""
    assert image_baselines.cnn_passes(2, 54_000, 128) == 2
    assert image_baselines.cnn_passes(2, 1_000, 128) == 38  # 8 steps a pass
    results = scores(
        image_baselines.candidates(cnn_epochs=1, seed=0), *image_splits(shuffle_train=False)
    )  # one pass = 2 steps
    assert results["small_cnn"].test["accuracy"] > 0.8


# ----------------------------------------------------------------------------- fair baselines


def uneven_blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three Gaussian classes at 85/10/5% in 20 dimensions (class c > 0 shifted along axis
    c - 1). With a firm L2 penalty, as on many sparse TF-IDF features, an unweighted linear
    model leans to the majority and seldom names the small classes."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=[0.85, 0.10, 0.05])
    centres = np.zeros((3, 20))
    centres[1, 0] = centres[2, 1] = 2.0
    return centres[labels] + rng.normal(size=(n, 20)), labels


@pytest.mark.e2e
def test_balanced_weights_beat_unweighted_on_uneven_classes_by_macro_f1():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from toolkit.advice.baselines.candidate import validation_score
    from toolkit.advice.baselines.tuning import class_weight_options, tuned_logreg

    (x, y), (x_val, y_val), (x_test, y_test) = (
        uneven_blobs(n, s) for n, s in [(600, 0), (300, 1), (2000, 2)]
    )
    assert class_weight_options(y) == [None, "balanced"]
    assert class_weight_options(np.arange(300) % 3) == [None]  # even classes: one fit

    def macro_f1(model) -> float:
        return f1_score(y_test, model.predict(x_test), average="macro")

    plain = LogisticRegression(C=0.01, max_iter=1000).fit(x, y)
    balanced = LogisticRegression(C=0.01, class_weight="balanced", max_iter=1000).fit(x, y)
    assert macro_f1(balanced) > macro_f1(plain) + 0.1  # measured: 0.61 vs 0.41
    score = prediction_scorer(["f1_macro", "accuracy"])
    kept, chosen = tuned_logreg(
        x, y, x_val, validation_score(score, y_val, "f1_macro"), (0.01,), 1000
    )
    assert chosen == "C=0.01, class_weight=balanced"
    assert macro_f1(kept) == pytest.approx(macro_f1(balanced))
    # decided by accuracy instead, the unweighted model is kept: tuned for the deciding metric
    _, by_accuracy = tuned_logreg(
        x, y, x_val, validation_score(score, y_val, "accuracy"), (0.01,), 1000
    )
    assert by_accuracy == "C=0.01, class_weight=none"


def test_the_text_baseline_says_what_it_kept_and_saves_its_test_predictions():
    inputs, labels = text_splits(shuffle_train=False)
    tfidf = next(c for c in text_baselines.candidates() if c.name == "tfidf_logreg")
    result = score_candidate(tfidf, inputs, labels, SCORE, "f1_macro")
    assert result.chosen.startswith("C=") and result.chosen.endswith("class_weight=none")
    assert len(result.test_predictions) == len(labels["test"])
    assert SCORE(np.array(result.test_predictions), labels["test"]) == result.test
    assert result.to_dict()["test_predictions"] == result.test_predictions
