"""Dynamic padding + length grouping against fixed padding to max_length: epoch time, accuracy.

Fixed padding (every example padded to `data.max_length`, random batches) is what the stock
Hugging Face example scripts do by default; the toolkit pads each batch to its longest text,
and `train_sampling_strategy: group_by_length` puts texts of similar length in one batch.
The data must have varied lengths for this to matter: the BBC articles are cut to their first
1-8 sentences (seeded), which gives texts of roughly 20 to 250 tokens.

Runs `ftk train` on the BBC + MiniLM recipe, alternating A B in fresh processes:
  A  dynamic:  --train_sampling_strategy group_by_length
  B  fixed:    --data.pad_to_max_length true
same data, seed, optimizer and schedule; no checkpoints, baselines or training-sample scoring.
Training time comes from history.jsonl (training start to the last optimizer step), accuracy
from metrics.json (validation split, the model at the end of training).

    flock /tmp/ftk-heavy.lock python benchmarks/padding.py --train-samples 400    # minutes
    python benchmarks/padding.py --tiny                                          # seconds

Timings on shared machines are noisy: read the ratio of each A B pair, not absolute figures.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import tempfile
from pathlib import Path

from common import LOOP_ONLY, ROOT, ftk, make_tiny_recipe, run, run_history, run_metrics

RECIPE = ROOT / "configs" / "text-bbc-minilm.yaml"
ARMS = {
    "dynamic + grouped": ["--train_sampling_strategy", "group_by_length"],
    "fixed max_length": ["--data.pad_to_max_length", "true"],
}
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def first_sentences(text: str, rng: random.Random, most: int = 8) -> str:
    """The headline and first k sentences of an article, k drawn from 1..most."""
    sentences = [s.strip() for s in SENTENCE_END.split(text) if s.strip()]
    return " ".join(sentences[: rng.randint(1, most)])


def write_short_bbc(workdir: Path, seed: int) -> dict[str, Path]:
    """BBC train/validation CSVs whose texts are cut to varied lengths."""
    from toolkit.config.schema import DataConfig
    from toolkit.data.load import load_data

    data = load_data(DataConfig(builtin="bbc-news"), ["text"], seed=seed)
    rng = random.Random(seed)
    files = {}
    for split in ("train", "validation"):
        rows = [
            (first_sentences(row["text"], rng), data.label_names[row["label"]])
            for row in data.splits[split]
        ]
        files[split] = write_rows(workdir / f"{split}.csv", rows)
    return files


def write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def token_lengths(recipe: Path, overrides: list[str]) -> list[int]:
    """Tokens per training text after truncation: how much padding there is to save."""
    from toolkit.config.load import load_config
    from toolkit.run.stages import plan_run, prepare_labelled

    prepared = prepare_labelled(plan_run(load_config(recipe, overrides)))
    return [len(ids) for ids in prepared.splits["train"]["input_ids"]]


def run_arm(recipe: Path, overrides: list[str], out: Path) -> dict[str, float]:
    run(ftk("train", "--config", str(recipe), "--output_dir", str(out), *overrides))
    rows = run_history(out)
    start = next(r["time"] for r in rows if r["kind"] == "groups")
    last_step = [r["time"] for r in rows if r["kind"] == "step"][-1]
    return {"train_s": last_step - start, "accuracy": run_metrics(out)["eval_accuracy"]}


def common_overrides(args: argparse.Namespace, files: dict[str, Path]) -> list[str]:
    overrides = [
        "--data.builtin",
        "null",
        "--data.train_file",
        str(files["train"]),
        "--data.test_size",
        "null",
        "--data.max_length",
        str(args.max_length),
        "--num_train_epochs",
        str(args.epochs),
        *LOOP_ONLY,
        "--baseline.enabled",
        "false",
        "--overfitting.train_sample_size",
        "0",
        "--logging_steps",
        "50",
        "--use_cpu",
        "true",
    ]
    if "validation" in files:
        overrides += ["--data.validation_file", str(files["validation"])]
    if args.train_samples:
        overrides += ["--data.max_train_samples", str(args.train_samples)]
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=RECIPE)
    parser.add_argument("--train-samples", type=int, default=400, help="0: the whole train split")
    parser.add_argument("--epochs", type=float, default=1)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=1, help="A B pairs")
    parser.add_argument("--seed", type=int, default=0, help="which sentences each text keeps")
    parser.add_argument("--tiny", action="store_true", help="tiny model and data: seconds")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.tiny:
            recipe, files = tiny_recipe(workdir)
            args.max_length = min(args.max_length, 32)
        else:
            recipe, files = args.config, write_short_bbc(workdir, args.seed)
        overrides = common_overrides(args, files)
        lengths = token_lengths(recipe, overrides)
        print(
            f"recipe {recipe.name}; {len(lengths)} training texts of {min(lengths)}-"
            f"{max(lengths)} tokens (mean {statistics.mean(lengths):.0f}, median "
            f"{statistics.median(lengths):.0f}); max_length {args.max_length}; fixed padding "
            f"spends {sum(lengths) / (len(lengths) * args.max_length):.0%} of its tokens on "
            f"text; {args.epochs:g} epoch(s)"
        )
        print(f"{'round':>5} {'arm':<18} {'train s':>8} {'val accuracy':>13}")
        ratios = []
        for round_ in range(1, args.rounds + 1):
            results = {}
            for arm, extra in ARMS.items():
                out = workdir / f"{arm.split()[0]}-{round_}"
                results[arm] = run_arm(recipe, overrides + extra, out)
                print(
                    f"{round_:>5} {arm:<18} {results[arm]['train_s']:>8.1f} "
                    f"{results[arm]['accuracy']:>13.4f}"
                )
            ratios.append(
                results["fixed max_length"]["train_s"] / results["dynamic + grouped"]["train_s"]
            )
        print(
            f"epoch time fixed / dynamic + grouped: mean {statistics.mean(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
        )


def tiny_recipe(workdir: Path) -> tuple[Path, dict[str, Path]]:
    """A tiny BERT and texts of 5-16 words built on the spot (test suite)."""
    return make_tiny_recipe(workdir), {"train": workdir / "train.csv"}


if __name__ == "__main__":
    main()
