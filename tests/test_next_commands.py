"""The command each finding with a remedy hands over: split as a shell splits it, parsed by the
CLI's own parser and loaded with the run's real run_config.yaml, so a key or value the config
refuses fails here; and the setting it changes holds the value computed from the run."""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import ftk, make_texts, write_csv, write_text_config
from test_findings import REVIEWS, history, label_set_facts, rules, scored

from toolkit.advice.findings import (
    SEARCH_FINAL_EXTRA,
    SEARCH_FOLDS,
    SEARCH_TRIALS,
    Finding,
    RunFacts,
    diagnose_run,
    whole_epochs,
)
from toolkit.advice.truncation import covering_length
from toolkit.cli import build_parser
from toolkit.config.load import load_config
from toolkit.config.schema import RunConfig
from toolkit.config.search_space import parse_budget
from toolkit.core.errors import UserError
from toolkit.core.run_files import RUN_CONFIG
from toolkit.outputs.console import diagnosis_lines
from toolkit.outputs.report import findings_section

# every rule that has a remedy (threshold_at_edge at the grid's top without weights has one
# only when the kept evaluation was not the last)
REMEDIED = {"not_learned", "still_improving", "overfit", "collapsed", "noisy_selection"}


def saved_run(folder: Path, overrides: tuple[str, ...] = (), **extra: str) -> Path:
    """A run directory holding run_config.yaml as `ftk train` writes it (config.to_yaml()),
    under a folder name with a space, which the commands must quote."""
    run = folder / "my runs" / "reviews"
    run.mkdir(parents=True)
    data = {"train": folder / "train.csv", "test": folder / "test.csv"}
    recipe = write_text_config(folder / "r.yaml", folder / "model", data, run, **extra)
    (run / RUN_CONFIG).write_text(load_config(recipe, list(overrides)).to_yaml())
    return run


@pytest.fixture()
def run(tmp_path) -> Path:
    return saved_run(tmp_path)


def facts(run: Path, **changes: Any) -> RunFacts:
    """test_findings' facts of a 3-epoch accuracy run, in the saved run's folder."""
    from test_findings import facts as hand_made

    return hand_made(output_dir=str(run), **changes)


def applied(command: str, run: Path) -> RunConfig:
    """The config the command trains (or searches) with, as the CLI reads it; it must name the
    run's saved config and a new folder beside the run."""
    words = shlex.split(command)
    assert words[:2] in (["ftk", "train"], ["ftk", "search"]), command
    args, overrides = build_parser().parse_known_args(words[1:])
    assert args.command == words[1] and args.config == run / RUN_CONFIG
    if args.command == "search":  # the flags run_search reads before the config
        assert (args.budget is None) != (args.trials is None)
        assert args.budget is None or parse_budget(args.budget) > 0
    config = load_config(args.config, overrides)
    new = Path(config.training["output_dir"])
    assert new.parent == run.parent and new != run and not new.exists()
    return config


def setting(config: RunConfig, key: str) -> Any:
    """A config value by the name an override gives it: dotted for sections."""
    if "." in key:
        section, name = key.split(".")
        return getattr(getattr(config, section), name)
    if key in ("metrics", "class_weights"):
        return getattr(config, key)
    return config.training[key]


def check(found: list[Finding], run: Path, expected: dict[str, dict[str, Any]]) -> None:
    """Each finding's command parses and changes what `expected` says (rule -> key -> value);
    the rules in `expected` and only they carry a command; different commands never share a
    folder; the command is in the text, the metrics.json entry, the console and the report."""
    assert {f.rule for f in found if f.command} == set(expected)
    folders: dict[str, str] = {}
    for finding in found:
        if finding.rule in REMEDIED:
            assert finding.command is not None, finding.rule
        if finding.command is None:
            continue
        config = applied(finding.command, run)
        for key, value in expected[finding.rule].items():
            assert setting(config, key) == pytest.approx(value), (finding.rule, key)
        assert f"`{finding.command}`" in finding.text
        assert finding.to_dict()["command"] == finding.command
        assert json.loads(json.dumps(finding.to_dict()))["command"] == finding.command
        folder = config.training["output_dir"]
        assert folders.setdefault(folder, finding.command) == finding.command
    commands = [f.command for f in found if f.command]
    console = "\n".join(diagnosis_lines(found))
    report = findings_section(found)
    assert all(command in console and command in report for command in commands)


# ----------------------------------------------------------------------------- each remedy


