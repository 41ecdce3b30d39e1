"""data.streaming: tiny CSV and JSON Lines files trained as streams through the real CLI, the
held-out heads counted against the rows the stream trains on (CSV, JSONL, Parquet), what
cannot run streamed refused with exit 2, and a 2-process run that trains the rows one
process trains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import yaml
from helpers import (
    free_port,
    ftk,
    history_rows,
    kill_machine,
    launch_two_processes,
    make_texts,
    wait_for_checkpoint,
    write_csv,
)

from toolkit.cli import main
from toolkit.config.schema import DataConfig
from toolkit.config.taxonomy import CLASSES
from toolkit.core.errors import UserError
from toolkit.core.run_state import last_complete_checkpoint
from toolkit.data.streaming import load_streamed
from toolkit.training.resume import checkpoint_step
from toolkit.training.stream_passes import EndlessPasses

LABELS = ("business", "sport", "tech")


def streamed_recipe(folder: Path, model: Path, data: str, **extra: object) -> Path:
    lines = [
        f"model: {{name_or_path: '{model}'}}",
        f"data: {data}",
        f"output_dir: '{folder / 'run'}'",
        "learning_rate: 5e-3",
        "per_device_train_batch_size: 8",
        "logging_steps: 1",
        "use_cpu: true",
        "dataloader_pin_memory: false",
        *(f"{key}: {value}" for key, value in extra.items()),
    ]
    path = folder / "streamed.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def csv_run(tiny_bert, tmp_path_factory):
    """180 rows: validation the first 30, test the next 30, 120 streamed; 20 steps."""
    folder = tmp_path_factory.mktemp("stream-csv")
    train = write_csv(folder / "train.csv", make_texts(60, seed=1))
    data = (
        f"{{train_file: '{train}', streaming: true, stream_validation_rows: 30, "
        f"stream_test_rows: 30, stream_head_rows: 60, max_length: 32}}"
    )
    recipe = streamed_recipe(folder, tiny_bert, data)
    result = ftk(
        "train", "--config", recipe, "--max_steps", "20", "--early_stopping.patience", "null"
    )
    return folder / "run", result


@pytest.mark.e2e
def test_a_streamed_csv_trains_and_scores_validation_and_test(csv_run):
    run_dir, result = csv_run
    assert (run_dir / "model.safetensors").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ("eval_accuracy", "eval_loss", "test_accuracy", "test_f1_macro"):
        assert key in metrics, key
    assert metrics["streaming"]["validation"] == "the stream's rows 1 to 30 (a fixed head)"
    assert metrics["streaming"]["test"] == "the stream's rows 31 to 60 (a fixed head)"
    assert metrics["streaming"]["head_sample_rows"] == 60
    steps = [r["step"] for r in history_rows(run_dir, "train")]
    assert max(steps) == 20, "max_steps optimizer steps, however often the stream ends"
    assert "Streaming: validation is the stream's rows 1 to 30" in result.stderr + result.stdout
    report = (run_dir / "report.md").read_text()
    assert "Streamed training data (`data.streaming`)" in report
    assert "overlap check (against the head sample only)" in report
    assert "Data size:" not in report, "a stream's size is not judged from its head"
    # a stream has no epochs: the kept model is an evaluation, placed by its step
    assert "Best evaluation: step **" in report and "Best epoch" not in report
    said = result.stdout + result.stderr
    assert "Best evaluation: step " in said and "max_epoch_share does not apply" in said
    card = (run_dir / "README.md").read_text()
    assert "- `max_steps`: 20" in card and "num_train_epochs" not in card
    assert "| epoch |" not in card


@pytest.mark.e2e
def test_run_config_records_streaming_and_the_step_cadence(csv_run):
    run_dir, result = csv_run
    saved = yaml.safe_load((run_dir / "run_config.yaml").read_text())
    assert saved["data"]["streaming"] is True
    assert saved["data"]["stream_validation_rows"] == 30
    assert saved["eval_strategy"] == saved["save_strategy"] == "steps"
    assert saved["eval_steps"] == saved["save_steps"] == 2  # max_steps / 10
    assert "evaluating and saving every 2 steps of 20" in result.stderr + result.stdout
    evaluated = [r["step"] for r in history_rows(run_dir, "eval")]
    assert evaluated[:3] == [2, 4, 6]


@pytest.mark.e2e
def test_a_streamed_jsonl_with_a_validation_file(tiny_bert, tmp_path):
    rows = [{"text": t, "label": label} for t, label in make_texts(30, seed=3)]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    validation = write_csv(tmp_path / "validation.csv", make_texts(5, seed=4))
    data = (
        f"{{train_file: '{train}', validation_file: '{validation}', streaming: true, "
        f"stream_head_rows: 40, max_length: 32}}"
    )
    recipe = streamed_recipe(tmp_path, tiny_bert, data, **{"baseline": "{enabled: false}"})
    result = ftk("train", "--config", recipe, "--max_steps", "4")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "eval_accuracy" in metrics and "test_accuracy" not in metrics
    assert metrics["streaming"]["validation"].startswith("given: file")
    assert "Streaming: test is none." in result.stderr + result.stdout


def numbered_rows(n: int) -> list[dict[str, str]]:
    """Rows whose text names the row, so a held-out row is found among the trained ones."""
    return [{"text": f"row {i} words", "label": LABELS[i % 3]} for i in range(n)]


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    table = datasets.Dataset.from_list(rows)
    if path.suffix == ".parquet":
        table.to_parquet(str(path))
    elif path.suffix == ".jsonl":
        table.to_json(str(path), lines=True)
    else:
        table.to_csv(str(path), index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_held_out_heads_are_never_trained_on(tmp_path, suffix):
    rows = numbered_rows(500)
    cfg = DataConfig(
        train_file=str(write_rows(tmp_path / f"train{suffix}", rows)),
        streaming=True,
        stream_validation_rows=50,
        stream_test_rows=40,
        stream_head_rows=100,
        stream_shuffle_buffer=64,
    )
    streamed = load_streamed(cfg, ["text"], seed=0, target=CLASSES)
    splits = streamed.loaded.splits
    texts = [r["text"] for r in rows]
    assert splits["validation"]["text"] == texts[:50], "the fixed head, in the file's order"
    assert splits["test"]["text"] == texts[50:90]
    assert splits["train"]["text"] == texts[90:190], "the head sample follows the hold-outs"
    trained = [row["text"] for row in streamed.stream]
    assert len(trained) == 410 and set(trained) == set(texts[90:])
    assert trained != texts[90:], "the shuffle buffer mixes the training order"
    assert streamed.loaded.label_names == list(LABELS)


@pytest.mark.parametrize("shuffle_buffer", [1, 64])
def test_each_process_reads_its_own_rows_after_the_same_held_out_heads(
    tmp_path, monkeypatch, shuffle_buffer
):
    """Two processes: the same hold-outs and head sample on each, training rows that never
    overlap and together make the whole stream; with the buffer off, process r keeps rows r,
    r + 2, ... (its batch and the other's make one process's batch of twice the size)."""
    rows = numbered_rows(101)
    cfg = DataConfig(
        train_file=str(write_rows(tmp_path / "train.csv", rows)),
        streaming=True,
        stream_validation_rows=20,
        stream_head_rows=30,
        stream_shuffle_buffer=shuffle_buffer,
    )
    texts = [r["text"] for r in rows]
    shares = []
    for rank in (0, 1):
        monkeypatch.setenv("WORLD_SIZE", "2")
        monkeypatch.setenv("RANK", str(rank))
        streamed = load_streamed(cfg, ["text"], seed=0, target=CLASSES)
        assert streamed.loaded.splits["validation"]["text"] == texts[:20]
        assert streamed.loaded.splits["train"]["text"] == texts[20:50]
        assert "keeps every 2nd row" in streamed.facts["per_process"]
        shares.append([row["text"] for row in streamed.stream])
    assert (len(shares[0]), len(shares[1])) == (41, 40), "81 rows: one more on process 0"
    assert not set(shares[0]) & set(shares[1])
    assert set(shares[0]) | set(shares[1]) == set(texts[20:])
    if shuffle_buffer == 1:
        assert shares[0] == texts[20::2] and shares[1] == texts[21::2]


def test_whole_files_go_to_processes_when_no_rows_are_held_out(tmp_path, monkeypatch):
    """A Hub set (a local folder) of 2 training files and a validation split: nothing is held
    out of the stream, so each of 2 processes reads one file whole."""
    rows = numbered_rows(60)
    write_rows(tmp_path / "train-0.csv", rows[:30])
    write_rows(tmp_path / "train-1.csv", rows[30:])
    write_rows(tmp_path / "validation.csv", numbered_rows(9))
    cfg = DataConfig(hub_id=str(tmp_path), streaming=True, stream_head_rows=10)
    monkeypatch.setenv("WORLD_SIZE", "2")
    files = []
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        streamed = load_streamed(cfg, ["text"], seed=0, target=CLASSES)
        assert "reads 1 of the source's 2 files" in streamed.facts["per_process"]
        files.append(sorted(row["text"] for row in streamed.stream))
    assert sorted([*files[0], *files[1]]) == sorted(r["text"] for r in rows)
    assert {len(files[0]), len(files[1])} == {30}


def test_a_share_is_read_pass_after_pass_reshuffled_each_pass(tmp_path):
    rows = numbered_rows(40)
    cfg = DataConfig(
        train_file=str(write_rows(tmp_path / "train.csv", rows)),
        streaming=True,
        stream_validation_rows=10,
        stream_head_rows=10,
        stream_shuffle_buffer=16,
    )
    stream = load_streamed(cfg, ["text"], seed=0, target=CLASSES).stream
    endless = iter(EndlessPasses(stream))
    passes = [[next(endless)["text"] for _ in range(30)] for _ in range(3)]
    assert all(sorted(p) == sorted(r["text"] for r in rows[10:]) for p in passes)
    assert passes[0] != passes[1] != passes[2], "each pass reshuffled"
    again = iter(EndlessPasses(stream))
    assert [next(again)["text"] for _ in range(90)] == [t for p in passes for t in p], (
        "the same passes on every reading: a resume skips into the same order"
    )


def test_an_empty_share_is_an_error_not_an_endless_wait(tmp_path):
    empty = datasets.Dataset.from_list([{"text": "a"}]).to_iterable_dataset().skip(1)
    with pytest.raises(UserError, match="holds no rows"):
        next(iter(EndlessPasses(empty)))


def test_a_hub_set_streams_its_training_split_and_reads_its_validation_split(tmp_path):
    """A Hub set (here a local folder `load_dataset` reads as one): its validation split is
    read whole, its training split streamed whole (no head held out of it)."""
    rows = numbered_rows(120)
    write_rows(tmp_path / "train.csv", rows)
    write_rows(tmp_path / "validation.csv", numbered_rows(9))
    cfg = DataConfig(hub_id=str(tmp_path), streaming=True, stream_head_rows=30)
    streamed = load_streamed(cfg, ["text"], seed=0, target=CLASSES)
    assert streamed.loaded.splits["validation"].num_rows == 9
    assert "test" not in streamed.loaded.splits
    assert streamed.facts["validation"].startswith("given: validation split of")
    assert sorted(row["text"] for row in streamed.stream) == sorted(r["text"] for r in rows)


def refused(w: Path, bert: Path, *args: str, data: str | None = None) -> str:
    train = write_csv(w / "train.csv", make_texts(20, seed=1))
    data = data or f"{{train_file: '{train}', streaming: true, max_length: 32}}"
    recipe = streamed_recipe(w, bert, data)
    return str(recipe)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["train"], "--max_steps N"),
        (
            ["search", "--trials", "1", "--search.folds", "3", "--max_steps", "5"],
            "ftk search does not work",
        ),
        (["train", "--task", "masked-lm", "--max_steps", "5"], "task 'masked-lm' needs"),
        (
            ["train", "--task", "image-classification", "--max_steps", "5"],
            "task 'image-classification' needs",
        ),
    ],
    ids=["no max_steps", "k-fold search", "pre-training", "image task"],
)
def test_what_cannot_stream_stops_at_start(tiny_bert, tmp_path, capsys, args, says):
    recipe = refused(tmp_path, tiny_bert)
    code = main([args[0], "--config", recipe, *args[1:]])
    err = capsys.readouterr().err
    assert code == 2 and says in err, err[-1500:]
    assert not (tmp_path / "run").exists()


@pytest.mark.e2e
def test_a_label_first_met_late_stops_the_run_naming_it(tiny_bert, tmp_path, capsys):
    rows = [*make_texts(20, seed=1), ("goal match team", "weather")]
    train = write_csv(tmp_path / "late.csv", rows)
    data = (
        f"{{train_file: '{train}', streaming: true, stream_validation_rows: 10, "
        f"stream_head_rows: 20, max_length: 32}}"
    )
    recipe = streamed_recipe(tmp_path, tiny_bert, data, **{"baseline": "{enabled: false}"})
    code = main(["train", "--config", str(recipe), "--max_steps", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Row 61 of the file" in err and "label 'weather'" in err, err[-1500:]
    assert "never maps a label to another class or drops it" in err
    assert not (tmp_path / "run" / "model.safetensors").exists()


def two_process_args(tmp_path: Path, model: Path, data: str, steps: int) -> list[str]:
    recipe = streamed_recipe(tmp_path, model, data, **{"baseline": "{enabled: false}"})
    args = ["train", "--config", str(recipe), "--max_steps", str(steps), "--bf16", "false"]
    return [*args, "--early_stopping.patience", "null", "--ddp_backend", "gloo"]


@pytest.mark.e2e
@pytest.mark.slow  # two runs, one of them launched on 2 processes: about 30 s
def test_two_processes_train_the_rows_one_process_trains(bert_without_dropout, tmp_path):
    """Each process reads its own rows (every 2nd after the held-out head): with the shuffle
    buffer off, process 0's batch of 4 and process 1's make the batch of 8 one process reads,
    so the losses are one process's (no row read twice or lost; each pads its own batch)."""
    train = write_csv(tmp_path / "train.csv", make_texts(40, seed=1))
    data = (
        f"{{train_file: '{train}', streaming: true, stream_validation_rows: 20, "
        f"stream_head_rows: 40, max_length: 32, stream_shuffle_buffer: 1}}"
    )
    common = two_process_args(tmp_path, bert_without_dropout, data, steps=6)
    # evaluation batches that split the 20 held-out rows evenly: a padded last batch would
    # count repeated rows in the Trainer's eval_loss on 2 processes (not in its accuracy)
    one = ["--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "20"]
    ftk(*common, "--output_dir", tmp_path / "one", *one)
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home")}
    two_args = ["--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "10"]
    two = launch_two_processes([*common, "--output_dir", str(tmp_path / "two"), *two_args], env)
    said = two.stderr + two.stdout
    assert two.returncode == 0, two.stderr[-3000:]
    assert "Processes: 2" in said
    assert "keeps every 2nd row, its own, after the held-out rows" in said
    report = (tmp_path / "two" / "report.md").read_text()
    assert "Processes: each of the 2 processes reads the whole training stream" in report
    one_losses = [r["loss"] for r in history_rows(tmp_path / "one", "train")]
    two_losses = [r["loss"] for r in history_rows(tmp_path / "two", "train")]
    assert len(two_losses) == 6
    assert two_losses == pytest.approx(one_losses, rel=1e-4)
    # the held-out head is the same on each process, and evaluated once across them
    scores = [
        [(r["step"], r["eval_loss"], r["eval_accuracy"]) for r in history_rows(run, "eval")]
        for run in (tmp_path / "one", tmp_path / "two")
    ]
    one_scores, two_scores = scores
    assert [step for step, _, _ in two_scores] == [step for step, _, _ in one_scores]
    for (_, loss_two, accuracy_two), (_, loss_one, accuracy_one) in zip(
        two_scores, one_scores, strict=True
    ):
        assert loss_two == pytest.approx(loss_one, rel=1e-4) and accuracy_two == accuracy_one


@pytest.mark.e2e
@pytest.mark.slow  # a launch on 2 processes: about 20 s
@pytest.mark.timeout(300)  # a hang fails here instead of holding the suite
def test_shares_of_different_lengths_train_max_steps_without_a_hang(tiny_bert, tmp_path):
    """9 training rows after the held-out head: process 0 keeps 5 (2 batches of 4 per pass),
    process 1 keeps 4 (1 batch). 6 steps of 2 accumulated batches read 48 rows on each, several
    passes of both: each share repeats without end, so both stop at max_steps. (With passes
    that end, process 1's every pass is one micro-batch, never an optimizer step: it never
    reaches step 6 and the launch hangs once process 0 is done; checked by hand, it did.)"""
    train = write_csv(tmp_path / "train.csv", make_texts(10, seed=1))  # 30 rows
    data = (
        f"{{train_file: '{train}', streaming: true, stream_validation_rows: 21, "
        f"stream_head_rows: 9, max_length: 32}}"
    )
    common = two_process_args(tmp_path, tiny_bert, data, steps=6)
    common += ["--gradient_accumulation_steps", "2"]
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home")}
    two = launch_two_processes(
        [*common, "--output_dir", str(tmp_path / "two"), "--per_device_train_batch_size", "4"],
        env,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    assert "repeats endlessly, reshuffled each pass" in two.stderr + two.stdout
    steps = [r["step"] for r in history_rows(tmp_path / "two", "train")]
    assert steps == list(range(1, 7))


@pytest.mark.e2e
@pytest.mark.slow  # a launch on 2 processes: about 20 s
@pytest.mark.timeout(300)
def test_an_empty_share_stops_the_launch_with_a_message_not_a_hang(tiny_bert, tmp_path):
    """1 training row after the held-out head on 2 processes: process 1's share is empty. Its
    Trainer would stop training alone while process 0 waits in its step's all-reduce; instead
    it stops the launch at its first batch, naming the cause."""
    train = write_csv(tmp_path / "train.csv", make_texts(10, seed=1))  # 30 rows
    data = (
        f"{{train_file: '{train}', streaming: true, stream_validation_rows: 29, "
        f"stream_head_rows: 1, max_length: 32}}"
    )
    common = two_process_args(tmp_path, tiny_bert, data, steps=4)
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home")}
    two = launch_two_processes(
        [*common, "--output_dir", str(tmp_path / "two"), "--per_device_train_batch_size", "4"],
        env,
    )
    assert two.returncode != 0
    assert "share of the training stream (data.streaming) holds no rows" in two.stderr
    assert not (tmp_path / "two" / "model.safetensors").exists()


@pytest.mark.e2e
@pytest.mark.slow  # three runs of up to 60 steps: about 25 s
def test_a_streamed_run_killed_at_a_checkpoint_resumes_to_the_same_end(tiny_bert, tmp_path):
    """Killed once checkpoint-18 is saved, in the stream's second pass (100 training rows, 8 a
    step), then resumed: the Trainer reads the stream again and skips the rows trained (144 at
    step 18), and the run ends with the uninterrupted run's history and metrics (the shuffle
    buffer on, dropout on). It checkpoints every 6 of its 60 steps: a tiny model's steps are so
    quick that on a loaded machine the kill may land after a later checkpoint (the resume then
    starts from that one), and the 42 steps after 18 keep it from landing after the end."""
    from test_resume import assert_same_end, kill_after_checkpoint

    train = write_csv(tmp_path / "train.csv", make_texts(40, seed=1))  # 120 rows
    data = (
        f"{{train_file: '{train}', streaming: true, stream_validation_rows: 20, "
        f"stream_head_rows: 40, max_length: 32, stream_shuffle_buffer: 16}}"
    )
    recipe = streamed_recipe(tmp_path, tiny_bert, data, **{"baseline": "{enabled: false}"})
    command = ["train", "--config", str(recipe), "--max_steps", "60"]
    command += ["--early_stopping.patience", "null"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    ftk(*command, "--output_dir", straight)
    cli = [sys.executable, "-m", "toolkit", *command, "--output_dir", str(resumed)]
    kill_after_checkpoint(cli, resumed / "checkpoint-18")
    assert not (resumed / "metrics.json").exists(), "the kill came too late"
    step = checkpoint_step(last_complete_checkpoint(resumed))
    assert 18 <= step < 60
    again = ftk(*command, "--output_dir", resumed, "--resume")
    skipped = f"skipping the {8 * step} training rows trained on before the checkpoint"
    assert skipped in again.stdout
    assert_same_end(straight, resumed)
    losses = [[r["loss"] for r in history_rows(run, "train")] for run in (straight, resumed)]
    assert losses[1] == pytest.approx(losses[0], abs=1e-4)


@pytest.mark.e2e
def test_a_streamed_run_resumes_only_on_the_processes_that_trained_it(tiny_bert, tmp_path, capsys):
    checkpoint = tmp_path / "run" / "checkpoint-5"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text('{"global_step": 5}')
    (checkpoint / "ftk_launch.json").write_text(
        '{"processes": 2, "per_device_train_batch_size": 4, "gradient_accumulation_steps": 1}'
    )
    recipe = refused(tmp_path, tiny_bert)
    code = main(["train", "--config", recipe, "--max_steps", "5", "--resume"])
    err = capsys.readouterr().err
    assert code == 2, err[-1500:]
    assert "--resume on another number of processes does not work with data.streaming" in err
    assert "Resume on 2 processes as it started" in err


@pytest.mark.e2e
@pytest.mark.slow  # three launches on 2 processes: about 90 s
def test_a_streamed_run_on_two_processes_resumes_to_the_same_end(tiny_bert, tmp_path):
    """2 processes, each with its own 50 of the 100 training rows: killed at step 14 (each in
    its share's second pass), then resumed on 2 processes: each reads its share's passes again
    and skips its 56 rows, and the run ends as the uninterrupted one (dropout on: the Trainer
    restores each process's random state)."""
    from test_resume import assert_same_end

    train = write_csv(tmp_path / "train.csv", make_texts(40, seed=1))  # 120 rows
    data = (
        f"{{train_file: '{train}', streaming: true, stream_validation_rows: 20, "
        f"stream_head_rows: 40, max_length: 32, stream_shuffle_buffer: 16}}"
    )
    common = two_process_args(tmp_path, tiny_bert, data, steps=20)
    common += ["--per_device_train_batch_size", "4"]
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home"), "CUDA_VISIBLE_DEVICES": ""}
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    done = launch_two_processes([*common, "--output_dir", str(straight)], env)
    assert done.returncode == 0, done.stderr[-3000:]
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu"]
    launcher += ["--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no"]
    launcher += ["--dynamo_backend", "no", "--main_process_port", str(free_port())]
    killed = subprocess.Popen(
        [*launcher, "-m", "toolkit", *common, "--output_dir", str(resumed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    wait_for_checkpoint(killed, resumed / "checkpoint-14")
    kill_machine(killed)
    killed.stderr.close()
    assert not (resumed / "metrics.json").exists(), "the kill came too late"
    again = launch_two_processes([*common, "--output_dir", str(resumed), "--resume"], env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "skipping the 112 training rows" in again.stdout + again.stderr
    assert_same_end(straight, resumed)
    losses = [[r["loss"] for r in history_rows(run, "train")] for run in (straight, resumed)]
    assert losses[1] == pytest.approx(losses[0], abs=1e-4)


@pytest.mark.e2e
def test_ftk_schedule_of_a_stream_speaks_of_steps(tiny_bert, tmp_path, capsys):
    """A stream has no epochs: `ftk schedule` counts the rows max_steps reads and the schedule
    in steps (run/stages.py's announce_schedule prints ftk train's through the same summary)."""
    recipe = refused(tmp_path, tiny_bert)
    held = ["--data.stream_validation_rows", "20", "--data.stream_head_rows", "20"]
    assert main(["schedule", "--config", recipe, "--max_steps", "20", *held]) == 0
    out = capsys.readouterr().out
    assert "Training rows read in max_steps: 160; processes: 1" in out
    assert "Schedule: 20 optimizer steps (max_steps; a stream has no epochs)" in out
    assert "epochs)" not in out.replace("no epochs)", "")


@pytest.mark.e2e
@pytest.mark.slow  # a launch on 2 processes: about 20 s
@pytest.mark.timeout(300)
def test_two_processes_read_one_file_each_of_a_two_file_hub_set(tiny_bert, tmp_path):
    """A Hub set (a local folder) of 2 training files, 30 and 21 rows, with its validation
    split: nothing is held out of the stream, so each process reads one file alone, and the
    shares' different lengths still end both at max_steps."""
    texts = [{"text": t, "label": label} for t, label in make_texts(17, seed=1)]  # 51 rows
    folder = tmp_path / "hub"
    folder.mkdir()
    write_rows(folder / "train-0.csv", texts[:30])
    write_rows(folder / "train-1.csv", texts[30:])
    write_csv(folder / "validation.csv", make_texts(4, seed=2))
    data = f"{{hub_id: '{folder}', streaming: true, stream_head_rows: 20, max_length: 32}}"
    common = two_process_args(tmp_path, tiny_bert, data, steps=6)
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home")}
    two = launch_two_processes(
        [*common, "--output_dir", str(tmp_path / "two"), "--per_device_train_batch_size", "4"],
        env,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    assert "each of the 2 processes reads 1 of the source's 2 files" in two.stdout + two.stderr
    steps = [r["step"] for r in history_rows(tmp_path / "two", "train")]
    assert steps == list(range(1, 7))
