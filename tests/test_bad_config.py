"""Config values and habits that used to run silently wrong or end in a traceback: numbers out
of range, metric names that would run code, script-only TrainingArguments fields, and an
--overwrite that would delete what is not an earlier ftk run. Each is refused before any data
or model loads, with exit status 2 and a message naming the key."""

from __future__ import annotations

import pytest
from helpers import expect_user_error, write_text_config

from toolkit.cli import main
from toolkit.config.load import load_config
from toolkit.core.errors import UserError
from toolkit.outputs.run_dir import check_output_dir_free


@pytest.fixture()
def recipe(tiny_bert, text_data, tmp_path):
    return write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("num_train_epochs", "0", "'num_train_epochs' must be > 0, got 0"),
        ("num_train_epochs", "-1", "'num_train_epochs' must be > 0"),
        ("per_device_train_batch_size", "0", "'per_device_train_batch_size' must be >= 1"),
        ("per_device_eval_batch_size", "-1", "'per_device_eval_batch_size' must be >= 1"),
        ("learning_rate", "0", "'learning_rate' must be > 0"),
        ("learning_rate", "-5e-5", "'learning_rate' must be > 0"),
        ("gradient_accumulation_steps", "0", "'gradient_accumulation_steps' must be >= 1"),
        ("max_steps", "0", "'max_steps' must be >= 1 (or -1)"),
        ("weight_decay", "-0.1", "'weight_decay' must be >= 0"),
        ("logging_steps", "0", "'logging_steps' must be > 0"),
        ("data.max_train_samples", "0", "'data.max_train_samples' must be >= 1"),
        ("data.validation_size", "1.5", "'data.validation_size' must be in (0, 1)"),
        ("early_stopping.patience", "0", "'early_stopping.patience' must be >= 1"),
        ("augment.horizontal_flip", "2", "'augment.horizontal_flip' must be in [0, 1]"),
        ("augment.randaugment_magnitude", "31", "'augment.randaugment_magnitude' must be in"),
        ("overfitting.train_sample_size", "-1", "'overfitting.train_sample_size' must be >= 0"),
        ("overfitting.max_epoch_share", "0", "'overfitting.max_epoch_share' must be in (0, 1]"),
    ],
)
def test_numbers_out_of_range_fail_at_config_time(recipe, key, value, expected, capsys):
    err = expect_user_error(
        ["train", "--config", str(recipe), "--print-config", f"--{key}", value], capsys
    )
    assert expected in err


def test_special_values_inside_the_ranges_still_work(recipe):
    config = load_config(
        recipe,
        [
            "--max_steps",
            "-1",
            "--early_stopping.patience",
            "null",
            "--overfitting.train_sample_size",
            "0",
            "--overfitting.max_epoch_share",
            "null",
        ],
    )
    assert config.training["max_steps"] == -1 and config.early_stopping.patience is None
    assert config.overfitting.max_epoch_share is None


def test_a_metric_name_never_runs_code_from_the_working_directory(
    recipe, tmp_path, capsys, monkeypatch
):
    marker = tmp_path / "probe-ran"
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "probe.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    err = expect_user_error(
        ["train", "--config", str(recipe), "--print-config", "--metrics", "[probe]"], capsys
    )
    assert "'probe', which is not a metric ftk ships" in err and "accuracy" in err
    err = expect_user_error(["train", "--config", str(recipe), "--metrics", "[probe]"], capsys)
    assert not marker.exists()


ERROR_RATE_SCRIPT = """
import datasets
import evaluate


class ErrorRate(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="share of wrong predictions",
            citation="",
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references):
        wrong = sum(p != r for p, r in zip(predictions, references))
        return {"error_rate": wrong / len(references)}
"""


