"""Streaming at scale (#34): a streamed run over a file larger than one wants in memory reaches
step 100 in bounded memory.

    python benchmarks/streaming.py --rows 10000000
    python benchmarks/streaming.py --tiny     # seconds: a tiny BERT on short texts (tests)

Writes a CSV of N rows of BBC News sentences (benchmarks/scale.py's `sentences()` and
`write_csv()`: sampled with replacement, a row number appended so no two texts are equal) into
a temporary folder, deleted afterwards, then runs in a fresh process

    ftk train --data.train_file F --data.builtin null --data.streaming true
              --data.max_length 64 --max_steps STEPS --eval_steps 50 --output_dir TMP/run

(the default recipe, configs/text-bbc-minilm.yaml: MiniLM, batch 16, one process; `--eval-steps`
50 evaluates twice where the default, max_steps / 10, would score the 2,000 validation rows ten
times) and prints one JSON line: rows, file size, seconds to write it, seconds from the start of
`ftk train` to its first optimizer step (the history's stamp), total wall time, the
child's peak RSS (getrusage of the children), and the last step the history recorded.
With --tiny, the rows are common.make_tiny_recipe's texts and the model its tiny BERT (held-out
heads of 30 rows, no baselines), so the test suite runs the script end to end in seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import common
from scale import sentences

MAX_LENGTH = 64


def write_rows(path: Path, rows: int, pool: list[tuple[str, str]]) -> None:
    """scale.py's `write_csv` (the same pool sampled with replacement, the row number appended
    to each text), written a block at a time from pre-quoted lines: 10M rows in about a minute
    where one csv.writer call per row takes ten."""
    rng = random.Random(rows)
    quoted = [('"' + text.replace('"', '""') + " (", f')",{label}\n') for text, label in pool]
    with path.open("w", newline="") as handle:
        handle.write("text,label\n")
        for start in range(0, rows, BLOCK):
            chosen = rng.choices(quoted, k=min(BLOCK, rows - start))
            handle.write(
                "".join(f"{head}{start + i}{tail}" for i, (head, tail) in enumerate(chosen))
            )


BLOCK = 100_000


def kept_tail(stream, seen: dict) -> None:
    """Reads the child's stderr, keeping its end (shown if the run fails)."""
    tail = ""
    for chunk in iter(lambda: stream.read(4096), ""):
        tail = (tail + chunk)[-20000:]
    seen["tail"] = tail


def streamed_run(data: Path, run_dir: Path, steps: int, eval_steps: int, extra: list[str]) -> dict:
    command = common.ftk(
        "train",
        "--data.train_file",
        str(data),
        "--data.builtin",
        "null",
        "--data.streaming",
        "true",
        "--data.max_length",
        str(MAX_LENGTH),
        "--max_steps",
        str(steps),
        "--eval_steps",
        str(eval_steps),
        "--output_dir",
        str(run_dir),
        *extra,
    )
    path = os.pathsep.join(filter(None, [str(common.ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "TOKENIZERS_PARALLELISM": "false"}
    started, started_at = time.perf_counter(), time.time()
    child = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=common.ROOT,
        env=env,
    )
    seen: dict = {}
    reader = threading.Thread(target=kept_tail, args=(child.stderr, seen))
    reader.start()
    code = child.wait()
    reader.join()
    if code != 0:
        sys.exit(f"ftk train failed (exit {code}):\n{seen.get('tail', '')[-3000:]}")
    history = common.run_history(run_dir)
    first_step = min(row["time"] for row in history if row.get("kind") == "step")
    return {
        # the history's first optimizer-step row is stamped with the wall clock
        "first_step_s": round(first_step - started_at, 1),
        "total_wall_s": round(time.perf_counter() - started, 1),
        # ru_maxrss of the children waited for (KB on Linux): the ftk process
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        # the last step any history row (training loss every logging_steps, evaluation) names
        "last_step": max(row.get("step", 0) for row in history),
        # what the run compared with: the verdict's baseline (None: baselines off)
        "baseline": (common.run_metrics(run_dir).get("verdict") or {}).get("baseline"),
    }


def tiny_pool(folder: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """--tiny: the texts of common's tiny recipe (its tokenizer knows their words) and the
    options that train its tiny BERT on small held-out heads without baselines."""
    recipe = common.make_tiny_recipe(folder)
    with (folder / "train.csv").open(newline="") as handle:
        pool = [(row["text"], row["label"]) for row in csv.DictReader(handle)]
    small = ["--data.stream_validation_rows", "30", "--data.stream_head_rows", "60"]
    return pool, ["--config", str(recipe), *small, "--baseline.enabled", "false"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--steps", type=int, default=100)
    # each evaluation scores the 2,000 validation rows (2 minutes on 2 busy CPU cores)
    parser.add_argument("--eval-steps", type=int, default=50)
    parser.add_argument("--tmp", default=None, help="folder for the CSV (default: the system's)")
    parser.add_argument("--tiny", action="store_true", help="a tiny BERT and short texts")
    parser.add_argument("ftk", nargs=argparse.REMAINDER, help="after --: more `ftk train` options")
    args = parser.parse_args()
    args.ftk = [a for a in args.ftk if a != "--"]
    with tempfile.TemporaryDirectory(prefix="streaming-", dir=args.tmp) as folder:
        data = Path(folder) / "stream.csv"
        pool, extra = tiny_pool(Path(folder)) if args.tiny else (sentences(), [])
        args.ftk = [*extra, *args.ftk]
        started = time.perf_counter()
        write_rows(data, args.rows, pool)
        written = round(time.perf_counter() - started, 1)
        figures = streamed_run(data, Path(folder) / "run", args.steps, args.eval_steps, args.ftk)
        line = {
            "rows": args.rows,
            "ftk_options": args.ftk,
            "file_mb": round(data.stat().st_size / 2**20),
            "write_s": written,
            **figures,
            "reached_last_step": figures["last_step"] == args.steps,
        }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
