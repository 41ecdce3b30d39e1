"""What the benchmark and experiment scripts share: running a command in a fresh process, the
tiny recipe of their --tiny mode (seconds: the test suite runs them so), and a run directory's
history and metrics.

Importing it also puts this checkout first on sys.path, so `import toolkit` in a script (and
in the processes `run` starts) is the checkout's, not an installed copy.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolkit.core.run_files import HISTORY, METRICS, read_history  # noqa: E402

HEAVY_LOCK = "/tmp/ftk-heavy.lock"  # heavy jobs on a shared machine take it, one at a time

# Overrides that leave the training loop alone to time: no evaluation, checkpoint, best-model
# reload or early stopping. '"no"' is quoted: YAML reads a bare no as false.
LOOP_ONLY = [
    "--eval_strategy",
    '"no"',
    "--save_strategy",
    '"no"',
    "--load_best_model_at_end",
    "false",
    "--early_stopping.patience",
    "null",
]


def append_json_line(path: Path, record: dict[str, Any]) -> None:
    """One result as a line of a JSON Lines file (kept across runs: a rerun appends)."""
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")


def peak_rss_mb() -> float:
    """This process's peak RSS in MB (VmHWM: a new program starts its own, where ru_maxrss
    keeps the parent's from before the exec)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def ftk(*args: str) -> list[str]:
    """The command line of `ftk ARGS`, run by this interpreter."""
    return [sys.executable, "-m", "toolkit", *args]


def run(command: list[str], log: Path | None = None) -> float:
    """Runs `command` from the repository root; returns its seconds. Its output goes to `log`
    (else it is kept, to be shown if it fails); a failure ends the script with the output's end.
    """
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    started = time.perf_counter()
    if log is None:
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
        output = result.stderr
    else:
        with log.open("w") as handle:
            result = subprocess.run(
                command, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT, env=env
            )
        output = log.read_text()
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed ({result.returncode}):\n{output[-3000:]}")
    return seconds


def run_history(run_dir: Path) -> list[dict[str, Any]]:
    """The run's history.jsonl rows, read as ftk reads them."""
    return read_history(run_dir / HISTORY)


def run_metrics(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / METRICS).read_text())


# ----------------------------------------------------------------------------- --tiny


def make_tiny_recipe(workdir: Path, examples: int = 160) -> Path:
    """A tiny BERT and short texts whose topic words give the label away: seconds (tests)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import make_texts

    tiny = {
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
    }
    return write_synthetic_recipe(workdir, "tiny", tiny, make_texts(max(examples // 4, 40), 0), 32)


def write_synthetic_recipe(
    workdir: Path, name: str, bert_config: dict, rows: list, max_length: int
) -> Path:
    """A BERT built from `bert_config`, a tokenizer knowing every word of `rows` ((text, label)
    pairs), the CSV and a recipe naming them; nothing is downloaded."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = sorted({word for text, _ in rows for word in text.split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    model_dir = workdir / f"{name}-bert"
    BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}).save_pretrained(model_dir)
    BertModel(BertConfig(**bert_config)).save_pretrained(model_dir)
    train = workdir / "train.csv"
    with train.open("w", newline="") as handle:
        csv.writer(handle).writerows([("text", "label"), *rows])
    recipe = workdir / f"{name}.yaml"
    recipe.write_text(
        f"model: {{name_or_path: '{model_dir}'}}\n"
        f"data: {{train_file: '{train}', max_length: {max_length}}}\n"
    )
    return recipe


def deal(rows: list, shares: dict[str, float]) -> Iterator[tuple[str, list]]:
    """(split, its rows): `rows` dealt in order by `shares` (split -> fraction of the rows),
    the last split taking the rest. Shuffle first for a random split."""
    start = 0
    for i, (split, share) in enumerate(shares.items()):
        end = len(rows) if i == len(shares) - 1 else start + round(share * len(rows))
        yield split, rows[start:end]
        start = end