def test_trust_metric_code_opts_in_to_a_metric_of_ones_own(recipe, tmp_path, capsys):
    """The opt-in: with trust_metric_code the named folder's evaluate script is loaded and
    scores predictions; the refusal without it names the opt-in."""
    from toolkit.config.load import load_config
    from toolkit.metrics.classification import prediction_scorer

    metric = tmp_path / "error_rate"
    metric.mkdir()
    (metric / "error_rate.py").write_text(ERROR_RATE_SCRIPT)
    err = expect_user_error(
        ["train", "--config", str(recipe), "--print-config", "--metrics", f"[{metric}]"], capsys
    )
    assert "set trust_metric_code: true to allow that" in err
    config = load_config(recipe, [f"--metrics=[{metric}, accuracy]", "--trust_metric_code"])
    assert config.trust_metric_code and config.to_dict()["trust_metric_code"] is True
    score = prediction_scorer(config.metrics, config.trust_metric_code)
    assert score([0, 1, 1, 0], [0, 1, 0, 0]) == {str(metric): 0.25, "accuracy": 0.75}


def test_a_trusted_metric_that_does_not_load_is_a_user_error(tmp_path):
    from toolkit.core.errors import UserError
    from toolkit.metrics.classification import prediction_scorer

    with pytest.raises(UserError, match=r"could not be loaded by evaluate\.load"):
        prediction_scorer([str(tmp_path / "no-such-metric")], trust_code=True)


def test_a_typo_in_a_metric_name_gets_a_suggestion(recipe, capsys):
    err = expect_user_error(
        ["train", "--config", str(recipe), "--print-config", "--metrics", "[f1_marco]"], capsys
    )
    assert "Did you mean 'f1_macro'?" in err


@pytest.mark.parametrize(
    "flag, pointer",
    [
        ("--resume_from_checkpoint runs/x/checkpoint-500", "`ftk train --resume`"),
        ("--do_predict true", "`ftk predict RUN --input FILE`"),
        ("--do_eval true", "`ftk evaluate RUN --data FILE`"),
        ("--do_train true", "ftk always trains"),
    ],
)
def test_script_only_training_arguments_are_refused_with_a_pointer(recipe, flag, pointer, capsys):
    key, value = flag.split(" ", 1)
    err = expect_user_error(["train", "--config", str(recipe), key, value], capsys)
    assert f"Config key '{key[2:]}' is not accepted" in err and pointer in err


# ----------------------------------------------------------------------------- --overwrite


def test_overwrite_refuses_a_folder_that_is_not_an_ftk_run(recipe, tmp_path, capsys):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    err = expect_user_error(
        ["train", "--config", str(recipe), "--output_dir", str(folder), "--overwrite"], capsys
    )
    assert "is not an earlier ftk run" in err and "thesis.tex" in err
    assert (folder / "thesis.tex").read_text() == "years of work"


def test_overwrite_refuses_the_working_directory(recipe, tmp_path, capsys, monkeypatch):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "run_config.yaml").write_text("looks like a run\n")  # even a run-like cwd
    (project / "code.py").write_text("print()\n")
    monkeypatch.chdir(project)
    for output_dir in (".", str(project), ".."):
        err = expect_user_error(
            ["train", "--config", str(recipe), "--output_dir", output_dir, "--overwrite"], capsys
        )
        assert "is the working directory or a folder above it" in err
    assert (project / "code.py").is_file()


def test_overwrite_refuses_a_run_folder_that_holds_this_runs_data(tiny_bert, tmp_path, capsys):
    from helpers import make_texts, write_csv

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run_config.yaml").write_text("task: text-classification\n")
    data = {
        "train": write_csv(run_dir / "train.csv", make_texts(10, seed=1)),
        "test": write_csv(run_dir / "test.csv", make_texts(5, seed=2)),
    }
    recipe = write_text_config(tmp_path / "c.yaml", tiny_bert, data, run_dir)
    err = expect_user_error(["train", "--config", str(recipe), "--overwrite"], capsys)
    assert "holds an input of this run" in err and "train.csv" in err
    assert (run_dir / "train.csv").is_file() and (run_dir / "test.csv").is_file()


