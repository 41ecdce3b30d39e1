"""The Python API (`import toolkit`): train from a dict with keyword overrides, get a result
back, predict a list of texts and evaluate in the same script; `import toolkit` stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from transformers import TrainerCallback

import toolkit


@pytest.mark.e2e
def test_import_toolkit_loads_neither_torch_nor_transformers():
    code = (
        "import sys, toolkit; "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert {"train", "predict", "evaluate", "pretrain", "load_config"} <= set(dir(toolkit))
    with pytest.raises(AttributeError):
        toolkit.no_such_name  # noqa: B018


def recipe_dict(tiny_bert, text_data, output_dir) -> dict:
    return {
        "model": {"name_or_path": str(tiny_bert)},
        "data": {
            "train_file": str(text_data["train"]),
            "test_file": str(text_data["test"]),
            "max_length": 32,
        },
        "output_dir": str(output_dir),
        "learning_rate": 5e-3,
        "num_train_epochs": 8,
        "per_device_train_batch_size": 8,
        "use_cpu": True,
        "dataloader_pin_memory": False,
    }


def test_load_config_takes_a_dict_a_runconfig_and_keyword_overrides(tiny_bert, text_data, tmp_path):
    recipe = recipe_dict(tiny_bert, text_data, tmp_path / "run")
    config = toolkit.load_config(recipe, num_train_epochs=2, data={"max_length": 16})
    assert config.training["num_train_epochs"] == 2 and config.data.max_length == 16
    assert config.data.train_file == str(text_data["train"])  # the section's other keys stay
    assert recipe["data"]["max_length"] == 32, "the caller's dict is not changed"
    again = toolkit.load_config(config, **{"data.max_length": 24})
    assert again.data.max_length == 24 and again.training["num_train_epochs"] == 2
    assert isinstance(again, toolkit.RunConfig)
    with pytest.raises(toolkit.UserError, match="Did you mean 'learning_rate'"):
        toolkit.load_config(recipe, learnig_rate=1e-3)


class CountEpochs(TrainerCallback):
    def __init__(self):
        self.epochs = 0

    def on_epoch_end(self, args, state, control, **kwargs):
        self.epochs += 1


@pytest.mark.e2e
def test_train_then_predict_and_evaluate_in_one_script(tiny_bert, text_data, tmp_path):
    counter = CountEpochs()
    result = toolkit.train(
        recipe_dict(tiny_bert, text_data, tmp_path / "run"),
        num_train_epochs=3,
        early_stopping={"patience": None},
        callbacks=[counter],
    )
    assert isinstance(result, toolkit.RunResult) and result.run_dir == tmp_path / "run"
    assert counter.epochs == 3 and result.trainer.state.epoch == pytest.approx(3)
    written = json.loads((result.run_dir / "metrics.json").read_text())
    assert result.metrics["test_accuracy"] == written["test_accuracy"]
    assert result.verdict is not None and result.metrics["verdict"] == written["verdict"]
    assert yaml.safe_load((result.run_dir / "run_config.yaml").read_text())["num_train_epochs"] == 3

    rows = toolkit.predict(result.run_dir, ["goal match team win", "bank shares profit"], top_k=2)
    assert [r["text"] for r in rows] == ["goal match team win", "bank shares profit"]
    assert all({"pred_label", "pred_score", "pred_label_2"} <= set(r) for r in rows)
    evaluation = toolkit.evaluate(result.run_dir, text_data["test"])
    assert evaluation["accuracy"] == pytest.approx(written["test_accuracy"], abs=1e-9)
    with pytest.raises(toolkit.UserError, match=r"data\[1\] is int 3"):
        toolkit.predict(result.run_dir, ["fine", 3])


@pytest.mark.e2e
def test_search_from_python_returns_the_trials_and_the_chosen_run(tiny_bert, text_data, tmp_path):
    found = toolkit.search(
        recipe_dict(tiny_bert, text_data, tmp_path / "search"),
        trials=2,
        num_train_epochs=2,
        search={"per_device_train_batch_size": "off", "layer_decay": "off", "max_length": "off"},
    )
    assert isinstance(found, toolkit.SearchResult) and len(found.trials) == 2
    assert set(found.best_params) == {
        "learning_rate",
        "num_train_epochs",
        "warmup_fraction",
        "weight_decay",
    }
    best = found.trials[found.best_trial]
    assert found.run.metrics["eval_accuracy"] == pytest.approx(best["value"], abs=1e-9)
    assert found.run.run_dir == tmp_path / "search" and "test_accuracy" in found.run.metrics
    assert found.stopped_because == "2 trials finished (--trials 2)"
    written = json.loads((tmp_path / "search" / "search.json").read_text())
    assert written["best_params"] == found.best_params
    with pytest.raises(toolkit.UserError, match="not a duration"):
        toolkit.search(recipe_dict(tiny_bert, text_data, tmp_path / "x"), budget="soon")
    with pytest.raises(toolkit.UserError, match="needs a limit"):
        toolkit.search(recipe_dict(tiny_bert, text_data, tmp_path / "x"))


def read_rows(path) -> list[dict]:
    import csv

    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.e2e
def test_train_and_evaluate_take_data_in_memory(tiny_bert, text_data, tmp_path, monkeypatch):
    """A DataFrame, a list of row dicts: saved as Parquet under FTK_CACHE, named by content,
    and the run's config points there, so the run folder alone reruns it."""
    import datasets
    import pandas as pd

    monkeypatch.setenv("FTK_CACHE", str(tmp_path / "cache"))
    train = pd.DataFrame(read_rows(text_data["train"]))
    test_rows = read_rows(text_data["test"])
    recipe = recipe_dict(tiny_bert, text_data, tmp_path / "run")
    del recipe["data"]["train_file"], recipe["data"]["test_file"]
    result = toolkit.train(recipe, train_data=train, test_data=test_rows, num_train_epochs=2)

    saved = yaml.safe_load((result.run_dir / "run_config.yaml").read_text())["data"]
    for split, rows in (("train", len(train)), ("test", len(test_rows))):
        path = tmp_path / "cache" / "inputs"
        assert saved[f"{split}_file"].startswith(str(path)), saved
        assert len(pd.read_parquet(saved[f"{split}_file"])) == rows
    assert saved["validation_file"] is None  # not given: held out of train_data as usual
    from toolkit.data.in_memory import save_split

    assert str(save_split(train, "train")) == saved["train_file"]  # same data, same file

    in_memory = toolkit.evaluate(result.run_dir, pd.DataFrame(test_rows))
    from_file = toolkit.evaluate(result.run_dir, text_data["test"])
    assert in_memory["accuracy"] == from_file["accuracy"] == result.metrics["test_accuracy"]

    with pytest.raises(toolkit.UserError, match="train_data must be a pandas DataFrame"):
        toolkit.train(recipe, train_data="train.csv")
    both = datasets.DatasetDict(train=datasets.Dataset.from_pandas(train))
    with pytest.raises(toolkit.UserError, match=r"DatasetDict \(splits train\); pass one"):
        toolkit.train(recipe, train_data=both)
    with pytest.raises(toolkit.UserError, match=r"test_data must be .* got list \(empty\)"):
        toolkit.train(recipe, train_data=train, test_data=[])
    unlabelled = train.assign(label=[None, *train["label"][1:]])
    with pytest.raises(toolkit.UserError, match="of the train_data handed over in Python"):
        toolkit.train(recipe, train_data=unlabelled, output_dir=str(tmp_path / "other"))