def test_the_reviews_run_gets_longer_training_macro_f1_first_and_a_k_fold_search(run):
    # test_findings' 600 reviews: 3 epochs, still improving, training sample 31% of the way
    rows = history(
        evals=[(0.65, 0.90), (0.683, 0.86), (0.70, 0.84)],
        sample=[(0.66, 0.88), (0.71, 0.83), (0.75, 0.78)],
    )
    reviews = facts(
        run,
        train_counts=REVIEWS,
        validation_counts={"pos": 38, "neu": 17, "neg": 5},
        validation_size=60,
        metrics=["accuracy", "f1_macro"],
        train_seconds=42.0,
    )
    found = diagnose_run(rows, reviews)
    assert rules(found) == ["not_learned", "still_improving", "imbalance", "noisy_selection"]
    progress = found[0].figures["progress"]
    # 0.8 of the way at the pace it went: 3 x 0.8 / 0.31 = 7.7, rounded up to whole epochs
    assert found[0].figures["longer_factor"] == pytest.approx(0.8 / progress, abs=0.01)
    minutes = math.ceil((SEARCH_FOLDS * SEARCH_TRIALS + 1 + SEARCH_FINAL_EXTRA) * 42 / 60)
    check(
        found,
        run,
        {
            "not_learned": {"num_train_epochs": math.ceil(3 * 0.8 / progress)},
            # one remedy, one command: the not-learned length, not twice the epochs
            "still_improving": {"num_train_epochs": math.ceil(3 * 0.8 / progress)},
            "imbalance": {"metrics": ["f1_macro", "accuracy"]},
            "noisy_selection": {"search.folds": SEARCH_FOLDS},
        },
    )
    assert found[1].command == found[0].command
    assert f"train longer ({0.8 / progress:.1f}x as long, as the not-learned" in found[1].text
    (noisy,) = [f for f in found if f.rule == "noisy_selection"]
    assert noisy.command is not None and f"--budget {minutes}m" in noisy.command
    assert "ftk search" in noisy.command and "--output_dir" in noisy.command


def test_without_the_training_time_the_search_is_sized_in_trials(run):
    small = facts(run, validation_size=100, validation_counts={"a": 34, "b": 33, "c": 33})
    rows = history(
        evals=[(0.70, 0.6), (0.80, 0.5), (0.78, 0.55)],
        sample=[(0.9, 0.3), (0.95, 0.2), (0.97, 0.1)],
    )
    (noisy,) = diagnose_run(rows, small)
    assert noisy.command is not None and f"--trials {SEARCH_TRIALS}" in noisy.command
    check([noisy], run, {"noisy_selection": {"search.folds": SEARCH_FOLDS}})


def test_a_k_fold_searchs_final_run_gets_a_larger_validation_split_not_another_search(run):
    rows = history(
        evals=[(0.70, 0.6), (0.80, 0.5), (0.78, 0.55)],
        sample=[(0.9, 0.3), (0.95, 0.2), (0.97, 0.1)],
    )
    sizes = {"validation_size": 100, "validation_counts": {"a": 34, "b": 33, "c": 33}}
    (noisy,) = diagnose_run(rows, facts(run, chosen_by_folds=5, validation_fraction=0.1, **sizes))
    assert "chosen by a 5-fold search" in noisy.text and "ftk search" not in noisy.text
    check([noisy], run, {"noisy_selection": {"data.validation_size": 0.2}})
    given = facts(run, chosen_by_folds=5, validation_fraction=None, **sizes)
    (noisy,) = diagnose_run(rows, given)  # a validation file: ftk cannot make it larger
    assert noisy.command is None and noisy.text.endswith("give a larger validation file.")


def test_a_run_that_learned_nothing_by_its_loss_gets_five_times_the_epochs(run):
    rows = history(evals=[(0.40, 1.09), (0.38, 1.09)], losses=[(5, 1.10), (20, 1.08)])
    found = diagnose_run(rows, facts(run))
    assert rules(found) == ["not_learned", "noisy_selection"]  # 0.40 of 2,100: 1.1 points
    assert found[0].figures["longer_factor"] == 5.0  # shed 2% of the prior: the most it asks
    check(
        found,
        run,
        {"not_learned": {"num_train_epochs": 15}, "noisy_selection": {"search.folds": 5}},
    )


