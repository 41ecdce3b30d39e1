"""Test helpers: tiny data files with a learnable signal, small recipes for tiny models, and
the CLI run as a user runs it (`ftk`) and in-process (`expect_user_error`). Fixtures live in
conftest.py; tests import these."""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import json
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from toolkit.core.run_files import HISTORY, read_history
from toolkit.core.run_state import SAVING
from toolkit.training.resume import LOSS_SUM_FILE
from toolkit.training.resume_batch import LAUNCH_FILE

TOPIC_WORDS = {
    "sport": [
        "goal",
        "match",
        "team",
        "coach",
        "league",
        "score",
        "win",
        "player",
        "season",
        "cup",
    ],
    "business": [
        "market",
        "profit",
        "shares",
        "bank",
        "price",
        "growth",
        "trade",
        "company",
        "sales",
        "economy",
    ],
    "tech": [
        "software",
        "phone",
        "chip",
        "internet",
        "computer",
        "data",
        "network",
        "robot",
        "app",
        "code",
    ],
}


FILLER = [
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "on",
    "with",
    "for",
    "is",
    "was",
    "it",
    "this",
    "that",
]


def ftk(*args, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """`ftk ARGS` in a child process, as a user runs it. With `check`, a non-zero exit fails
    the test and shows the end of its stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def make_texts(n_per_class: int, seed: int) -> list[tuple[str, str]]:
    """Short texts whose topic words give the label away (and filler that does not)."""
    rng = random.Random(seed)
    rows = []
    for label, words in TOPIC_WORDS.items():
        for _ in range(n_per_class):
            tokens = rng.choices(words, k=rng.randint(3, 6)) + rng.choices(
                FILLER, k=rng.randint(2, 10)
            )
            rng.shuffle(tokens)
            rows.append((" ".join(tokens), label))
    rng.shuffle(rows)
    return rows


def make_regression_texts(n: int, seed: int) -> list[tuple[str, str]]:
    """Short texts whose target is half the number of sport words in them (0 to 2.5): a count
    the model must learn from the words, with business words and filler as distractors."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        k = rng.randint(0, 5)
        tokens = rng.choices(TOPIC_WORDS["sport"], k=k)
        tokens += rng.choices(TOPIC_WORDS["business"], k=rng.randint(0, 3))
        tokens += rng.choices(FILLER, k=rng.randint(2, 6))
        rng.shuffle(tokens)
        rows.append((" ".join(tokens), f"{0.5 * k:.2f}"))
    return rows


def make_multilabel_texts(n: int, seed: int) -> list[tuple[str, str]]:
    """Short texts about any subset of the topics (one in eight about none): the label is the
    subset, its topic names sorted and joined by "," (empty for none)."""
    rng = random.Random(seed)
    topics = sorted(TOPIC_WORDS)
    rows = []
    for _ in range(n):
        chosen = [] if rng.random() < 0.125 else sorted(rng.sample(topics, rng.randint(1, 2)))
        tokens = [w for t in chosen for w in rng.choices(TOPIC_WORDS[t], k=rng.randint(2, 4))]
        tokens += rng.choices(FILLER, k=rng.randint(2, 6))
        rng.shuffle(tokens)
        rows.append((" ".join(tokens), ",".join(chosen)))
    return rows


def write_csv(path: Path, rows: list[tuple[str, str]], header=("text", "label")) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_recipe(path: Path, lines: list[str], extra: dict[str, str]) -> Path:
    """Write a recipe: its own top-level `key: value` lines, then `extra` as more of them; a
    key of `extra` that a line already sets replaces that line's value (ftk refuses a key
    written twice)."""
    own = [line.split(":", 1)[0] for line in lines]
    kept = [f"{k}: {extra[k]}" if k in extra else line for k, line in zip(own, lines, strict=True)]
    added = [f"{k}: {v}" for k, v in extra.items() if k not in own]
    path.write_text("\n".join(kept + added) + "\n")
    return path


def small_run_recipe(model: Path, folder: Path) -> Path:
    """A recipe that trains 11 steps an epoch (81 training rows, batch 8) into folder/run,
    without baselines: for tests that stop, fill or cut a real run."""
    data = {
        "train": write_csv(folder / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(10, seed=2)),
    }
    return write_text_config(
        folder / "r.yaml", model, data, folder / "run", baseline="{enabled: false}"
    )


def write_text_config(
    path: Path,
    model: Path,
    data: dict[str, Path],
    output_dir: Path,
    task: str = "text-classification",
    **extra: str,
) -> Path:
    """A small recipe for the tiny model; `extra` adds top-level lines (`key="value"`)."""
    lines = [
        f"task: {task}",
        f"model: {{name_or_path: '{model}'}}",
        f"data: {{train_file: '{data['train']}', test_file: '{data['test']}', max_length: 32}}",
        "schedule: {warmup_fraction: 0.2, decay: cosine}",
        f"output_dir: '{output_dir}'",
        "learning_rate: 5e-3",  # YAML reads this as a string: the config must convert it
        "num_train_epochs: 8",
        "per_device_train_batch_size: 8",
        "logging_steps: 1",
        "save_total_limit: 1",
        "use_cpu: true",
        "dataloader_pin_memory: false",
    ]
    return write_recipe(path, lines, extra)


# ----------------------------------------------------------------------------- images

SHAPE_COLOURS = {"circle": (220, 40, 40), "square": (40, 200, 40), "triangle": (40, 60, 220)}


def draw_shape(shape: str, size: int, rng: random.Random):
    """A coloured shape at a random place and scale on a noisy grey background."""
    from PIL import Image, ImageDraw

    grey = rng.randint(90, 160)
    image = Image.new("RGB", (size, size), (grey, grey, grey))
    draw = ImageDraw.Draw(image)
    extent = rng.randint(size // 3, size // 2)
    x, y = rng.randint(0, size - extent - 1), rng.randint(0, size - extent - 1)
    box = (x, y, x + extent, y + extent)
    colour = SHAPE_COLOURS[shape]
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "square":
        draw.rectangle(box, fill=colour)
    else:
        draw.polygon([(x, y + extent), (x + extent, y + extent), (x + extent // 2, y)], fill=colour)
    return image


def make_image_folder(
    root: Path,
    n_per_class: int,
    seed: int,
    size: int = 24,
    classes=("circle", "square", "triangle"),
) -> Path:
    """root/<shape>/<i>.png: simple coloured shapes, one subfolder per class."""
    rng = random.Random(seed)
    for shape in classes:
        (root / shape).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            draw_shape(shape, size, rng).save(root / shape / f"{i}.png")
    return root


def write_corrupt_image(path: Path) -> Path:
    """A file named like a PNG whose data stops halfway through."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (24, 24), (1, 2, 3)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


TINY_VIT_SIZES = {
    "model_type": "vit",
    "image_size": 16,
    "patch_size": 4,
    "num_channels": 3,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}


def write_image_config(
    path: Path,
    model_lines: str,
    data_lines: str,
    output_dir: Path,
    task: str = "image-classification",
    **extra: str,
) -> Path:
    """A small image recipe; `extra` adds top-level lines (`key="value"`)."""
    lines = [
        f"task: {task}",
        f"model: {model_lines}",
        f"data: {data_lines}",
        "schedule: {warmup_fraction: 0.1, decay: cosine}",
        f"output_dir: '{output_dir}'",
        "learning_rate: 3e-3",
        "num_train_epochs: 6",
        "per_device_train_batch_size: 16",
        "logging_steps: 2",
        "save_total_limit: 1",
        "use_cpu: true",
        "dataloader_num_workers: 1",
    ]
    return write_recipe(path, lines, extra)


def make_square_images(root: Path, n: int, seed: int, size: int = 16) -> Path:
    """root/<i>.png: a bright square of random side on a dark background, and root/labels.csv
    listing each file with its target, the side as a fraction of the image (0.125 to 0.875)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        side = rng.randint(2, 14)
        image = Image.new("RGB", (size, size), (20, 20, 20))
        x, y = rng.randint(0, size - side), rng.randint(0, size - side)
        ImageDraw.Draw(image).rectangle((x, y, x + side - 1, y + side - 1), fill=(230, 230, 230))
        image.save(root / f"{i}.png")
        rows.append((f"{i}.png", f"{side / size:.4f}"))
    return write_csv(root / "labels.csv", rows, header=("file", "label"))


REPEATED_SENTENCES = [
    "the market price of shares and bank profit was up",
    "the team coach won the cup match with a goal",
    "software on the phone chip and the network app code",
]


def write_mlm_config(path: Path, model: Path, corpus: Path, output_dir: Path, **extra: str) -> Path:
    """A small masked-lm recipe for the tiny BERT; `extra` adds top-level lines."""
    lines = [
        "task: masked-lm",
        f"model: {{name_or_path: '{model}'}}",
        f"data: {{train_file: '{corpus}', max_length: 16}}",
        "masking: {mlm_probability: 0.2}",
        "schedule: {warmup_fraction: 0.1}",
        f"output_dir: '{output_dir}'",
        "learning_rate: 1e-2",
        "num_train_epochs: 4",
        "per_device_train_batch_size: 8",
        "logging_steps: 1",
        "save_total_limit: 1",
        "use_cpu: true",
    ]
    return write_recipe(path, lines, extra)


def write_pattern_images(path: Path, n: int = 120, seed: int = 0, column: str = "image") -> Path:
    """16x16 RGB stripes and checkerboards in random colours, as Parquet with an Image column."""
    import datasets
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        pixels = np.zeros((16, 16, 3), dtype=np.uint8)
        colour = rng.integers(120, 256, size=3)
        if i % 3 == 0:
            pixels[(np.arange(16) // 2) % 2 == 0] = colour
        elif i % 3 == 1:
            pixels[:, (np.arange(16) // 2) % 2 == 0] = colour
        else:
            pixels[(np.add.outer(np.arange(16), np.arange(16)) // 4) % 2 == 0] = colour
        images.append(Image.fromarray(pixels))
    features = datasets.Features({column: datasets.Image()})
    datasets.Dataset.from_dict({column: images}, features=features).to_parquet(str(path))
    return path


def write_mim_config(
    path: Path, images: Path, output_dir: Path, vit: dict | None = None, **extra: str
) -> Path:
    import json

    lines = [
        "task: masked-image-modeling",
        f"model: {{from_config: {json.dumps(vit or TINY_VIT_SIZES)}}}",
        f"data: {{train_file: '{images}'}}",
        "masking: {mask_ratio: 0.5, mask_patch_size: 8}",
        f"output_dir: '{output_dir}'",
        "learning_rate: 3e-3",
        "num_train_epochs: 4",
        "per_device_train_batch_size: 16",
        "logging_steps: 1",
        "save_total_limit: 1",
        "use_cpu: true",
    ]
    return write_recipe(path, lines, extra)


def expect_user_error(args, capsys) -> str:
    """Run the CLI in-process; it must exit 2 with a message and no traceback. Returns stderr."""
    from toolkit.cli import main

    code = main(args)
    captured = capsys.readouterr()
    assert code == 2, captured
    assert "Traceback" not in captured.err
    return captured.err


def save_tiny_bert(folder: Path, words: list[str], max_length: int) -> Path:
    """A seeded 2-layer BERT encoder (hidden 32, no head) and a fast WordPiece tokenizer over
    the special tokens + `words`, saved to `folder` for the real from_pretrained path."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    tokenizer = BertTokenizerFast(
        vocab={token: i for i, token in enumerate(vocab)}, model_max_length=max_length
    )
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_length,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str):
    """A benchmarks/ script as a module, to test its arithmetic on hand-made inputs (its folder
    on sys.path, as when it runs, for `from common import ...`)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import would: dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def history_rows(run_dir: Path, kind: str | None = None) -> list[dict]:
    """The run's history.jsonl rows (only those of `kind`), read by ftk's own reader."""
    rows = read_history(Path(run_dir) / HISTORY)
    return rows if kind is None else [row for row in rows if row["kind"] == kind]


def bare_trainer(model, output_dir: Path, training: dict | None = None, **kwargs):
    """A ToolkitTrainer with no data, on the CPU, for tests of its loss and its best-model
    reload; `training`: more TrainingArguments, `kwargs`: ToolkitTrainer's own (class_weights)."""
    from transformers import TrainingArguments

    from toolkit.config.schema import ScheduleConfig
    from toolkit.training.trainer import ToolkitTrainer

    args = TrainingArguments(
        output_dir=str(output_dir), use_cpu=True, report_to="none", **(training or {})
    )
    return ToolkitTrainer(model=model, args=args, schedule=ScheduleConfig(), **kwargs)


# ------------------------------------------------------------ run folders that a kill leaves


# What a checkpoint holds once it is whole: the Trainer writes trainer_state.json last, then
# ToolkitTrainer._save_checkpoint adds the loss sum and, last of all, the launch.
WHOLE_CHECKPOINT = ("trainer_state.json", LOSS_SUM_FILE, LAUNCH_FILE)


def wait_for_checkpoint(
    process: subprocess.Popen,
    checkpoint: Path,
    files=WHOLE_CHECKPOINT,
    timeout=300.0,
    settle: float = 0.0,
) -> None:
    """Return as soon as every one of `files` is in `checkpoint`, written (a kill then lands
    right after it; a tiny model's later steps take milliseconds), and `settle` seconds more
    for files that other processes write; fail if `process` ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not all(written(checkpoint / name) for name in files):
        if process.poll() is not None:
            said = process.stderr.read()[-2000:] if process.stderr else "(output in its log)"
            raise AssertionError(f"ended before {checkpoint.name}: {said}")
        assert time.monotonic() < deadline, f"no {checkpoint.name} in time"
        time.sleep(0.01)
    time.sleep(settle)


def written(path: Path) -> bool:
    """`path` is there and not empty (each of those files is written in one go)."""
    return path.is_file() and path.stat().st_size > 0


def complete_checkpoint(run: Path, step: int) -> Path:
    folder = run / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"\0" * 64)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return folder


def killed_saving_first_checkpoint(run: Path) -> Path:
    """A kill while the Trainer wrote checkpoint-11, the run's first: its weights are there in
    part, its trainer_state.json (written last) is not."""
    run.mkdir(parents=True)
    (run / "history.jsonl").write_text('{"kind": "step", "step": 1, "lr": [0.0]}\n')
    (run / "started_config.yaml").write_text("task: text-classification\n")
    (run / "checkpoint-11").mkdir()
    (run / "checkpoint-11" / "model.safetensors").write_bytes(b"\0" * 10)
    return run


def killed_saving_final_files(run: Path, bert: Path) -> Path:
    """A kill while the finished run wrote its top-level files: the classifier's config.json
    and weights are whole, tokenizer_config.json is cut off, run_config.yaml not yet written
    (old ftk read this folder as a plain checkpoint and died on a JSONDecodeError)."""
    run.mkdir(parents=True)
    (run / "history.jsonl").write_text('{"kind": "step", "step": 11, "lr": [0.001]}\n')
    (run / "started_config.yaml").write_text("task: text-classification\n")
    complete_checkpoint(run, 11)
    config = json.loads((bert / "config.json").read_text())
    config["architectures"] = ["BertForSequenceClassification"]
    (run / "config.json").write_text(json.dumps(config))
    shutil.copy(bert / "model.safetensors", run / "model.safetensors")
    (run / "tokenizer_config.json").write_text('{"do_lower_case": true, "model_max_le')
    (run / SAVING).write_text("")
    return run


# Modelling code shipped in a checkpoint folder; importing it leaves a marker file behind.
SHIPPED_CODE = """from pathlib import Path

Path({marker!r}).write_text("ran")
from transformers import BertConfig, BertForSequenceClassification


class ShippedConfig(BertConfig):
    model_type = "shipped"


class ShippedModel(BertForSequenceClassification):
    config_class = ShippedConfig
"""


def with_shipped_code(source: Path, folder: Path) -> Path:
    """A copy of the checkpoint `source` whose config.json needs modelling code shipped beside
    it (auto_map, for a model type transformers does not know), as some Hub repos do. The
    code, if anything ever runs it, writes folder/CODE_RAN."""
    shutil.copytree(source, folder)
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "shipped"
    config["auto_map"] = {
        "AutoConfig": "shipped.ShippedConfig",
        "AutoModelForSequenceClassification": "shipped.ShippedModel",
    }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "shipped.py").write_text(SHIPPED_CODE.format(marker=str(folder / "CODE_RAN")))
    return folder


# ----------------------------------------------------------------------------- launches


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_two_processes(ftk_args: list[str], env: dict) -> subprocess.CompletedProcess:
    """`accelerate launch` of two CPU processes (the README's command) running `ftk ARGS`."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            str(free_port()),
            "-m",
            "toolkit",
            *ftk_args,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def launch_machine(
    rank: int,
    port: int,
    ftk_args: list[str],
    env: dict,
    logs: Path | None = None,
    program: tuple[str, ...] = ("-m", "toolkit"),
) -> subprocess.Popen:
    """One machine of the README's cluster command (configs/accelerate/multi-node.yaml), on
    loopback: node `rank` of 2, one CPU process each (`kill_machine` stops one as a cluster
    loses one). Output is piped, or with `logs` written to logs/node-RANK.{out,err} (nothing
    to drain while a test waits on something else). `program`: what each process runs,
    `-m toolkit` (ftk) or a script that wraps ftk's `main`."""
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    if logs is not None:
        streams = {kind: (logs / f"node-{rank}.{kind[3:]}").open("w") for kind in streams}
    machine = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--config_file",
            str(Path(__file__).parents[1] / "configs" / "accelerate" / "multi-node.yaml"),
            "--num_processes",
            "2",
            "--machine_rank",
            str(rank),
            "--main_process_ip",
            "127.0.0.1",
            "--main_process_port",
            str(port),
            "--mixed_precision",
            "no",
            *program,
            *ftk_args,
        ],
        text=True,
        env=env,
        **streams,
    )
    if logs is not None:
        for stream in streams.values():
            stream.close()  # the launcher holds its own copies
    return machine


def kill_machine(launcher: subprocess.Popen) -> None:
    """SIGKILL a launcher and every process under it, as a machine that fails loses them all.
    torch's elastic agent starts each worker in a session of its own, so killing the
    launcher's process group would leave its workers training."""
    import psutil

    if launcher.poll() is not None:
        return  # ended, and its workers with it (the agent waits for them)
    root = psutil.Process(launcher.pid)
    killed = [*root.children(recursive=True), root]
    for process in killed:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    launcher.wait()
    # A killed process takes a while to end on a busy machine (its memory freed first); until
    # it has, the run lock it took still names a live process, and the next command is refused.
    deadline = time.monotonic() + 60
    while any(still_running(process) for process in killed):
        assert time.monotonic() < deadline, "a killed process did not end in a minute"
        time.sleep(0.05)


def still_running(process: Any) -> bool:
    """Not ended yet: a zombie (ended, not yet reaped) counts as ended."""
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
