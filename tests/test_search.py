"""`ftk search`: a tiny BERT searched end to end through the CLI, resume, pruning, budget and the
bad inputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import optuna
import pytest
import yaml
from helpers import (
    expect_user_error,
    history_rows,
    make_regression_texts,
    make_texts,
    write_csv,
    write_text_config,
)


@pytest.fixture(scope="module")
def search_inputs(tiny_bert, tmp_path_factory):
    folder = tmp_path_factory.mktemp("search")
    data = {
        "train": write_csv(folder / "train.csv", make_texts(15, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(6, seed=2)),
    }
    return folder, tiny_bert, data


def recipe(search_inputs, name: str, **extra: str):
    folder, model, data = search_inputs
    return write_text_config(
        folder / f"{name}.yaml",
        model,
        data,
        folder / name,
        num_train_epochs="2",
        # the final run's overfitting watch scores this many training texts at each
        # evaluation, which its trial did not: it must not change the training
        overfitting="{train_sample_size: 20}",
        **extra,
    )


def ftk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def three_trials(search_inputs):
    config = recipe(search_inputs, "three")
    result = ftk("search", "--config", str(config), "--trials", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    return search_inputs[0] / "three", result


@pytest.mark.e2e
def test_search_records_three_distinct_trials(three_trials):
    run_dir, result = three_trials
    found = json.loads((run_dir / "search.json").read_text())
    trials = found["trials"]
    assert len(trials) == 3
    assert "Search stopped: 3 trials finished (--trials 3)" in result.stdout
    assert all(t["state"] == "COMPLETE" and t["duration_s"] > 0 for t in trials)
    assert len({json.dumps(t["params"], sort_keys=True) for t in trials}) == 3
    assert set(trials[0]["params"]) == {
        "learning_rate",
        "num_train_epochs",
        "warmup_fraction",
        "weight_decay",
        "per_device_train_batch_size",
        "layer_decay",
        "max_length",  # the classes are even: class_weights is not searched
    }
    assert "max_length in {32, 64}" in found["space"]
    assert (run_dir / "search.png").stat().st_size > 1000
    assert (run_dir / "search.db").is_file()
    assert not (run_dir / "trials").exists(), "trials leave nothing on disk"


@pytest.mark.e2e
def test_run_dir_holds_the_best_trial_scored_once_on_test(three_trials):
    run_dir, _ = three_trials
    found = json.loads((run_dir / "search.json").read_text())
    values = [t["value"] for t in found["trials"]]
    assert found["best_value"] == max(values)
    best = found["trials"][found["best_trial"]]
    run_config = yaml.safe_load((run_dir / "run_config.yaml").read_text())
    params = best["params"]
    for key in ("learning_rate", "num_train_epochs", "weight_decay", "per_device_train_batch_size"):
        assert run_config[key] == pytest.approx(params[key]), key
    assert run_config["schedule"]["warmup_fraction"] == pytest.approx(params["warmup_fraction"])
    assert run_config["schedule"]["layer_decay"] == pytest.approx(params["layer_decay"])
    assert run_config["data"]["max_length"] == params["max_length"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # the chosen trial trained again is the same run: the same validation score
    assert metrics["eval_accuracy"] == pytest.approx(found["best_value"], abs=1e-9)
    assert "test_accuracy" in metrics and found["final_run_test"] == metrics["test_accuracy"]
    assert not any(k.startswith("test") for t in found["trials"] for k in t)
    for name in ("model.safetensors", "report.md", "history.jsonl", "README.md"):
        assert (run_dir / name).is_file(), name


@pytest.mark.e2e
def test_resume_adds_trials_to_the_stopped_search(three_trials, tmp_path):
    copy = tmp_path / "resumed"
    shutil.copytree(three_trials[0], copy)
    config = recipe_path(three_trials[0])
    result = ftk(
        "search", "--config", str(config), "--output_dir", str(copy), "--resume", "--trials", "4"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads((copy / "search.json").read_text())
    before = json.loads((three_trials[0] / "search.json").read_text())
    assert [t["params"] for t in found["trials"][:3]] == [t["params"] for t in before["trials"]]
    assert len(found["trials"]) == 4 and found["trials"][3]["params"] not in [
        t["params"] for t in before["trials"]
    ]
    assert "Search stopped: 4 trials finished (--trials 4)" in result.stdout


@pytest.mark.e2e
def test_a_trial_projected_past_the_budget_is_not_started(three_trials, tmp_path):
    """Each finished trial records its time per token read; a proposed trial whose time,
    projected from the fastest comparable one, and its final run would pass the budget is told
    pruned without training. The finished trials here are made to look 10^4 times slower (in
    the study on disk), so every trial the resumed search proposes is skipped: after
    MOST_SKIPPED_IN_A_ROW in a row the search stops, and the best finished trial is trained."""
    import sqlite3

    from toolkit.run.search.budget import MOST_SKIPPED_IN_A_ROW

    copy = tmp_path / "slow"
    shutil.copytree(three_trials[0], copy)
    before = json.loads((copy / "search.json").read_text())["trials"]
    assert all(t["seconds_per_token"] > 0 for t in before)
    with sqlite3.connect(copy / "search.db") as db:
        db.execute(
            "UPDATE trial_user_attributes SET value_json = CAST(value_json AS REAL) * 10000 "
            "WHERE key = 'seconds_per_token'"
        )
    config = recipe_path(three_trials[0])
    result = ftk(
        "search", "--config", str(config), "--output_dir", str(copy), "--resume",
        "--trials", "5", "--budget", "20m",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    trials = json.loads((copy / "search.json").read_text())["trials"]
    skipped = trials[3:]
    assert len(skipped) == MOST_SKIPPED_IN_A_ROW
    for trial in skipped:
        assert trial["state"] == "PRUNED" and not trial["pruned"] and trial["duration_s"] is None
        assert trial["skipped_for_budget"].startswith("not run for the budget")
    assert result.stdout.count("not run for the budget") == MOST_SKIPPED_IN_A_ROW
    assert f"the last {MOST_SKIPPED_IN_A_ROW} trials proposed would not fit" in result.stdout
    assert (copy / "model.safetensors").is_file()  # the best finished trial, trained again


@pytest.mark.e2e
def test_resume_with_another_config_names_the_differences(three_trials, tmp_path, capsys):
    copy = tmp_path / "other"
    shutil.copytree(three_trials[0], copy)
    config = recipe_path(three_trials[0])
    args = ["search", "--config", str(config), "--output_dir", str(copy), "--resume"]
    err = expect_user_error([*args, "--trials", "4", "--learning_rate", "1e-3"], capsys)
    assert "learning_rate: 0.005 in the search, 0.001 now" in err
    assert len(json.loads((copy / "search.json").read_text())["trials"]) == 3


def recipe_path(run_dir):
    return run_dir.parent / f"{run_dir.name}.yaml"


@pytest.mark.e2e
def test_a_trial_that_lags_is_pruned_before_its_last_epoch(tiny_bert, tmp_path):
    """A learning rate too small to learn anything lags the trials that learn: the median
    pruner stops it at its first evaluation of four, and the chosen run loads in a pipeline."""
    data = {  # 120 texts, a quarter held out: validation scores that tell learning from chance
        "train": write_csv(tmp_path / "train.csv", make_texts(40, seed=3)),
        "test": write_csv(tmp_path / "test.csv", make_texts(6, seed=4)),
    }
    config = write_text_config(
        tmp_path / "pruning.yaml", tiny_bert, data, tmp_path / "run", num_train_epochs="4"
    )
    only_the_rate = [f"--search.{key}" for key in SEARCHED_KEYS if key != "learning_rate"]
    result = ftk(
        "search",
        "--config",
        str(config),
        "--trials",
        "4",
        "--data.validation_size",
        "0.25",
        "--early_stopping.patience",
        "null",
        "--search.startup_trials",
        "1",
        "--search.learning_rate",
        "{choices: [5e-3, 1e-9]}",
        *[item for key in only_the_rate for item in (key, "off")],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads((tmp_path / "run" / "search.json").read_text())
    trials = found["trials"]
    pruned = [t for t in trials if t["pruned"]]
    assert pruned and all(t["params"]["learning_rate"] == 1e-9 for t in pruned), trials
    assert all(len(t["evaluations"]) == 1 for t in pruned)
    assert "lags the median" in result.stdout
    assert found["best_params"]["learning_rate"] == 5e-3
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(tmp_path / "run"), device="cpu")
    labels = {row[1] for row in make_texts(1, seed=0)}
    assert {p["label"] for p in classify(["a text", "another text"])} <= labels


@pytest.mark.e2e
def test_k_fold_search_scores_each_trial_by_the_mean_of_its_folds(search_inputs):
    config = recipe(search_inputs, "folds")
    result = ftk("search", "--config", str(config), "--trials", "2", "--search.folds", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = search_inputs[0] / "folds"
    found = json.loads((run_dir / "search.json").read_text())
    assert found["folds"] == 3 and len(found["trials"]) == 2
    assert "k-fold: train + validation" in result.stdout and "stratified by class" in result.stdout
    for trial in found["trials"]:
        assert trial["state"] == "COMPLETE" and len(trial["evaluations"]) == 3, trial
        assert trial["value"] == pytest.approx(sum(trial["evaluations"]) / 3)
    assert "over 3 folds" in result.stdout
    # the chosen trial is trained once on the recipe's own split, scored once on test
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "test_accuracy" in metrics and (run_dir / "model.safetensors").is_file()


@pytest.mark.e2e
def test_k_fold_search_of_a_regression_task_minimises_the_mean_fold_error(tiny_bert, tmp_path):
    """A numeric target takes the unstratified folds and the error metric's direction: the
    chosen trial is the one with the lowest mean validation rmse over its folds."""
    data = {
        "train": write_csv(tmp_path / "train.csv", make_regression_texts(60, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_regression_texts(12, seed=2)),
    }
    config = write_text_config(
        tmp_path / "reg.yaml", tiny_bert, data, tmp_path / "run", task="text-regression"
    )
    args = ["--trials", "2", "--search.folds", "3", "--num_train_epochs", "2"]
    result = ftk("search", "--config", str(config), *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "in 3 folds at random" in result.stdout
    found = json.loads((tmp_path / "run" / "search.json").read_text())
    assert found["folds"] == 3 and found["metric"] == "eval_rmse"
    assert found["direction"] == "minimize"
    values = [trial["value"] for trial in found["trials"]]
    assert all(len(trial["evaluations"]) == 3 for trial in found["trials"])
    assert found["best_trial"] == values.index(min(values))
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "test_rmse" in metrics


def loaded_topics(counts: dict[str, int]):
    """LoadedData with train and validation splits of `counts` examples per class (2/3 train)."""
    import datasets

    from toolkit.data.load import LoadedData

    names = sorted(counts)
    labels = [names.index(name) for name in names for _ in range(counts[name])]
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)}
    )
    rows = datasets.Dataset.from_dict(
        {"text": [f"text {i}" for i in range(len(labels))], "label": labels}, features=features
    ).shuffle(seed=0)
    cut = len(rows) * 2 // 3
    splits = datasets.DatasetDict(
        train=rows.select(range(cut)), validation=rows.select(range(cut, len(rows)))
    )
    return LoadedData(splits, names, "label")


def test_folds_pool_train_and_validation_into_disjoint_stratified_parts(capsys):
    from toolkit.data.folds import fold_splits

    folds = fold_splits(loaded_topics({"a": 30, "b": 12, "c": 6}), k=3, seed=1)
    held_out = [text for fold in folds for text in fold["validation"]["text"]]
    assert sorted(held_out) == sorted(f"text {i}" for i in range(48))  # each example once
    for fold in folds:
        assert not set(fold["train"]["text"]) & set(fold["validation"]["text"])
        assert len(fold["train"]) + len(fold["validation"]) == 48
        assert sorted(fold["validation"]["label"]).count(2) == 2  # 6 of class c, 2 per fold
    assert "in 3 folds stratified by class" in capsys.readouterr().out


def test_folds_fall_back_to_random_parts_when_a_class_is_too_small(capsys):
    from toolkit.core.errors import UserError
    from toolkit.data.folds import fold_splits

    folds = fold_splits(loaded_topics({"a": 30, "b": 2}), k=3, seed=1)
    assert len(folds) == 3 and sum(len(f["validation"]) for f in folds) == 32
    assert "at random (a class has only 2 examples, fewer than 3)" in capsys.readouterr().out
    with pytest.raises(UserError, match=r"search.folds is 20 but train \+ validation hold 32"):
        fold_splits(loaded_topics({"a": 30, "b": 2}), k=20, seed=1)


# ----------------------------------------------------------------------------- pruning


class FakeControl:
    should_training_stop = False


def study_with_one_trial(first_score: float):
    """An in-memory study whose only finished trial scored `first_score` at evaluation 1, with
    a median pruner that may stop the next trial at once."""
    import optuna

    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=1)
    )
    study.add_trial(
        optuna.trial.create_trial(value=first_score, intermediate_values={1: first_score})
    )
    return study


@pytest.mark.parametrize(("score", "pruned"), [(0.2, True), (0.95, False)])
def test_pruning_callback_stops_a_trial_below_the_median(score, pruned):
    from toolkit.training.pruning import PruningCallback

    study = study_with_one_trial(0.9)
    trial = study.ask()
    callback = PruningCallback(trial, "eval_f1_macro")
    control = FakeControl()
    callback.on_evaluate(None, None, control, metrics={"eval_f1_macro": score, "eval_loss": 1.0})
    assert callback.pruned is pruned and control.should_training_stop is pruned
    assert callback.scores == [score]
    assert study.trials[1].intermediate_values == {1: score}


def test_pruning_callback_ignores_evaluations_without_its_metric():
    from toolkit.training.pruning import PruningCallback

    study = study_with_one_trial(0.9)
    callback = PruningCallback(study.ask(), "eval_f1_macro")
    callback.on_evaluate(None, None, FakeControl(), metrics={"eval_loss": 1.0})
    assert callback.scores == [] and not callback.pruned


# ----------------------------------------------------------------------------- budget


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1.5m", 90), (" 2M ", 120)],
)
def test_budget_parses_durations(text, seconds):
    from toolkit.config.search_space import parse_budget

    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["30", "ten minutes", "30x", "m", "0m", "", "1h-5m"])
def test_unparsable_budget_is_refused_before_anything_loads(text, search_inputs, capsys):
    config = recipe(search_inputs, "budget")
    err = expect_user_error(["search", "--config", str(config), "--budget", text], capsys)
    assert "--budget" in err


def test_budget_stops_when_the_next_trial_and_the_final_run_would_not_fit():
    from toolkit.run.search.budget import budget_exhausted

    assert budget_exhausted(0, [], 60) is None  # nothing to estimate from: the first one runs
    assert budget_exhausted(100, [], 60) is not None
    assert budget_exhausted(15, [20, 20], 60) is None  # 15 + 20 + 1.25 x 20 = 60 fits
    reason = budget_exhausted(16, [20, 20], 60)
    assert reason and "another trial (about 20 s)" in reason and "(about 25 s)" in reason
    # the final run is reserved as the longest trial, not the mean: 10 + 20 + 1.25 x 30 > 60
    assert budget_exhausted(10, [10, 30], 60) is not None
    # a 3-fold trial trains 3 models, the final run one: 10 + 30 + 1.25 x 10 fits in 60
    assert budget_exhausted(10, [30, 30], 60, runs_per_trial=3) is None


# ----------------------------------------------------------------------------- bad input

SEARCHED_KEYS = (
    "learning_rate",
    "num_train_epochs",
    "warmup_fraction",
    "weight_decay",
    "per_device_train_batch_size",
    "layer_decay",
    "max_length",
    "class_weights",
)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["--search.learnig_rate", "[1e-5, 1e-4]"], "search.learnig_rate"),
        (["--search.learning_rate", "[1e-4, 1e-5]"], "empty range"),
        (["--search.weight_decay", "{choices: []}"], "non-empty list"),
        (["--search.warmup_fraction", "[0.1, 1.5]"], "outside the values"),
        (["--search.learning_rate", "{low: 0, high: 1e-4, log: true}"], "outside the values"),
        (["--search.num_train_epochs", "fast"], "search.num_train_epochs"),
        (["--search.folds", "1"], "search.folds"),
        (["--search.max_length", "{choices: [0]}"], "Config key 'search.max_length' holds 0"),
        (["--search.max_length", "{choices: [1024]}"], "'search.max_length' reaches 1024"),
        (["--search.class_weights", "{choices: [none, inverse]}"], "'search.class_weights'"),
        (["--search.folds", "40"], "search.folds is 40 but train + validation hold"),
        (
            [item for key in SEARCHED_KEYS for item in (f"--search.{key}", "off")],
            "nothing is left to search",
        ),
        (["--task", "masked-lm"], "pre-training"),
        (
            ["--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false"],
            "eval_strategy is no",
        ),
    ],
)
def test_bad_search_settings_exit_2(overrides, expected, search_inputs, capsys):
    config = recipe(search_inputs, "bad")
    err = expect_user_error(
        ["search", "--config", str(config), "--trials", "2", *overrides], capsys
    )
    assert expected in err


def test_a_fold_count_too_large_for_the_data_leaves_no_search_dir(search_inputs, capsys):
    """Found only once the data is loaded, yet before the directory is made: the rerun with a
    right count needs no --overwrite."""
    config = recipe(search_inputs, "toomanyfolds")
    args = ["search", "--config", str(config), "--trials", "1", "--search.folds", "40"]
    assert "search.folds is 40" in expect_user_error(args, capsys)
    assert not (search_inputs[0] / "toomanyfolds").exists()


def test_search_without_a_limit_or_with_resume_but_no_study_exits_2(search_inputs, capsys):
    config = recipe(search_inputs, "nolimit")
    assert "--budget" in expect_user_error(["search", "--config", str(config)], capsys)
    err = expect_user_error(
        ["search", "--config", str(config), "--trials", "1", "--resume"], capsys
    )
    assert "search.db" in err


@pytest.mark.e2e
def test_a_trial_out_of_memory_is_recorded_and_the_search_goes_on(
    search_inputs, monkeypatch, capsys
):
    """The first trial runs out of memory; the next ones run, and the test split is predicted
    once, by the final run."""
    import torch

    from toolkit.cli import main
    from toolkit.training.trainer import ToolkitTrainer

    calls = {"train": 0, "test": 0}
    train, predict = ToolkitTrainer.train, ToolkitTrainer.predict

    def train_or_fail(self, *args, **kwargs):
        calls["train"] += 1
        if calls["train"] == 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return train(self, *args, **kwargs)

    def counting_predict(self, dataset, *args, metric_key_prefix="test", **kwargs):
        calls["test"] += metric_key_prefix == "test"
        return predict(self, dataset, *args, metric_key_prefix=metric_key_prefix, **kwargs)

    monkeypatch.setattr(ToolkitTrainer, "train", train_or_fail)
    monkeypatch.setattr(ToolkitTrainer, "predict", counting_predict)
    config = recipe(search_inputs, "oom")
    assert main(["search", "--config", str(config), "--trials", "2"]) == 0
    assert "ran out of memory" in capsys.readouterr().err
    found = json.loads((search_inputs[0] / "oom" / "search.json").read_text())
    assert [t["state"] for t in found["trials"]] == ["FAIL", "COMPLETE"]
    assert found["best_trial"] == 1
    assert calls == {"train": 3, "test": 1}  # two trials and the final run; test seen once


@pytest.mark.e2e
def test_two_processes_search_together_and_write_one_study(search_inputs, tmp_path):
    """Under `accelerate launch` every process trains every trial; the main process asks the
    study and decides on pruning, and the others follow: same trials, one search.json, the
    chosen trial trained into the run directory."""
    from helpers import launch_two_processes

    config = recipe(search_inputs, "ddp", ddp_backend="gloo")
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home")}  # no user accelerate config
    args = ["search", "--config", str(config), "--trials", "3", "--search.startup_trials", "1"]
    # 4 epochs each (not searched), so a trial the pruner stops leaves epochs untrained
    fixed = ["--num_train_epochs", "4", "--search.num_train_epochs", "off"]
    result = launch_two_processes([*args, *fixed], env)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = search_inputs[0] / "ddp"
    found = json.loads((run_dir / "search.json").read_text())
    assert len(found["trials"]) == 3 and "Processes: 2" in result.stdout
    assert result.stdout.count("Search stopped: 3 trials finished") == 1, "main process only"
    # whether the pruner stops one of these trials is up to their scores; that every process
    # then stops is checked directly below
    assert {t["state"] for t in found["trials"]} <= {"COMPLETE", "PRUNED"}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["eval_accuracy"] == pytest.approx(found["best_value"], abs=1e-9)
    assert (run_dir / "model.safetensors").is_file() and not (run_dir / "trials").exists()


def prune_on_two_processes(rank: int, port: int, score: float, answers) -> None:
    """One process of a 2-process group: the main one holds the study and its trial, the
    other only the callback; each reports whether it stopped training."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1")
    os.environ["MASTER_PORT"] = str(port)
    from accelerate import PartialState

    from toolkit.training.pruning import PruningCallback

    PartialState(cpu=True, backend="gloo")
    trial = study_with_one_trial(0.9).ask() if rank == 0 else None
    control = FakeControl()
    PruningCallback(trial, "eval_f1_macro").on_evaluate(
        None, None, control, metrics={"eval_f1_macro": score}
    )
    answers.put((rank, control.should_training_stop))
    answers.close()
    answers.join_thread()  # the answer has left this process
    # as an ftk process of a multi-process run ends (core/distributed.py): the group closed
    # first, then no interpreter finalization, where gloo's threads can abort the process
    from toolkit.core.distributed import close_process_group, exit_without_finalizing

    close_process_group(finished=True)
    exit_without_finalizing(0)


