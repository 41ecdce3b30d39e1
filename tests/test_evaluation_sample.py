"""A large validation split: evaluations during training score a seeded, stratified sample of
data.validation_rows_per_eval rows; the kept model is scored on the whole split at the end."""

from __future__ import annotations

from collections import Counter

import datasets
import pytest
from helpers import make_texts, write_csv, write_text_config

from toolkit.data.splits import sample_rows


def test_a_sample_keeps_each_class_share_and_the_row_order():
    labels = [0] * 700 + [1] * 200 + [2] * 97 + [3] * 3
    rows = datasets.Dataset.from_dict({"labels": labels, "row": list(range(1000))})
    sample = sample_rows(rows, 100, seed=0, stratify_by="labels")
    assert Counter(sample["labels"]) == {0: 70, 1: 20, 2: 10}  # 9.7 rounds up, 0.3 down
    assert sample["row"] == sorted(sample["row"])
    assert sample_rows(rows, 100, seed=0, stratify_by="labels")["row"] == sample["row"]
    assert sample_rows(rows, 100, seed=1, stratify_by="labels")["row"] != sample["row"]
    assert len(sample_rows(rows, 100, seed=0)) == 100
    assert sample_rows(rows, 1000, seed=0) is rows


@pytest.mark.e2e
def test_training_evaluates_a_sample_and_the_end_scores_the_whole_split(
    tiny_bert, tmp_path, capsys
):
    import toolkit

    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(4, seed=2)),
    }
    recipe = write_text_config(tmp_path / "c.yaml", tiny_bert, data, tmp_path / "run")
    overrides = {
        "num_train_epochs": 1,
        "data": {"validation_rows_per_eval": 10, "validation_size": 0.3},
    }
    from toolkit.api import load_config
    from toolkit.run.stages import plan_run, prepare_labelled

    # the whole validation split as the run prepares it (same seed, same rows)
    validation = prepare_labelled(plan_run(load_config(recipe, **overrides))).splits["validation"]
    assert len(validation) == 27
    result = toolkit.train(recipe, **overrides)
    said = capsys.readouterr().out
    assert "Evaluations during training score a sample of 10 of the 27 validation rows" in said
    trainer = result.trainer
    assert len(trainer.eval_dataset) == 10
    on_all = trainer.evaluate(validation)["eval_loss"]
    on_sample = trainer.evaluate()["eval_loss"]
    assert on_all != pytest.approx(on_sample, abs=1e-6), "the sample must score differently"
    # (batches padded alike or not: float sums agree to ~1e-5, a sample differs by far more)
    assert result.metrics["eval_loss"] == pytest.approx(on_all, rel=1e-4)
