"""`ftk schedule` against a real `ftk train`, the shared summary and its warnings, and every
bad schedule input (clear message, exit status 2)."""

from __future__ import annotations

import math
import re

import pytest
from helpers import ftk, history_rows, make_texts, write_csv, write_text_config

# 81 training rows, batch 8 -> 11 batches; accumulation 2 -> 6 updates per epoch; 3 epochs -> 18.
# Warm-up 1.2 epochs = ceil(7.2) = 8 steps: longer than an epoch and 44% of training.
OVERRIDES = [
    "--gradient_accumulation_steps",
    "2",
    "--num_train_epochs",
    "3",
    "--schedule.warmup_fraction",
    "null",
    "--schedule.warmup_epochs",
    "1.2",
    "--schedule.layer_decay",
    "0.7",
    "--schedule.head_lr_multiplier",
    "3",
    "--early_stopping.patience",
    "null",
]
STEPS, PER_EPOCH, WARMUP = 18, 6, 8


@pytest.fixture(scope="module")
def setup(tiny_bert, tmp_path_factory):
    folder = tmp_path_factory.mktemp("schedule-cli")
    data = {
        "train": write_csv(folder / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(10, seed=2)),
    }
    config = write_text_config(folder / "tiny.yaml", tiny_bert, data, folder / "run")
    return folder, config, data


@pytest.fixture(scope="module")
def preview_and_run(setup):
    folder, config, _ = setup
    png = folder / "plots" / "lr.png"
    preview = ftk("schedule", "--config", str(config), "--png", str(png), *OVERRIDES)
    run = ftk("train", "--config", str(config), *OVERRIDES)
    return preview, run, png, history_rows(folder / "run")