WRONG_ARGUMENTS = [  # (call, what the UserError says): each was a TypeError or AttributeError
    (lambda: toolkit.train(123), "config must be a recipe"),
    (lambda: toolkit.search(["a.yaml"], trials=1), "config must be a recipe"),
    (lambda: toolkit.pretrain(1.5), "config must be a recipe"),
    (lambda: toolkit.train(None, pretrain=7), "pretrain must be a recipe"),
    (lambda: toolkit.train(None, pretrain="p.yaml", resume=True), "neither resume nor callbacks"),
    (lambda: toolkit.train(None, callbacks=[object()]), "callbacks[0] is object"),
    (lambda: toolkit.train(None, callbacks=CountEpochs()), "callbacks must be a list"),
    (lambda: toolkit.search(None, budget=[30]), "budget must be a duration"),
    (lambda: toolkit.search(None, trials="5"), "trials must be a whole number"),
    (lambda: toolkit.predict(3, ["a"]), "run must be a run or checkpoint folder"),
    (lambda: toolkit.predict("run", 3), "data must be a list of texts, one text (a str)"),
    (lambda: toolkit.predict("run"), "data must be a list of texts"),
    (lambda: toolkit.predict("run", ["a"], topk=2), "no option 'topk'. Did you mean 'top_k'?"),
    (lambda: toolkit.predict("run", ["a"], top_k="2"), "Option 'top_k' must be int, got '2'"),
    (lambda: toolkit.evaluate("run", "d.csv", batch_size=True), "'batch_size' must be int"),
]


@pytest.mark.parametrize("call, says", WRONG_ARGUMENTS)
def test_wrong_arguments_are_user_errors_naming_the_argument(call, says):
    """Refused before anything loads or is written (no model or data exists here)."""
    with pytest.raises(toolkit.UserError) as caught:
        call()
    assert says in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        [{"text": "goal match", "label": 1}, {"text": "bank shares", "label": "b"}],
        {"text": ["goal match", "bank shares"], "label": [1, "b"]},
        "a DataFrame",
    ],
    ids=["row dicts", "dict of columns", "DataFrame"],
)
def test_labels_mixing_numbers_and_strings_name_the_argument_and_column(data, tmp_path):
    """pyarrow's ArrowInvalid ("Could not convert 'b' with type str") named neither."""
    import pandas as pd

    if data == "a DataFrame":
        data = pd.DataFrame({"text": ["goal match", "bank shares"], "label": [1, "b"]})
    with pytest.raises(toolkit.UserError) as caught:
        toolkit.train(None, train_data=data, output_dir=str(tmp_path / "run"))
    said = "column 'label' mixes numbers (e.g. 1, row 1) and strings (e.g. 'b', row 2)"
    assert f"train_data: {said}" in str(caught.value)


@pytest.mark.e2e
def test_a_failed_call_leaves_output_dir_free_for_the_retry(tiny_bert, text_data, tmp_path):
    """A callback that is none failed once training had begun, after history.jsonl was
    written, and the corrected call then found output_dir "already holds files"."""
    recipe = recipe_dict(tiny_bert, text_data, tmp_path / "run")
    quick = {"num_train_epochs": 1, "baseline": {"enabled": False}}
    with pytest.raises(toolkit.UserError, match=r"callbacks\[0\]"):
        toolkit.train(recipe, callbacks=[object()], **quick)
    assert not (tmp_path / "run").exists()
    result = toolkit.train(recipe, callbacks=[CountEpochs()], **quick)
    assert (result.run_dir / "metrics.json").is_file()