@pytest.mark.e2e
@pytest.mark.parametrize(("score", "pruned"), [(0.2, True), (0.95, False)])
def test_every_process_stops_where_the_main_process_prunes(score, pruned):
    """Only the main process asks the pruner; a process that went on alone would wait
    forever for the others in the next gradient all-reduce."""
    import multiprocessing

    from test_distributed import free_port

    context = multiprocessing.get_context("spawn")
    answers = context.Queue()
    port = free_port()
    workers = [
        context.Process(target=prune_on_two_processes, args=(rank, port, score, answers))
        for rank in (0, 1)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert sorted(answers.get(timeout=5) for _ in workers) == [(0, pruned), (1, pruned)]


@pytest.mark.e2e
def test_the_overfitting_watch_does_not_change_training(search_inputs):
    """The chosen trial is retrained with the overfitting watch, which its trial ran without:
    scoring the training sample must leave the next epochs' shuffle and dropout alone."""
    from toolkit.commands.train import train
    from toolkit.config.load import load_config

    folder = search_inputs[0]
    losses = []
    for size in (0, 20):
        config = load_config(
            recipe(search_inputs, f"watch{size}"),
            [f"--overfitting.train_sample_size={size}", "--early_stopping.patience=null"],
        )
        train(config)
        rows = history_rows(folder / f"watch{size}")
        losses.append([r["eval_loss"] for r in rows if "eval_loss" in r])
    assert len(losses[0]) == 3 and losses[0] == losses[1]  # 2 epochs + the kept model


def test_a_trial_is_projected_from_the_fastest_comparable_finished_one():
    """Comparable: no longer max_length and no fewer examples a step (a token costs no less
    in either), so the projection is a least time; images (no max_length) compare with
    images."""
    from optuna.trial import TrialState, create_trial

    from toolkit.run.search.budget import least_seconds_per_token

    def finished(rate, length, step_examples):
        attrs = {"seconds_per_token": rate, "max_length": length}
        attrs["examples_per_step"] = step_examples
        return create_trial(state=TrialState.COMPLETE, value=0.5, user_attrs=attrs)

    trials = [finished(0.04, 128, 16), finished(0.02, 64, 32), finished(0.01, 512, 32)]
    assert least_seconds_per_token(trials, 128, 16) == 0.02
    assert least_seconds_per_token(trials, 128, 32) == 0.02  # 16 a step: not comparable
    assert least_seconds_per_token(trials, 96, 16) == 0.02
    assert least_seconds_per_token(trials, 32, 16) is None  # none as short: it runs
    assert least_seconds_per_token(trials, 512, 64) is None  # none with steps as large
    assert least_seconds_per_token([finished(0.3, None, 8)], None, 8) == 0.3
    assert least_seconds_per_token([finished(0.3, None, 8)], 64, 8) is None


def test_a_trial_is_not_started_when_it_and_its_final_run_would_pass_the_budget():
    from toolkit.run.search.budget import trial_would_overrun

    # 20 s spent; a 40 s trial and its final run of 1.25 x 40 = 50 s
    assert trial_would_overrun(20, 40, 110) is None  # 20 + 40 + 50 = 110 fits
    reason = trial_would_overrun(20, 40, 100)
    assert reason and "at least 40 s" in reason and "(about 50 s)" in reason


def test_trial_overruns_when_its_rest_and_the_final_run_pass_the_budget():
    from toolkit.run.search.budget import trial_overruns

    # half done after 20 s: 20 s more, then a final run of 1.25 x 40 = 50 s
    assert trial_overruns(20, 20, 0.5, 90) is None  # 20 + 20 + 50 = 90 fits
    reason = trial_overruns(20, 20, 0.5, 60)
    assert reason and "rest of this trial (about 20 s)" in reason and "(about 50 s)" in reason
    assert trial_overruns(20, 20, 1.0, 10) is None  # a finished trial is not stopped
    assert trial_overruns(0, 0, 0.0, 10) is None  # no progress yet: nothing to project


@pytest.mark.e2e
def test_search_names_the_metric_the_data_put_first_and_stops_a_trial_for_the_budget(
    search_inputs, tmp_path
):
    """Uneven classes move f1_macro first: the trials and the space name it (not the recipe's
    first metric). A trial that would overrun a tiny budget is stopped at its first
    evaluation, saying why, and is no candidate: its final run, in full, would not fit, so a
    search whose every trial stopped so chooses none and says to give more time."""
    _, model, data = search_inputs
    rows = make_texts(20, seed=5)
    majority = rows[0][1]
    uneven = [r for r in rows if r[1] == majority] + [r for r in rows if r[1] != majority][:6]
    data = {"train": write_csv(tmp_path / "train.csv", uneven), "test": data["test"]}
    config = write_text_config(
        tmp_path / "uneven.yaml", model, data, tmp_path / "run", num_train_epochs="3"
    )
    result = ftk("search", "--config", str(config), "--trials", "1", "--budget", "1s")
    assert result.returncode == 2, result.stderr[-3000:]
    assert "f1_macro moved first" in result.stdout
    # uneven classes: the loss's class weights are searched too, and data.max_length
    assert "max_length in {32, 64}; class_weights in {none, balanced}" in result.stdout
    assert "stopped here for the budget" in result.stdout
    assert "validation f1_macro" in result.stdout and "not a candidate" in result.stdout
    assert "No trial of the search ran to the end" in result.stderr
    assert "Traceback" not in result.stderr
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{tmp_path / 'run/search.db'}")
    (trial,) = study.get_trials()
    assert (
        trial.state.name == "PRUNED" and "for the budget" in trial.user_attrs["stopped_for_budget"]
    )


@pytest.mark.e2e
def test_ctrl_c_ends_a_search_with_a_resume_hint_and_no_traceback(search_inputs):
    import signal

    config = recipe(search_inputs, "interrupted")
    command = [sys.executable, "-m", "toolkit", "search", "--config", str(config), "--trials", "50"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    assert process.stdout is not None
    for line in process.stdout:  # interrupt once the first trial is training
        if line.startswith("Trial 1"):
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert "Stopped (Ctrl-C)" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr


# ----------------------------------------------------------------------------- data parameters


def long_uneven_texts(sizes: dict[int, int]):
    """Texts longer than the tiny BERT reads (30 short ones of a class joined), `sizes`: texts
    per class, by the class's place in TOPIC_WORDS: uneven classes, and a length to search."""
    import random

    rows = make_texts(30, seed=7)
    labels = sorted({label for _, label in rows})
    rng = random.Random(0)
    joined = []
    for place, count in sizes.items():
        texts = [text for text, label in rows if label == labels[place]]
        joined += [(" ".join(rng.sample(texts, 30)), labels[place]) for _ in range(count)]
    rng.shuffle(joined)
    return joined


@pytest.mark.e2e
def test_a_trial_trains_at_its_max_length_and_the_final_run_records_its_values(
    tiny_bert, tmp_path, monkeypatch, capsys
):
    """max_length left to derive (the space is built around the derived length, not the
    placeholder); each trial's Trainer sees inputs of its own length, each length tokenized
    once; the final run trains at the chosen trial's length and class weights and records
    them in run_config.yaml."""
    import re

    from toolkit.cli import main
    from toolkit.config.search_space import length_choices
    from toolkit.training.trainer import ToolkitTrainer

    data = {
        "train": write_csv(tmp_path / "train.csv", long_uneven_texts({0: 20, 1: 4, 2: 4})),
        "test": write_csv(tmp_path / "test.csv", make_texts(3, seed=8)),
    }
    recipe_file = tmp_path / "long.yaml"
    recipe_file.write_text(
        f"task: text-classification\nmodel: {{name_or_path: '{tiny_bert}'}}\n"
        f"data: {{train_file: '{data['train']}', test_file: '{data['test']}'}}\n"
        f"output_dir: '{tmp_path / 'run'}'\nnum_train_epochs: 1\nlearning_rate: 5e-3\n"
        "per_device_train_batch_size: 8\nuse_cpu: true\ndataloader_pin_memory: false\n"
        "save_total_limit: 1\n"
    )
    seen: dict[str, tuple[int, bool]] = {}  # output_dir -> longest input, weighted loss
    train = ToolkitTrainer.train

    def recording_train(self, *args, **kwargs):
        lengths = [len(ids) for ids in self.train_dataset["input_ids"]]
        seen[self.args.output_dir] = (max(lengths), self.class_weights is not None)
        return train(self, *args, **kwargs)

    monkeypatch.setattr(ToolkitTrainer, "train", recording_train)
    others = [k for k in SEARCHED_KEYS if k not in ("max_length", "class_weights")]
    off = [item for key in others for item in (f"--search.{key}", "off")]
    args = ["search", "--config", str(recipe_file), "--trials", "4", *off]
    assert main([*args, "--early_stopping.patience", "null", "--search.pruner", "none"]) == 0
    out = capsys.readouterr().out
    length = int(re.search(r"Chosen for this data: data.max_length (\d+)", out).group(1))
    assert length == 128  # every text is longer than the tiny BERT reads
    choices = length_choices(length, 128)  # (64, 128): 2 L is past the model's limit
    space = f"max_length in {{{', '.join(map(str, choices))}}}"
    assert f"Search space: {space}; class_weights in {{none, balanced}}" in out
    found = json.loads((tmp_path / "run" / "search.json").read_text())
    assert found["space"] == [space, "class_weights in {none, balanced}"]
    trials = found["trials"]
    assert {t["state"] for t in trials} == {"COMPLETE"}
    for trial in trials:
        folder = str(tmp_path / "run" / "trials" / f"trial-{trial['number']:03d}")
        params = trial["params"]
        assert seen[folder] == (params["max_length"], params["class_weights"] == "balanced")
    lengths = {t["params"]["max_length"] for t in trials}
    assert len(lengths) > 1, "the seeded sampler tried two lengths"
    for other in lengths - {length}:  # each other length tokenized once, by its first trial
        assert out.count(f"Data tokenized again at data.max_length {other}:") == 1, out
    best = found["best_params"]
    run_config = yaml.safe_load((tmp_path / "run" / "run_config.yaml").read_text())
    assert run_config["data"]["max_length"] == best["max_length"]
    assert run_config["class_weights"] == (None if best["class_weights"] == "none" else "balanced")
    assert seen[str(tmp_path / "run")] == (best["max_length"], best["class_weights"] == "balanced")
    assert (tmp_path / "run" / "search.png").is_file()


def test_a_trials_tokens_are_its_mean_input_ids_or_one_for_an_untokenized_split():
    import datasets

    from toolkit.run.search.trials import tokens_per_example

    texts = datasets.Dataset.from_dict({"input_ids": [[1, 2, 3], [1, 2, 3, 4, 5]], "label": [0, 1]})
    assert tokens_per_example(texts) == 4.0
    images = datasets.Dataset.from_dict({"pixel_values": [[0.0], [1.0]], "label": [0, 1]})
    assert tokens_per_example(images) == 1.0
