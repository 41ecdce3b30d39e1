"""`ftk train` against a stock Trainer run: wall time, training time, time to accuracy, accuracy.

Two arms on the same recipe, each in a fresh process (imports count), alternating A B B A ...:
  stock  benchmarks/stock_classification.py: a plain Trainer with the Hugging Face example
         script's defaults (padding to max_length, no extras), the recipe's hyper-parameters and
         ftk's own train / validation / test rows;
  ftk    `python -m toolkit train --config RECIPE` with everything the recipe turns on.
Wall time runs from launching the process to its exit. Training time is the Trainer's
train_runtime; time to accuracy the seconds from the training start to the end of the first
evaluation whose validation accuracy reached the target (ftk's from history.jsonl, read by
benchmarks/time_to_accuracy.py). Target of issue 19: ftk's wall time at most 1.05x stock's,
lower with --bf16, and equal or better test accuracy.

    flock /tmp/ftk-heavy.lock python benchmarks/stock_trainer.py            # BBC, ~15 min/round
    flock /tmp/ftk-heavy.lock python benchmarks/stock_trainer.py --bf16 --rounds 2 \
        --json benchmarks/results/stock-trainer-bf16.json
    python benchmarks/stock_trainer.py --tiny --rounds 1   # seconds: a tiny BERT, for tests

Timings on a shared machine are noisy: read the ratios of adjacent runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from common import ROOT, ftk, run
from time_to_accuracy import TARGETS, report

DEFAULT_RECIPE = ROOT / "configs" / "text-bbc-minilm.yaml"

ARMS = ("stock", "ftk")
FIGURES = ("wall_s", "train_s", "tta_s", "test_accuracy")  # what each run reports


def run_stock(recipe: Path, work: Path, target: float, precision: list[str]) -> dict:
    result = work / "stock.json"
    script = ROOT / "benchmarks" / "stock_classification.py"
    command = [
        sys.executable,
        str(script),
        "--config",
        str(recipe),
        "--output_dir",
        str(work / "stock"),
    ]
    wall = run([*command, "--result", str(result), *precision], work / "stock.log")
    found = json.loads(result.read_text())
    hit = next((e for e in found["evaluations"] if e["eval_accuracy"] >= target), None)
    return {
        "wall_s": wall,
        "train_s": found["train_runtime"],
        "tta_s": hit and hit["seconds"],
        "test_accuracy": found["test_accuracy"],
        "eval_accuracy": found["eval_accuracy"],
    }


def run_ftk(recipe: Path, work: Path, target: float, overrides: list[str]) -> dict:
    out = work / "ftk"
    command = ftk("train", "--config", str(recipe), "--output_dir", str(out), *overrides)
    wall = run(command, work / "ftk.log")
    found = report(out, "accuracy", target)
    return {
        "wall_s": wall,
        "train_s": found["train_s"],
        "tta_s": found["seconds"],
        "test_accuracy": found["test"],
        "eval_accuracy": found["final_eval"],
    }


def run_arm(arm: str, recipe: Path, target: float, bf16: bool, use_cpu: bool) -> dict:
    """One run in a fresh process, in a folder removed afterwards (checkpoints are large)."""
    work = Path(tempfile.mkdtemp(prefix=f"stock-bench-{arm}-"))
    try:
        if arm == "stock":
            flags = ["--bf16"] * bf16 + ["--use_cpu"] * use_cpu
            return run_stock(recipe, work, target, flags)
        # said either way: left alone, ftk picks bf16 itself on a CPU or GPU that has it
        overrides = ["--bf16", "true" if bf16 else "false"] + ["--use_cpu", "true"] * use_cpu
        return run_ftk(recipe, work, target, overrides)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def arm_order(round_number: int) -> tuple[str, ...]:
    """A B, then B A, ...: whichever arm a slow spell of the machine hits, both share it."""
    return ARMS if round_number % 2 == 1 else ARMS[::-1]


def cell(value: float | None, fmt: str) -> str:
    return format(value, fmt) if value is not None else "-"


def print_round(number: int, runs: dict[str, dict], target: float) -> None:
    print(f"\nround {number}")
    print(f"{'arm':<6} {'wall s':>8} {'train s':>8} {f'to {target:.2f} s':>10} {'test acc':>9}")
    for arm in arm_order(number):
        r = runs[arm]
        print(
            f"{arm:<6} {r['wall_s']:>8.1f} {cell(r['train_s'], '8.1f'):>8} "
            f"{cell(r['tta_s'], '10.1f'):>10} {cell(r['test_accuracy'], '.4f'):>9}"
        )


def summarize(rounds: list[dict[str, dict]]) -> dict:
    """Per arm the median of each figure over the rounds, and ftk / stock of the medians."""
    medians = {}
    for arm in ARMS:
        medians[arm] = {}
        for figure in FIGURES:
            values = [r[arm][figure] for r in rounds if r[arm][figure] is not None]
            medians[arm][figure] = statistics.median(values) if values else None
    ratios = {}
    for figure in FIGURES:
        stock, ftk = medians["stock"][figure], medians["ftk"][figure]
        ratios[figure] = ftk / stock if stock and ftk is not None else None
    return {"medians": medians, "ratios": ratios}


def print_summary(summary: dict, rounds: int) -> None:
    print(f"\nmedians of {rounds} round(s) and ftk / stock")
    print(f"{'':<14} {'stock':>9} {'ftk':>9} {'ftk/stock':>10}")
    for figure in FIGURES:
        fmt = ".4f" if figure == "test_accuracy" else ".1f"
        stock, ftk = (summary["medians"][arm][figure] for arm in ARMS)
        ratio = summary["ratios"][figure]
        print(f"{figure:<14} {cell(stock, fmt):>9} {cell(ftk, fmt):>9} {cell(ratio, '.3f'):>10}")


def target_of(recipe: Path, given: float | None) -> float:
    if given is not None:
        return given
    import yaml

    builtin = (yaml.safe_load(recipe.read_text()).get("data") or {}).get("builtin")
    if builtin not in TARGETS:
        sys.exit(f"{recipe}: no known target for data.builtin {builtin!r}; pass --target.")
    return TARGETS[builtin]


def tiny_recipe(workdir: Path) -> Path:
    """A tiny BERT, short texts whose topic words give the label away, 1 epoch: seconds. The
    baselines and the training-sample check are off so the test stays fast."""
    sys.path.insert(0, str(ROOT / "tests"))
    from helpers import make_texts, save_tiny_bert, write_csv

    rows = make_texts(40, seed=0)
    words = sorted({word for text, _ in rows for word in text.split()})
    model = save_tiny_bert(workdir / "tiny-bert", words, max_length=32)
    data = write_csv(workdir / "train.csv", rows)
    recipe = workdir / "tiny.yaml"
    recipe.write_text(
        "task: text-classification\n"
        f"model: {{name_or_path: '{model}'}}\n"
        f"data: {{train_file: '{data}', test_size: 0.2, validation_size: 0.2, max_length: 32}}\n"
        "schedule: {warmup_fraction: 0.1, decay: cosine}\n"
        "baseline: {enabled: false}\n"
        "overfitting: {train_sample_size: 0}\n"
        "learning_rate: 5.0e-3\nnum_train_epochs: 1\nper_device_train_batch_size: 16\n"
        "weight_decay: 0.01\nseed: 42\n"
    )
    return recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_RECIPE)
    parser.add_argument("--rounds", type=int, default=2, help="each round runs both arms")
    parser.add_argument("--bf16", action="store_true", help="bf16 mixed precision in both arms")
    parser.add_argument("--use-cpu", action="store_true", help="the CPU even with a GPU present")
    parser.add_argument("--target", type=float, help="validation accuracy (default: the recipe's)")
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    parser.add_argument("--tiny", action="store_true", help="a tiny BERT, 1 epoch: seconds")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    with tempfile.TemporaryDirectory() as tmp:
        recipe = tiny_recipe(Path(tmp)) if args.tiny else args.config
        target = 0.0 if args.tiny and args.target is None else target_of(recipe, args.target)
        # bf16 without a GPU runs on the CPU only when the Trainer is told so
        use_cpu = args.use_cpu or args.tiny or (args.bf16 and not cuda_available())
        rounds = []
        for number in range(1, args.rounds + 1):
            runs = {
                arm: run_arm(arm, recipe, target, args.bf16, use_cpu) for arm in arm_order(number)
            }
            print_round(number, runs, target)
            rounds.append(runs)
    summary = summarize(rounds)
    print_summary(summary, len(rounds))
    if args.json:
        settings = {"config": "tiny" if args.tiny else str(args.config), "bf16": args.bf16}
        record = {**settings, "use_cpu": use_cpu, "target": target, "rounds": rounds, **summary}
        args.json.write_text(json.dumps(record, indent=1))


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    main()