def test_an_overfit_run_trains_to_its_kept_epoch(run):
    # kept at epoch 2 of 4 (the best accuracy), validation loss rising after it
    rows = history(
        evals=[(0.80, 0.50), (0.86, 0.40), (0.85, 0.45), (0.84, 0.52)],
        sample=[(0.85, 0.45), (0.93, 0.30), (0.97, 0.20), (0.99, 0.10)],
    )
    found = diagnose_run(rows, facts(run, num_train_epochs=4))
    assert rules(found) == ["overfit"]
    assert "train only as long as the kept evaluation (num_train_epochs 2)" in found[0].text
    check(found, run, {"overfit": {"num_train_epochs": 2}})


def test_an_overfit_run_kept_at_its_last_epoch_gets_half_the_learning_rate(run):
    # accuracy still rising while validation loss rises: fewer epochs would lose the best one
    rows = history(
        evals=[(0.80, 0.40), (0.82, 0.45), (0.84, 0.50)],
        sample=[(0.85, 0.45), (0.93, 0.30), (0.99, 0.10)],
    )
    found = diagnose_run(rows, facts(run))
    assert rules(found) == ["still_improving", "overfit"]
    assert "half the learning rate (5e-05 -> 2.5e-05)" in found[1].text
    check(
        found,
        run,
        {"still_improving": {"num_train_epochs": 6}, "overfit": {"learning_rate": 2.5e-5}},
    )


def test_a_run_that_max_steps_ended_changes_max_steps(tmp_path):
    run = saved_run(tmp_path, max_steps="30")
    rows = history(evals=[(0.80, 0.50), (0.86, 0.40), (0.90, 0.35)])
    found = diagnose_run(rows, facts(run, max_steps=30))
    assert rules(found) == ["still_improving"] and "(twice as long: max_steps 60)" in found[0].text
    check(found, run, {"still_improving": {"max_steps": 60}})


def test_truncated_texts_get_a_run_reading_twice_as_far_within_the_model(run):
    rows = history(
        evals=[(0.80, 0.50), (0.90, 0.30), (0.89, 0.32)],
        sample=[(0.85, 0.40), (0.97, 0.10), (0.99, 0.05)],
    )
    found = diagnose_run(rows, facts(run, truncated_share=1.0, max_length=96, model_max_length=512))
    check(found, run, {"truncated": {"data.max_length": 192}})
    near_limit = facts(run, truncated_share=1.0, max_length=384, model_max_length=512)
    check(diagnose_run(rows, near_limit), run, {"truncated": {"data.max_length": 512}})
    # at the model's limit there is no further to read: no command
    (at_limit,) = diagnose_run(rows, facts(run, truncated_share=1.0, max_length=512))
    assert at_limit.command is None and "ftk train" not in at_limit.text


def test_a_measured_length_distribution_sets_the_length_that_fits_most_texts(run):
    rows = history(
        evals=[(0.80, 0.50), (0.90, 0.30), (0.89, 0.32)],
        sample=[(0.85, 0.40), (0.97, 0.10), (0.99, 0.05)],
    )
    cut = {"truncated_share": 1.0, "max_length": 96, "model_max_length": 512}
    (found,) = diagnose_run(rows, facts(run, covering_length=300, **cut))
    assert "e.g. 304, which 95% of the training texts fit in" in found.text
    assert found.figures["covering_length"] == 300
    check([found], run, {"truncated": {"data.max_length": 304}})  # a multiple of 8
    (found,) = diagnose_run(rows, facts(run, covering_length=700, **cut))
    assert "e.g. 512, as far as it reads; 95% of the training texts fit in 700" in found.text
    check([found], run, {"truncated": {"data.max_length": 512}})
    # texts that only just fill max_length: nothing further to read
    (found,) = diagnose_run(rows, facts(run, covering_length=96, **cut))
    assert found.command is None


def test_the_covering_length_takes_the_share_left_from_the_cut_texts():
    lengths = [10] * 40 + [32] * 60  # 60 of 100 cut at 32
    whole = list(range(33, 133))  # a sample of the cut texts' whole lengths
    # 95% of all: the 40 uncut and 55 of the 60 cut, the cut ones' 91.7% quantile
    expected = math.ceil(np.quantile(whole, 1 - 0.05 * 100 / 60))
    assert covering_length(lengths, whole, 32) == expected == 124  # 33 + 0.917 x 99, up
    assert covering_length([10] * 96 + [32] * 4, whole, 32) == 32  # 96% already fit
    assert covering_length(lengths, [], 32) is None  # cut, but none measured whole


LEARNED = [(0.60, 0.8), (0.70, 0.6), (0.69, 0.62)], [(0.7, 0.7), (0.9, 0.3), (0.95, 0.2)]
ONLY_POS = scored([64, 0, 0], [27, 0, 0], [9, 0, 0])


