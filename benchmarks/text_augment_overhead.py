"""How much does on-the-fly text augmentation cost?

1. texts/s of every augmentation operation (and of `trivial`) on BBC News articles, capped at
   2 x max_length words as training caps them;
2. training throughput (optimizer steps/s) of the BBC recipe with `augment.text: trivial` on
   and off, alternating off, on, off, on ... so machine load drifts hit both alike.
   Target: on/off >= 0.9.

    flock /tmp/ftk-heavy.lock python benchmarks/text_augment_overhead.py          # real, ~5 min
    python benchmarks/text_augment_overhead.py --tiny                               # seconds

The training runs use the recipe configs/text-bbc-minilm.yaml with these overrides, to keep
them short and to time only the training loop: --max_steps N (default 30),
--eval_strategy '"no"' --save_strategy '"no"' --load_best_model_at_end false
--early_stopping.patience null --logging_steps 1000. Steps/s is the Trainer's own
train_steps_per_second (training loop only, data loading and augmentation included).
`--tiny` swaps in a 2-layer hidden-32 BERT and synthetic texts: it checks the script runs, its
figures mean nothing. Results go to benchmarks/results/text_augment_overhead[-tiny].json.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from common import LOOP_ONLY, ROOT, make_tiny_recipe

RECIPE = ROOT / "configs" / "text-bbc-minilm.yaml"
SHORT_RUN = [
    *LOOP_ONLY,
    "--logging_steps",
    "1000",
    "--report_to",
    "none",
]


def tiny_setup(folder: Path) -> tuple[Path, list[str]]:
    """The benchmarks' tiny BERT and CSV recipe (on the CPU, batches of 8), and its texts."""
    recipe = make_tiny_recipe(folder)
    with recipe.open("a") as handle:
        handle.write("use_cpu: true\nper_device_train_batch_size: 8\n")
    with (folder / "train.csv").open(newline="") as handle:
        return recipe, [row["text"] for row in csv.DictReader(handle)]


def bbc_texts() -> list[str]:
    from toolkit.data.builtin import load_builtin_dataset

    return list(load_builtin_dataset("bbc-news")["train"][:]["text"])


def operation_speeds(texts: list[str], max_words: int, count: int) -> dict[str, float]:
    """texts/s of each operation alone (strength drawn as `trivial` would) and of trivial."""
    from toolkit.augment.text import TextAugmenter
    from toolkit.config.text_policy import OPERATIONS, Step, TextPolicy, trivial_steps

    policies = {name: TextPolicy((Step(name, None, 1.0),), "sequence") for name in OPERATIONS}
    policies["trivial"] = TextPolicy(trivial_steps(), "one_of")
    sample = texts[:count]
    speeds = {}
    for name, policy in policies.items():
        augmenter = TextAugmenter(policy, seed=0, max_words=max_words).load()
        augmenter.augment_batch(sample[:10], list(range(10)), epoch=99)  # warm-up (imports)
        started = time.perf_counter()
        augmenter.augment_batch(sample, list(range(len(sample))), epoch=0)
        speeds[name] = len(sample) / (time.perf_counter() - started)
        print(f"  {name:<18} {speeds[name]:8.0f} texts/s", flush=True)
    return speeds


def training_speed(recipe: Path, augment: bool, steps: int, output: Path) -> float:
    """Optimizer steps/s of the recipe's training loop, text augmentation on or off."""
    from toolkit.config.load import load_config
    from toolkit.run.assembly import assemble_trainer
    from toolkit.run.stages import build_model, plan_run, prepare_labelled

    overrides = [
        *SHORT_RUN,
        "--max_steps",
        str(steps),
        "--output_dir",
        str(output),
        "--augment.text",
        "trivial" if augment else "null",
    ]
    plan = plan_run(load_config(recipe, overrides))  # the stages `ftk train` runs
    prepared = prepare_labelled(plan)
    model = build_model(plan, prepared.data)
    open_dir = partial(output.mkdir, parents=True, exist_ok=True)
    trainer, _ = assemble_trainer(plan, model, prepared, None, open_dir)
    return float(trainer.train().metrics["train_steps_per_second"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny model and data: seconds")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per training run")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs (A B A B ...)")
    parser.add_argument("--texts", type=int, default=200, help="texts timed per operation")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="ftk-bench-"))
    if args.tiny:
        recipe, texts = tiny_setup(scratch)
        steps, rounds, count, max_words = 3, 1, 20, 64
    else:
        recipe, texts = RECIPE, bbc_texts()
        steps, rounds, count, max_words = args.steps, args.rounds, args.texts, 256

    print(f"texts/s per operation ({count} texts, capped at {max_words} words):")
    speeds = operation_speeds(texts, max_words, count)

    print(f"training steps/s, {steps} steps per run, augmentation off/on alternating:")
    runs = []
    for round_ in range(rounds):
        for augment in (False, True):
            rate = training_speed(recipe, augment, steps, scratch / f"run-{round_}-{augment}")
            runs.append({"augment": augment, "steps_per_s": rate})
            print(
                f"  round {round_ + 1} {'on ' if augment else 'off'} {rate:.3f} steps/s", flush=True
            )
    off = statistics.mean(r["steps_per_s"] for r in runs if not r["augment"])
    on = statistics.mean(r["steps_per_s"] for r in runs if r["augment"])
    print(
        f"mean: off {off:.3f} steps/s, on {on:.3f} steps/s, ratio on/off {on / off:.3f} "
        f"(target >= 0.9)"
    )

    result = {
        "tiny": args.tiny,
        "recipe": str(recipe.relative_to(ROOT) if not args.tiny else "tiny"),
        "overrides": [*SHORT_RUN, "--max_steps", str(steps)],
        "rounds": rounds,
        "texts_per_s": {k: round(v, 1) for k, v in speeds.items()},
        "training_runs": runs,
        "steps_per_s_off": off,
        "steps_per_s_on": on,
        "ratio_on_off": on / off,
        "machine": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    output = (
        args.output
        or ROOT
        / "benchmarks"
        / "results"
        / f"text_augment_overhead{'-tiny' if args.tiny else ''}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