def test_overwrite_still_replaces_an_earlier_run(tmp_path):
    for marker in ("run_config.yaml", "history.jsonl", "checkpoint-3"):
        run_dir = tmp_path / marker.replace(".", "-")
        (run_dir / marker).parent.mkdir(parents=True)
        if marker.startswith("checkpoint"):
            (run_dir / marker).mkdir()
        else:
            (run_dir / marker).write_text("x")
        check_output_dir_free(run_dir, overwrite=True)  # no error: an earlier ftk run


def test_overwrite_through_a_symbolic_link_deletes_nothing(tmp_path):
    """The link's folder is an earlier run among other files: --overwrite used to pass the
    check (the folder is a run) and then fail in rmtree after the model loaded."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "history.jsonl").write_text("{}\n")
    (shared / "notes.txt").write_text("kept")
    link = tmp_path / "linked"
    link.symlink_to(shared)
    with pytest.raises(UserError, match="ftk does not delete through a link"):
        check_output_dir_free(link, overwrite=True)
    assert link.is_symlink() and sorted(p.name for p in shared.iterdir()) == [
        "history.jsonl",
        "notes.txt",
    ]


@pytest.mark.e2e
def test_an_unfinished_run_points_to_resume(recipe, tmp_path, capsys):
    run_dir = tmp_path / "run"
    (run_dir / "checkpoint-4").mkdir(parents=True)
    (run_dir / "checkpoint-4" / "trainer_state.json").write_text('{"global_step": 4}')
    (run_dir / "history.jsonl").write_text("")
    err = expect_user_error(["train", "--config", str(recipe)], capsys)
    assert "is an unfinished run" in err
    assert f"Resume it from checkpoint-4 with `ftk train --resume --output_dir {run_dir}`" in err
    assert main(["train", "--config", str(recipe), "--print-config"]) == 0


@pytest.mark.e2e
def test_an_unfinished_run_without_a_complete_checkpoint_points_to_overwrite(
    recipe, tmp_path, capsys
):
    """Its only checkpoint was cut off while being saved, so --resume would refuse it: the
    rerun must not send the user there (it did)."""
    run_dir = tmp_path / "run"
    (run_dir / "checkpoint-4").mkdir(parents=True)
    (run_dir / "history.jsonl").write_text("")
    err = expect_user_error(["train", "--config", str(recipe)], capsys)
    assert "There is nothing to resume: it holds only incomplete checkpoints" in err
    assert f"Start again with `ftk train --overwrite --output_dir {run_dir}`" in err
    assert "--resume`" not in err


def test_no_packaged_recipe_forces_the_cpu():
    """A recipe with `use_cpu: true` trains on the CPU even on a GPU machine, silently."""
    from toolkit.config.recipes import RECIPES

    recipes = sorted(RECIPES.glob("*.yaml"))
    assert len(recipes) >= 5
    for recipe in recipes:
        assert not load_config(recipe).training.get("use_cpu"), recipe.name


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("learning_rate", "inf", "must be a finite number > 0, got inf"),
        ("num_train_epochs", "inf", "must be a finite number > 0, got inf"),
        ("learning_rate", "nan", "must be a finite number > 0"),
        ("seed", "4294967296", "must be in [0, 4294967295], got 4294967296"),
    ],
)
def test_infinite_and_oversized_numbers_are_refused_before_anything_loads(key, value, said):
    with pytest.raises(UserError) as refused:
        load_config(None, [f"--{key}", value])
    assert said in str(refused.value)


@pytest.mark.parametrize(
    "inside, said",
    [
        (("a.yaml", "b.yml"), "it holds a.yaml, b.yml: give one of them, e.g. --config"),
        (("run_config.yaml", "metrics.json"), "it is the folder of a run: --config"),
        ((), "it holds no .yaml file"),
    ],
)
def test_a_folder_given_as_the_config_is_named_a_folder(tmp_path, inside, said):
    """It said the folder did not exist."""
    folder = tmp_path / "recipes"
    folder.mkdir()
    for name in inside:
        (folder / name).write_text("task: text-classification\n")
    with pytest.raises(UserError) as caught:
        load_config(folder)
    assert f"Config file '{folder}' is a folder, not a YAML recipe; {said}" in str(caught.value)
    assert "does not exist" not in str(caught.value)
