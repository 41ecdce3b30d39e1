"""Every GPU measurement of issue 35 in one go, printed as one table.

Parts, each in a process of its own (a part that fails is a row saying so; the others run):
  throughput  benchmarks/gpu.sh: BERT-base (batch 32, seq 128) and ViT-B/16 training steps in
              fp32, bf16 and bf16 + torch.compile (MFU), then padding-free packing against
              padding (benchmarks/packing.py: its loss check, then tokens/s)
  launch      benchmarks/gpu_launch.sh: plain bf16, FSDP and ZeRO-2 with the shipped configs
  stock       benchmarks/stock_trainer.py --bf16 --rounds 1: ftk against a stock Trainer that
              pads to max_length (BBC + MiniLM, packaged: nothing is downloaded)

    python benchmarks/gpu_all.py [OUT_DIR]            # with an NVIDIA GPU (estimated 15 min, H100)
    python benchmarks/gpu_all.py --dry-run [OUT_DIR]  # anywhere: the commands it would run

Not yet run on a GPU: none was lent while it was written. Each part's CPU form is in the tests
(tests/test_benchmarks.py: gpu_throughput.py and packing.py --tiny on the CPU, stock_trainer.py
--tiny, gpu_launch.sh --dry-run, this script's --dry-run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parts(out: Path) -> dict[str, list[str]]:
    return {
        "throughput": ["bash", "benchmarks/gpu.sh", str(out)],
        "launch": ["bash", "benchmarks/gpu_launch.sh", str(out / "launch")],
        "stock": [
            sys.executable,
            "benchmarks/stock_trainer.py",
            "--bf16",
            "--rounds",
            "1",
            "--json",
            str(out / "stock.json"),
        ],
    }


def run_part(name: str, command: list[str], out: Path) -> tuple[int, float]:
    """(exit status, seconds); its output goes to OUT/NAME.log."""
    started = time.monotonic()
    with (out / f"{name}.log").open("w") as log:
        status = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode
    return status, time.monotonic() - started


def json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def throughput_rows(out: Path) -> list[tuple[str, str]]:
    rows = [
        (
            f"{r['model']} {r['mode']} batch {r['batch']}",
            f"MFU {r['mfu']:.1%}, {r['samples_per_s']:.0f} samples/s",
        )
        for r in json_lines(out / "gpu.jsonl")
    ]
    return rows + [
        (f"bert-base MLM {r['arm']} {r['attn']}", f"{r['tokens_per_s']:.0f} tokens/s")
        for r in json_lines(out / "packing.jsonl")
    ]


def launch_rows(out: Path) -> list[tuple[str, str]]:
    """gpu_launch.sh's own table: | form | exit | seconds | final eval_loss | saved |."""
    table = out / "launch" / "table.md"
    lines = table.read_text().splitlines()[2:] if table.is_file() else []
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return [(c[0], f"exit {c[1]}, {c[2]} s, eval_loss {c[3]}, model saved {c[4]}") for c in cells]


def stock_rows(out: Path) -> list[tuple[str, str]]:
    path = out / "stock.json"
    if not path.is_file():
        return []
    medians = json.loads(path.read_text())["medians"]
    names = {"stock": "stock Trainer, pad to max_length, bf16", "ftk": "ftk train, bf16"}
    return [
        (
            names[arm],
            f"{m['wall_s']:.0f} s wall, {m['train_s']:.0f} s training, "
            f"test accuracy {m['test_accuracy']:.4f}",
        )
        for arm, m in medians.items()
    ]


ROWS = {"throughput": throughput_rows, "launch": launch_rows, "stock": stock_rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=Path("/tmp/gpu-all"))
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args()
    out = args.out.resolve()
    if args.dry_run:
        for name, command in parts(out).items():
            print(f"{name}: {' '.join(command)}")
        return
    out.mkdir(parents=True, exist_ok=True)
    print("| part | form / mode | status | part seconds | figure |\n|---|---|---|---|---|")
    for name, command in parts(out).items():
        status, seconds = run_part(name, command, out)
        said = "ok" if status == 0 else f"exit {status} (see {out / name}.log)"
        for form, figure in ROWS[name](out) or [("-", "no result")]:
            print(f"| {name} | {form} | {said} | {seconds:.0f} | {figure} |", flush=True)


if __name__ == "__main__":
    main()