@pytest.mark.parametrize(
    "weights, changed",
    [(None, {"class_weights": "balanced"}), ("balanced", {"num_train_epochs": 6})],
)
def test_a_collapsed_run_gets_balanced_weights_or_with_them_longer_training(run, weights, changed):
    rows = history(*LEARNED, metric="f1_macro")
    collapse = facts(
        run, metric="f1_macro", train_counts=REVIEWS, scored=ONLY_POS, class_weights=weights
    )
    found = diagnose_run(rows, collapse)
    assert rules(found) == ["imbalance", "collapsed"]
    check(found, run, {"collapsed": changed})  # macro-F1 already picked: imbalance has none


@pytest.mark.parametrize(
    "threshold, weights, changed",
    [
        (0.05, None, {"class_weights": "balanced"}),
        (0.05, "balanced", {"num_train_epochs": 6}),
        (0.95, "balanced", {"class_weights": None}),
        (0.95, None, {"num_train_epochs": 1}),
    ],
)
def test_a_threshold_at_the_grids_edge_gets_the_command_its_reading_supports(
    tmp_path, threshold, weights, changed
):
    # a label-set run whose kept evaluation is its first of 3: over-confident, it trains 1
    run = saved_run(tmp_path, ("--data.label_separator", ","), task="text-multilabel")
    rows = history(evals=[(0.5, 0.04), (0.4, 0.05), (0.45, 0.05)], metric="f1_micro")
    edge = label_set_facts(output_dir=str(run), decision_threshold=threshold, class_weights=weights)
    found = [f for f in diagnose_run(rows, edge) if f.rule == "threshold_at_edge"]
    check(found, run, {"threshold_at_edge": changed})


def test_suggested_epochs_round_up_to_whole_ones_past_float_error():
    assert whole_epochs(6.6) == 7 and whole_epochs(0.1 * 3 * 10) == 3  # 3.0000000000000004
    assert whole_epochs(0.25) == 0.25 and whole_epochs(1.0) == 1


def test_the_checker_refuses_a_key_or_value_the_config_does_not_know(run):
    # what the tests above rely on: a misspelt key or a bad value is an error, not ignored
    config = f"--config '{run / RUN_CONFIG}'"
    for wrong in ("--search.fold 5", "--num_train_epoch 6", "--class_weights heavy"):
        with pytest.raises(UserError):
            applied(f"ftk train {config} {wrong} --output_dir '{run}-x'", run)


def test_a_finding_without_a_run_folder_names_the_placeholder():
    rows = history(evals=[(0.80, 0.50), (0.86, 0.40), (0.90, 0.35)])
    (found,) = diagnose_run(rows, RunFacts(**{**facts(Path("x")).__dict__, "output_dir": None}))
    assert found.command == (
        "ftk train --config RUN/run_config.yaml --num_train_epochs 6 --output_dir RUN-epochs-6"
    )


# ----------------------------------------------------------------------------- a real run


@pytest.mark.e2e
def test_a_real_runs_commands_parse_and_the_first_one_trains(tiny_bert, tmp_path):
    """A tiny run cut short (2 epochs at a learning rate that barely moves it, texts cut at 8
    tokens): its metrics.json's commands load its own run_config.yaml, and one of them runs."""
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(10, seed=2)),
    }
    run = tmp_path / "my runs" / "tiny"
    recipe = write_text_config(
        tmp_path / "r.yaml",
        tiny_bert,
        data,
        run,
        learning_rate="1e-5",
        num_train_epochs="2",
        baseline="{enabled: false}",
    )
    ftk("train", "--config", recipe, "--data.max_length", "8")
    diagnosis = json.loads((run / "metrics.json").read_text())["diagnosis"]
    commands = [entry["command"] for entry in diagnosis if entry["command"]]
    found = [entry["rule"] for entry in diagnosis]
    assert {"not_learned", "truncated"} <= set(found), found
    for command in commands:
        applied(command, run)
    report = (run / "report.md").read_text()
    assert all(command in report for command in commands)
    (truncated,) = [e for e in diagnosis if e["rule"] == "truncated"]
    config = applied(truncated["command"], run)
    # 95% of the texts (up to 16 words and 2 special tokens) fit in it, rounded up to 8s
    covering = truncated["figures"]["covering_length"]
    assert 8 < covering <= 18 and config.data.max_length == 8 * math.ceil(covering / 8)
    trained = ftk(*shlex.split(truncated["command"])[1:])
    assert (Path(config.training["output_dir"]) / "metrics.json").is_file(), trained.stderr
