"""Data-size advice: warnings below the documented thresholds, none above."""

from __future__ import annotations

from toolkit.advice.data_size import MIN_PER_CLASS, MIN_TOTAL, data_size_advice, min_total


def test_no_warning_above_both_thresholds():
    advice = data_size_advice({"a": 600, "b": 500}, num_parameters=22_700_000)
    assert advice.warnings == []
    assert advice.train_examples == 1100 and advice.smallest_class == "b"


def test_small_class_warns_and_names_it_with_suggestions():
    advice = data_size_advice({"a": 2000, "b": MIN_PER_CLASS - 1}, num_parameters=22_700_000)
    assert len(advice.warnings) == 1
    message = advice.warnings[0]
    assert f"class 'b' has only {MIN_PER_CLASS - 1}" in message
    for hint in ("augmentation", "continued pre-training", "smaller model", "baseline"):
        assert hint in message


def test_exactly_at_the_thresholds_does_not_warn():
    advice = data_size_advice({"a": MIN_PER_CLASS, "b": MIN_TOTAL - MIN_PER_CLASS}, 1_000_000)
    assert advice.warnings == []


def test_total_threshold_grows_with_model_size():
    assert min_total(22_700_000) == MIN_TOTAL  # small models: the floor
    assert min_total(335_000_000) == 3045  # BERT-large: about three times BERT-base's
    counts = {"a": 1000, "b": 1000}  # enough for a small model, not for a large one
    assert data_size_advice(counts, 110_000_000).warnings == []
    large = data_size_advice(counts, 335_000_000).warnings
    assert len(large) == 1 and "2,000 labelled training examples for a 335.0M-parameter" in large[0]


def test_plain_tags_are_counted_in_words_and_sentences():
    """POS-like tags: the advice speaks of tags and words, not entity types and mentions."""
    advice = data_size_advice({"NOUN": 900, "X": 99}, 22_000_000, total=300, unit="tag")
    assert "tag 'X' has only 99 words (advice: at least 100 per tag)" in advice.warnings[0]
    assert "300 training sentences" in advice.warnings[1]
