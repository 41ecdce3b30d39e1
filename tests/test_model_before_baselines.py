"""The model is saved before the baselines are fitted (#34 item 2): fitting them after
training is where a large run runs out of memory, and neither an error there nor a kill may
cost the trained model. The run directory then says what is missing and how to fit only that."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import TOPIC_WORDS, ftk, make_texts, write_csv, write_text_config
from transformers import pipeline

from toolkit.cli import main
from toolkit.core.run_state import SAVING

LABELS = set(TOPIC_WORDS)


@pytest.fixture()
def recipe(tiny_bert, tmp_path) -> Path:
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(10, seed=2)),
    }
    return write_text_config(tmp_path / "r.yaml", tiny_bert, data, tmp_path / "run")


def train_args(recipe: Path) -> list[str]:
    return ["train", "--config", str(recipe), "--num_train_epochs", "2"]


def assert_model_loads(run: Path) -> None:
    classify = pipeline("text-classification", model=str(run), device="cpu")
    assert classify("goal match team")[0]["label"] in LABELS


@pytest.mark.e2e
def test_a_baseline_failure_leaves_the_saved_model_and_says_what_is_missing(
    recipe, tmp_path, capsys, monkeypatch
):
    import toolkit.advice.baselines.fit as fit

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 29.8 GiB for an array")

    monkeypatch.setattr(fit, "run_baselines", out_of_memory)
    assert main(train_args(recipe)) in (0, None)
    run = tmp_path / "run"
    said = capsys.readouterr()
    assert "The baselines failed (MemoryError: Unable to allocate 29.8 GiB" in said.err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["verdict"] is None and "test_accuracy" in metrics
    assert metrics["baselines_missing"].startswith("the baselines failed (see Warnings).")
    report = (run / "report.md").read_text()
    assert "**Verdict:** No verdict yet: the baselines failed" in report
    assert f"`ftk baseline --config {run}/run_config.yaml` fits them alone" in report
    assert not (run / SAVING).exists() and not list(run.glob("checkpoint-*"))
    assert_model_loads(run)


KILLED_WHILE_FITTING = """
import os, signal, sys
import toolkit.advice.baselines.fit as fit
from toolkit.cli import main

def killed(*args, **kwargs):  # what the kernel's out-of-memory killer does
    os.kill(os.getpid(), signal.SIGKILL)

fit.run_baselines = killed
main(sys.argv[1:])
"""


@pytest.mark.e2e
def test_a_kill_while_fitting_the_baselines_leaves_a_run_that_loads_and_the_command_to_finish(
    recipe, tmp_path
):
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_WHILE_FITTING), *train_args(recipe)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    run = tmp_path / "run"
    assert not (run / SAVING).exists()  # the model's files were complete before the kill
    report = (run / "report.md").read_text()
    assert "**Verdict:** No verdict yet: ftk fits the baselines once the model is saved" in report
    metrics = json.loads((run / "metrics.json").read_text())
    assert "test_accuracy" in metrics
    assert "the run stopped while fitting them" in metrics["baselines_missing"]
    assert_model_loads(run)
    predicted = ftk("predict", run, "--text", "goal match team").stdout
    assert predicted.split()[0] in LABELS
    # the command the report gives fits the baselines alone, into the run directory
    ftk("baseline", "--config", run / "run_config.yaml")
    baselines = json.loads((run / "baseline.json").read_text())
    assert baselines["best"] and (run / "model.safetensors").is_file()
