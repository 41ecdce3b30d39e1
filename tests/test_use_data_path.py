"""The pieces `ftk predict` / `ftk evaluate` share with training, without a model: the run's
config read back as a RunConfig, new data's labels read by training's rules, one
`predictions(logits, threshold)` for every target, and options declared once."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest

from toolkit.core.errors import UserError


def test_every_target_turns_logits_into_predictions_alike():
    from toolkit.tasks.targets import CLASSES, LABEL_SETS, NUMBERS, TAGS, TARGETS

    assert set(TARGETS.values()) == {CLASSES, NUMBERS, LABEL_SETS, TAGS}
    for target in TARGETS.values():
        parameters = inspect.signature(target.predictions).parameters
        assert list(parameters) == ["logits", "threshold"], target
        assert parameters["threshold"].default is None
    logits = np.array([[2.0, -0.5, 0.1]])  # sigmoids 0.88, 0.38, 0.52
    assert LABEL_SETS.predictions(logits).tolist() == [[1, 0, 1]]  # 0.5 by default
    assert LABEL_SETS.predictions(logits, 0.6).tolist() == [[1, 0, 0]]
    assert CLASSES.predictions(logits, 0.6).tolist() == [0]  # no threshold to apply


def test_new_data_labels_are_read_as_training_reads_them():
    from toolkit.data.new_data import class_ids, label_set_vectors, numeric_targets

    where = "--data 'x.csv'"
    assert class_ids([2.0, " sport ", "2"], ["2", "sport"], where).tolist() == [0, 1, 0]
    with pytest.raises(UserError, match=r"label\(s\) 'weather' the model does not know"):
        class_ids(["weather"], ["2", "sport"], where)
    vectors = label_set_vectors(["a,b", "", ["b"]], ["a", "b"], ",", where, "labels")
    assert vectors.tolist() == [[1, 1], [0, 0], [0, 1]]
    with pytest.raises(UserError, match="are not numbers"):
        numeric_targets([1.5, "high"], where, "score")


def test_a_runs_config_is_read_back_as_a_run_config(tmp_path):
    from toolkit.config.schema import RunConfig
    from toolkit.config.taxonomy import NUMBERS, TEXT
    from toolkit.use.inference import read_run_config

    (tmp_path / "run_config.yaml").write_text(
        "task: text-regression\nmetrics: [rmse]\nlearning_rate: 1.0e-5\n"
        "data: {text_column: body, max_length: '64', a_key_of_another_version: 1}\n"
    )
    config = read_run_config(tmp_path, "'run'")
    assert isinstance(config, RunConfig) and config.kind.target is NUMBERS
    assert config.kind.modality is TEXT and config.metrics == ["rmse"]
    assert config.data.text_column == "body" and config.data.max_length == 64
    (tmp_path / "run_config.yaml").write_text("task: masked-lm\n")
    with pytest.raises(UserError, match="pre-training run"):
        read_run_config(tmp_path, "'run'")


def test_predict_and_evaluate_options_are_declared_once():
    import toolkit
    from toolkit.cli import build_parser
    from toolkit.use.options import EvaluateOptions, PredictOptions, options_from

    parser = build_parser()
    for command, options in (("predict", PredictOptions), ("evaluate", EvaluateOptions)):
        extra = ["--data", "d.csv"] if command == "evaluate" else []
        parsed = options_from(options, parser.parse_args([command, "run", *extra]))
        assert parsed == options(), "the flags' defaults are the options' defaults"
        doc = (toolkit.predict if command == "predict" else toolkit.evaluate).__doc__
        for item in dataclasses.fields(options):
            assert f"    {item.name} (default" in doc
    args = parser.parse_args(["predict", "run", "--top-k", "2", "--output", "p.csv"])
    assert options_from(PredictOptions, args) == PredictOptions(top_k=2, output=Path("p.csv"))
    assert PredictOptions(output="p.jsonl").output == Path("p.jsonl")
    assert EvaluateOptions().batch_size == 64 and PredictOptions().batch_size == 32
    with pytest.raises(toolkit.UserError, match="There is no option 'label_column'"):
        toolkit.predict("run", ["a text"], label_column="label")  # an evaluate option
