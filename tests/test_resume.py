"""`ftk train --resume`: a run killed with SIGKILL, then resumed, ends exactly like a run that was
never interrupted (model, optimizer, schedule, RNG, data order and early stopping restored)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import torch
from helpers import (
    bare_trainer,
    history_rows,
    make_texts,
    wait_for_checkpoint,
    write_csv,
    write_text_config,
)
from transformers import BertConfig, BertForSequenceClassification

PER_EPOCH = 14  # ceil(108 training rows / batch 8): 120 rows minus a 10% validation split
# Early stopping that fires after epoch 3: no later epoch beats epoch 1 by the threshold, so
# the counter is 1 after epoch 2 and 2 (= patience) after epoch 3. A resume from epoch 2's
# checkpoint that forgot the counter would train on to epoch 4.
EARLY = ["--early_stopping.patience", "2", "--early_stopping.threshold", "10"]
TIMING_KEYS = ("runtime", "per_second", "wall_time", "peak_rss")  # vary run to run


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "toolkit", "train", *args]


@pytest.fixture(scope="module")
def recipe(tiny_bert, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("resume")
    data = {
        "train": write_csv(folder / "train.csv", make_texts(40, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(10, seed=2)),
    }
    return write_text_config(
        folder / "tiny.yaml",
        tiny_bert,
        data,
        folder / "unused",
        num_train_epochs=5,
        save_total_limit=2,
        # The resume point (step 28) is a logging step, so the history compares row for row,
        # but the last step (42) is not: train_loss must still be the whole run's mean.
        logging_steps=4,
    )


def history(run_dir: Path) -> list[dict]:
    """Step, train and eval rows; "groups" rows (no step) are written once per training start,
    so a resumed run has one more of them."""
    return [r for r in history_rows(run_dir) if r["kind"] != "groups"]


def comparable_metrics(run_dir: Path) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if metrics.get("verdict"):  # its scores must match; its time ratio and wording cannot
        metrics["verdict"] = {
            k: v
            for k, v in metrics["verdict"].items()
            if not k.endswith("_s") and k not in ("time_ratio", "text")
        }
    # each finding's rule and figures must match; its text and next command name the run's own
    # folder, and a search's budget follows the training time
    metrics["diagnosis"] = [
        (finding["rule"], finding["figures"]) for finding in metrics.get("diagnosis") or []
    ]
    return {k: v for k, v in metrics.items() if not any(t in k for t in TIMING_KEYS)}


def kill_after_checkpoint(command: list[str], checkpoint: Path, timeout: float = 300) -> None:
    """Start `command`, wait until `checkpoint` is complete, then SIGKILL it (no clean-up runs)."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    wait_for_checkpoint(process, checkpoint, timeout=timeout)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def runs(recipe, tmp_path_factory):
    """(uninterrupted run dir, killed-then-resumed run dir, state of its resume checkpoint)."""
    folder = tmp_path_factory.mktemp("runs")
    straight, resumed = folder / "straight", folder / "resumed"
    done = subprocess.run(
        cli("--config", str(recipe), "--output_dir", str(straight), *EARLY),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    checkpoint = resumed / f"checkpoint-{2 * PER_EPOCH}"
    kill_after_checkpoint(
        cli("--config", str(recipe), "--output_dir", str(resumed), *EARLY), checkpoint
    )
    assert not (resumed / "metrics.json").exists(), "the kill came too late"
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    again = subprocess.run(
        cli("--config", str(recipe), "--output_dir", str(resumed), *EARLY, "--resume"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Resuming from" in again.stdout
    return straight, resumed, state


@pytest.mark.e2e
def test_checkpoint_carries_early_stopping_counter(runs):
    _, _, state = runs
    saved = state["stateful_callbacks"]["EarlyStoppingOnBest"]  # training/best_epoch.py
    assert saved["attributes"]["early_stopping_patience_counter"] == 1


@pytest.mark.e2e
def test_resumed_run_has_same_lr_and_loss_history(runs):
    straight, resumed, _ = runs
    a, b = history(straight), history(resumed)
    assert [(r["kind"], r["step"]) for r in a] == [(r["kind"], r["step"]) for r in b], (
        "same rows, none duplicated by the replay"
    )
    steps = [r["step"] for r in b if r["kind"] == "step"]
    assert steps == list(range(1, 3 * PER_EPOCH + 1)), "early stopping after epoch 3 in both"
    for x, y in zip(a, b, strict=False):
        if x["kind"] == "step":
            assert y["lr"] == pytest.approx(x["lr"], abs=1e-6, rel=1e-6)
        if x["kind"] == "train":
            assert y["loss"] == pytest.approx(x["loss"], abs=1e-4)
        if x["kind"] == "eval":
            assert y["eval_loss"] == pytest.approx(x["eval_loss"], abs=1e-4)
            assert y["eval_accuracy"] == x["eval_accuracy"]


def assert_same_end(straight: Path, resumed: Path) -> None:
    """The resumed run's metrics equal the uninterrupted run's (floats within 1e-4)."""
    a, b = comparable_metrics(straight), comparable_metrics(resumed)
    assert set(a) == set(b)
    for key, value in a.items():
        if isinstance(value, float):
            assert b[key] == pytest.approx(value, abs=1e-4), key
        else:
            assert b[key] == value, key


@pytest.mark.e2e
def test_resumed_run_ends_with_same_metrics(runs):
    straight, resumed, _ = runs
    assert_same_end(straight, resumed)
    assert not list(resumed.glob("checkpoint-*")), "a finished run keeps no checkpoints"


@pytest.mark.e2e
def test_resume_without_checkpoint_is_a_clear_error(recipe, tmp_path, capsys):
    from toolkit.cli import main

    assert (
        main(["train", "--config", str(recipe), "--output_dir", str(tmp_path / "none"), "--resume"])
        == 2
    )
    err = capsys.readouterr().err
    assert "Cannot resume" in err and "does not exist" in err
    (tmp_path / "empty" / "checkpoint-5").mkdir(parents=True)  # killed while saving
    assert (
        main(
            ["train", "--config", str(recipe), "--output_dir", str(tmp_path / "empty"), "--resume"]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "only incomplete checkpoints (checkpoint-5, cut off while being saved)" in err
    # a plain rerun refuses the taken folder, so "without --resume" would lead nowhere
    assert "Start again with `ftk train --overwrite" in err and "without --resume" not in err


@pytest.mark.e2e
def test_resume_and_overwrite_conflict(recipe, tmp_path, capsys):
    from toolkit.cli import main

    assert (
        main(
            [
                "train",
                "--config",
                str(recipe),
                "--output_dir",
                str(tmp_path),
                "--resume",
                "--overwrite",
            ]
        )
        == 2
    )
    assert "pass only one of them" in capsys.readouterr().err


def test_truncate_history_drops_replayed_and_torn_rows(tmp_path):
    from toolkit.training.resume import truncate_history

    path = tmp_path / "history.jsonl"
    rows = [{"kind": "step", "step": s} for s in (1, 2, 3)] + [{"kind": "eval", "step": 2}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"kind": "st')
    assert truncate_history(path, 2) == 2
    # the file itself, line by line: a blank or torn line left behind must fail here
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        rows[0],
        rows[1],
        rows[3],
    ]


@pytest.mark.e2e
def test_resume_with_another_config_names_the_keys_and_trains_nothing(recipe, tmp_path, capsys):
    """A killed run resumed with a new learning rate and batch size is refused before anything
    loads, naming both keys; the files of the killed run are left as they were."""
    from toolkit.cli import main

    run_dir = tmp_path / "run"
    kill_after_checkpoint(
        cli("--config", str(recipe), "--output_dir", str(run_dir)),
        run_dir / f"checkpoint-{PER_EPOCH}",
    )
    before = sorted(p.name for p in run_dir.iterdir())
    changed = ["--learning_rate", "1e-3", "--per_device_train_batch_size", "4"]
    code = main(
        ["train", "--config", str(recipe), "--output_dir", str(run_dir), "--resume", *changed]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "learning_rate: " in err and "per_device_train_batch_size: " in err
    assert "--resume" in err and "same config" in err
    assert sorted(p.name for p in run_dir.iterdir()) == before


def test_a_finished_run_keeps_no_started_config(runs):
    straight, resumed, _ = runs
    assert not (straight / "started_config.yaml").exists()
    assert not (resumed / "started_config.yaml").exists()


@pytest.fixture(scope="module")
def killed_run(recipe, tmp_path_factory) -> Path:
    """A run killed once its first checkpoint was complete (each test damages a copy)."""
    run_dir = tmp_path_factory.mktemp("killed") / "run"
    kill_after_checkpoint(
        cli("--config", str(recipe), "--output_dir", str(run_dir)),
        run_dir / f"checkpoint-{PER_EPOCH}",
    )
    return run_dir


class RunsACommand:
    """Pickled, it calls os.system when unpickled by anything but a weights-only loader."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def pickle_that_runs_a_command(path: Path) -> None:
    import torch

    torch.save({"state": RunsACommand(path.parent / "RAN")}, path)


def cut_short(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGES = [  # (file, what is done to it, what the message says of it)
    pytest.param(
        "optimizer.pt",
        pickle_that_runs_a_command,
        "refuses to run (posix.system)",
        id="optimizer runs a command",
    ),
    pytest.param("optimizer.pt", cut_short, "cannot be read by torch.load", id="optimizer cut"),
    pytest.param(
        "scheduler.pt",
        lambda p: p.write_text("not a pickle"),
        "cannot be unpickled",
        id="scheduler replaced",
    ),
    pytest.param(
        "rng_state.pth", lambda p: p.write_bytes(b""), "cannot be unpickled", id="rng emptied"
    ),
    # (a trainer_state.json cut short is what a kill while saving leaves: that checkpoint
    # counts as incomplete, tests/test_run_state.py)
    pytest.param(
        "trainer_state.json",
        lambda p: p.write_text('{"global_step": 1, "x": 2}'),
        "does not hold a trainer state",
        id="state of unknown keys",
    ),
    pytest.param(
        "model.safetensors", cut_short, "is not a readable safetensors file", id="weights cut"
    ),
]


@pytest.mark.e2e
@pytest.mark.parametrize("name,damage,says", DAMAGES)
def test_resume_names_a_damaged_checkpoint_file_before_anything_loads(
    name, damage, says, killed_run, recipe, tmp_path, capsys
):
    """A checkpoint file changed or damaged after the run wrote it: exit 2 naming the file and
    what is wrong, no pickled code run, the run's files untouched (history not cut)."""
    from toolkit.cli import main

    run_dir = tmp_path / "run"
    shutil.copytree(killed_run, run_dir)
    checkpoint = run_dir / f"checkpoint-{PER_EPOCH}"
    damage(checkpoint / name)
    history_before = (run_dir / "history.jsonl").read_bytes()
    args = ["train", "--config", str(recipe), "--output_dir", str(run_dir), "--resume"]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err, err[-2000:]
    assert f"Cannot resume from {checkpoint}: its file {name} " in err and says in err
    assert "Data:" not in out + err  # refused before the data loaded
    assert not (checkpoint / "RAN").exists()
    assert (run_dir / "history.jsonl").read_bytes() == history_before


def tiny_classifier_and_rows():
    """A 2-layer classifier and 32 rows of random ids: 4 steps an epoch at batch 8."""
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=37, num_labels=2,
    )  # fmt: skip
    ids = torch.randint(5, 50, (32, 8), generator=torch.Generator().manual_seed(0))
    rows = datasets.Dataset.from_dict(
        {"input_ids": ids.tolist(), "labels": (ids[:, 0] % 2).tolist()}
    )
    return BertForSequenceClassification(config), rows


# How each run stops: early stopping after epoch 2 (no gain of 10 ever comes), or max_steps in
# the middle of epoch 2. Its last checkpoint is saved after the stop.
STOPS = {
    "early stopping": ({"num_train_epochs": 4, "save_strategy": "epoch"}, 8),
    "max_steps": ({"max_steps": 6, "save_strategy": "steps", "save_steps": 6}, 6),
}


@pytest.mark.parametrize("stop", list(STOPS))
def test_a_run_resumed_from_a_checkpoint_saved_after_its_stop_trains_no_more(stop, tmp_path):
    from toolkit.training.best_epoch import EarlyStoppingOnBest

    settings, last_step = STOPS[stop]
    training = {
        **settings,
        "per_device_train_batch_size": 8,
        "eval_strategy": settings["save_strategy"],
        "eval_steps": settings.get("save_steps"),
        "metric_for_best_model": "f1",
        "learning_rate": 1e-3,
    }

    def trainer(model, rows):
        made = bare_trainer(
            model, tmp_path, training, train_dataset=rows, eval_dataset=rows,
            compute_metrics=lambda _: {"f1": 0.0},
        )  # fmt: skip
        made.add_callback(
            EarlyStoppingOnBest(early_stopping_patience=1, early_stopping_threshold=10)
        )
        return made

    trainer(*tiny_classifier_and_rows()).train()
    checkpoint = tmp_path / f"checkpoint-{last_step}"
    assert json.loads((checkpoint / "trainer_state.json").read_text())["global_step"] == last_step

    model, rows = tiny_classifier_and_rows()
    resumed = trainer(model, rows)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    assert resumed.state.global_step == last_step, "no step after the stop"
    saved = BertForSequenceClassification.from_pretrained(checkpoint)
    for name, weight in saved.state_dict().items():
        assert torch.equal(model.state_dict()[name], weight), name