def summary_lines(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Schedule:"))
    return lines[start : start + 4]


@pytest.mark.e2e
def test_preview_step_count_equals_the_steps_a_real_run_takes(preview_and_run):
    preview, _, png, rows = preview_and_run
    steps = [r["step"] for r in rows if r["kind"] == "step"]
    assert steps == list(range(1, STEPS + 1))
    match = re.search(r"Schedule: (\d+) optimizer steps \((\d+) per epoch", preview.stdout)
    assert (int(match.group(1)), int(match.group(2))) == (len(steps), PER_EPOCH)
    assert (
        f"warm-up   {WARMUP} steps = {100 * WARMUP / STEPS:.1f}% of training = "
        f"{WARMUP / PER_EPOCH:.2f} epochs" in preview.stdout
    )
    assert "peak LR   0.005" in preview.stdout
    assert f"LR plot: {png}" in preview.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.e2e
def test_train_prints_the_same_summary_and_warnings(preview_and_run):
    preview, run, _, _ = preview_and_run
    assert summary_lines(run.stdout) == summary_lines(preview.stdout)
    assert (
        "LR per group (x peak): embeddings 0.49, layer.0 0.7, layer.1 1, top 1, head 3"
        in preview.stdout
    )
    for output in (preview.stderr, run.stderr):
        assert f"WARNING: warm-up takes 44% of training ({WARMUP} of {STEPS} steps)" in output
        assert (
            f"WARNING: warm-up ({WARMUP} steps) is longer than one epoch ({PER_EPOCH} "
            f"steps)" in output
        )


@pytest.mark.e2e
def test_preview_lrs_match_the_lrs_the_run_used(preview_and_run, setup):
    from toolkit.commands.schedule import preview_schedule
    from toolkit.config.load import load_config

    folder, config, _ = setup
    _, _, _, rows = preview_and_run
    planned = preview_schedule(load_config(config, OVERRIDES), png=folder / "again.png")
    planned_names = [name for name, _ in planned.groups]
    names = next(r["names"] for r in rows if r["kind"] == "groups")
    used = [r["lr"] for r in rows if r["kind"] == "step"]
    assert len(used) == len(planned.lrs) == STEPS
    for s, (row, plan) in enumerate(zip(used, planned.lrs, strict=False)):
        for name, lr in zip(names, row, strict=False):
            assert lr == pytest.approx(plan[planned_names.index(name)], rel=1e-9), (s, name)
    # The closed form once more: linear warm-up over 8 steps, cosine over the other 10.
    head = [row[names.index("head")] for row in used]
    for s, lr in enumerate(head):
        factor = s / WARMUP if s < WARMUP else 0.5 * (1 + math.cos(math.pi * (s - WARMUP) / 10))
        assert lr == pytest.approx(3 * 5e-3 * factor, rel=1e-9, abs=1e-15)


@pytest.mark.e2e
def test_run_lr_plot_is_drawn_with_group_labels(preview_and_run, setup):
    from toolkit.outputs.plots import distinct_lines

    folder, _, _ = setup
    _, _, _, rows = preview_and_run
    assert (folder / "run" / "learning_rate.png").is_file()
    names = next(r["names"] for r in rows if r["kind"] == "groups")
    lines = distinct_lines([r["lr"] for r in rows if r["kind"] == "step"], names)
    assert [label for label, _ in lines] == ["embeddings", "layer.0", "layer.1", "top", "head"]


@pytest.mark.e2e
def test_preview_counts_processes(setup, monkeypatch):
    folder, config, _ = setup
    # 2 processes: 81 / (8 x 2) -> 6 batches each, accumulation 2 -> 3 updates per epoch.
    two = ftk(
        "schedule",
        "--config",
        str(config),
        "--num-processes",
        "2",
        "--png",
        str(folder / "two.png"),
        *OVERRIDES,
    )
    assert "Schedule: 9 optimizer steps (3 per epoch" in two.stdout
    assert "processes: 2" in two.stdout
    from toolkit.commands.schedule import processes

    monkeypatch.setenv("WORLD_SIZE", "4")  # what accelerate launch / torchrun set
    assert processes(None) == 4 and processes(2) == 2


@pytest.mark.e2e
def test_preview_with_max_steps_and_fewer_steps_than_warmup(setup):
    folder, config, _ = setup
    result = ftk(
        "schedule",
        "--config",
        str(config),
        "--png",
        str(folder / "short.png"),
        "--max_steps",
        "5",
        "--schedule.warmup_fraction",
        "null",
        "--schedule.warmup_steps",
        "7",
    )
    assert "Schedule: 5 optimizer steps" in result.stdout
    assert (
        "WARNING: training has 5 optimizer steps, fewer than the 7 warm-up steps" in result.stderr
    )


@pytest.mark.e2e
def test_layer_decay_on_a_model_without_known_layers_fails_clearly(setup, tmp_path):
    from transformers import GPT2Config, GPT2Model

    _, config, _ = setup
    GPT2Model(GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=99)).save_pretrained(tmp_path)
    result = ftk(
        "schedule",
        "--config",
        str(config),
        "--png",
        str(tmp_path / "x.png"),
        "--model.name_or_path",
        str(tmp_path),
        "--schedule.layer_decay",
        "0.8",
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "GPT2ForSequenceClassification has no parameters named like" in result.stderr
    assert not (tmp_path / "x.png").exists()


# ----------------------------------------------------------------------------- bad input

BAD = {
    "unknown decay": (
        ["--schedule.decay", "cosin"],
        [
            "schedule.decay 'cosin' is not a known shape",
            "cosine_restarts, wsd, inverse_sqrt",
            "Did you mean 'cosine'?",
        ],
    ),
    "unknown warm-up shape": (
        ["--schedule.warmup_shape", "quadratic"],
        ["schedule.warmup_shape 'quadratic'", "valid: linear, cosine, exponential"],
    ),
    "unknown wsd shape": (
        ["--schedule.decay", "wsd", "--schedule.decay_shape", "step"],
        ["schedule.decay_shape 'step'", "valid: linear, cosine, sqrt"],
    ),
    "warm-up two ways": (
        ["--schedule.warmup_steps", "10"],
        [
            "Warm-up is given two ways at once (schedule.warmup_steps and "
            "schedule.warmup_fraction)",
            "--schedule.warmup_steps null",
        ],
    ),
    "negative fraction": (
        ["--schedule.warmup_fraction", "-0.1"],
        ["schedule.warmup_fraction must be in [0, 1), got -0.1"],
    ),
    "fraction above 1": (
        ["--schedule.min_lr_ratio", "1.5"],
        ["schedule.min_lr_ratio must be in [0, 1], got 1.5"],
    ),
    "wsd fraction above 1": (
        ["--schedule.decay_fraction", "2"],
        ["schedule.decay_fraction must be in [0, 1], got 2"],
    ),
    "start ratio negative": (
        ["--schedule.warmup_start_ratio", "-1"],
        ["schedule.warmup_start_ratio must be in [0, 1]"],
    ),
    "negative warm-up steps": (
        ["--schedule.warmup_fraction", "null", "--schedule.warmup_steps", "-3"],
        ["schedule.warmup_steps must be >= 0, got -3"],
    ),
    "zero cycles": (
        ["--schedule.decay", "cosine_restarts", "--schedule.cycles", "0"],
        ["schedule.cycles is 0; cosine_restarts needs at least 1 cycle"],
    ),
    "restart decay 0": (
        ["--schedule.restart_decay", "0"],
        ["schedule.restart_decay must lie in (0, 1]"],
    ),
    "layer decay 0": (
        ["--schedule.layer_decay", "0"],
        ["schedule.layer_decay must lie in (0, 1]", "got 0.0"],
    ),
    "layer decay above 1": (
        ["--schedule.layer_decay", "1.2"],
        ["schedule.layer_decay must lie in (0, 1]", "got 1.2"],
    ),
    "head multiplier 0": (
        ["--schedule.head_lr_multiplier", "0"],
        ["schedule.head_lr_multiplier must be > 0"],
    ),
    "power negative": (["--schedule.power", "-2"], ["schedule.power must be > 0"]),
    "timescale 0": (["--schedule.timescale", "0"], ["schedule.timescale must be > 0"]),
    "processes 0": (["--num-processes", "0"], ["--num-processes must be at least 1"]),
}


BAD_RUNS = [
    (command, case)
    for case in BAD
    for command in ("schedule", "train")
    if not (command == "train" and case == "processes 0")
]  # a flag of schedule only


@pytest.mark.e2e
@pytest.mark.parametrize("command,case", BAD_RUNS)
def test_bad_schedule_input_exits_2_with_a_clear_message(command, case, setup, capsys):
    from toolkit.cli import main

    overrides, fragments = BAD[case]
    args = [command, "--config", str(setup[1]), *overrides]
    assert main(args + (["--print-config"] if command == "train" else [])) == 2
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_summary_warnings_are_computed_from_lengths():
    from toolkit.training.schedules import schedule_warnings

    assert schedule_warnings(warmup=5, total=100, per_epoch=50) == []
    assert schedule_warnings(warmup=20, total=100, per_epoch=50) == []  # exactly 20%: fine
    over = schedule_warnings(warmup=21, total=100, per_epoch=50)
    assert len(over) == 1 and "21% of training" in over[0]
    both = schedule_warnings(warmup=30, total=100, per_epoch=25)
    assert len(both) == 2 and "longer than one epoch (25 steps)" in both[1]
    assert "fewer than the 30 warm-up steps" in schedule_warnings(30, 20, 10)[0]
