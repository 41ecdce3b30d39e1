"""Does `ftk train` cost anything over a hand-written PyTorch loop?

Runs, alternating A B A B in fresh processes:
  A  `python -m toolkit train` on the recipe, for --steps optimizer steps, no evaluation/saving;
  B  a bare loop: same model, same tokenized data and collator, same batch size, AdamW with the
     same settings and weight-decay groups, gradient clipping at 1.0, the same LambdaLR schedule.
Both read the time of every optimizer step; steady-state samples/s is the batch size over the
trimmed mean step duration after the first --skip steps.
Also reported: startup time (process start to the end of the first optimizer step).

With --interleave K both arms run in one process instead, K steps each in turn (ftk's training
through toolkit.commands.train.train, the bare loop from a TrainerCallback), so a machine whose
speed drifts over minutes slows both alike; startup is not measured then.

    python benchmarks/overhead.py                      # BBC + MiniLM recipe on the CPU, 2 rounds
    python benchmarks/overhead.py --interleave 5 --steps 40 --rounds 3   # the same, drift-proof
    python benchmarks/overhead.py --tiny               # seconds: a tiny BERT, for the test suite
    python benchmarks/overhead.py --synthetic bert-base --device cuda --batch-size 32 \
        --steps 150 --skip 30 [--bf16]                 # a GPU: random BERT-base, 128 tokens

Timings on shared machines are noisy: read the ratio of each A B pair, not absolute figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import LOOP_ONLY, ROOT, ftk, make_tiny_recipe, run, run_history, write_synthetic_recipe

DEFAULT_RECIPE = ROOT / "configs" / "text-bbc-minilm.yaml"


def common_overrides(steps: int, batch_size: int, device: str, bf16: bool) -> list[str]:
    return [
        "--max_steps",
        str(steps),
        *LOOP_ONLY,
        "--logging_steps",
        str(max(1, steps)),
        "--per_device_train_batch_size",
        str(batch_size),
        "--data.test_size",
        "null",
        "--use_cpu",
        str(device == "cpu"),
        "--bf16",
        str(bf16),
    ]


# ----------------------------------------------------------------------------- A: ftk train


def run_ftk(recipe: Path, overrides: list[str], workdir: Path) -> dict[str, float]:
    out = workdir / f"ftk-{time.time_ns()}"
    started = time.time()
    run(ftk("train", "--config", str(recipe), "--output_dir", str(out), *overrides))
    times = [r["time"] for r in run_history(out) if r["kind"] == "step"]
    return {"start": started, "step_times": times}


# ----------------------------------------------------------------------------- B: bare loop


def build_bare_step(recipe: Path, overrides: list[str]):
    """The hand-written loop, set up from the recipe; returns (step, steps): `step()` runs one
    optimizer step (it cycles through the epochs), `steps` is how many the schedule has."""
    import torch
    from torch.utils.data import DataLoader

    from toolkit.config.load import load_config
    from toolkit.run.stages import build_model, plan_run, prepare_labelled
    from toolkit.training.arguments import steps_per_epoch, total_steps
    from toolkit.training.schedules import lr_factor

    # The same stages `ftk train` runs up to the model; from there on the loop is hand-written.
    plan = plan_run(load_config(recipe, overrides))
    config, args = plan.config, plan.args
    prepared = prepare_labelled(plan)
    train = prepared.splits["train"]
    device = torch.device("cpu" if args.use_cpu else "cuda")
    model = build_model(plan, prepared.data).to(device)
    model.train()

    no_decay = ("bias", "LayerNorm.weight", "layernorm", "norm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
            "weight_decay": args.weight_decay,
        },
        {
            "params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(
        groups, lr=args.learning_rate, betas=(0.9, 0.999), eps=1e-8, fused=True
    )
    steps = total_steps(len(train), args)
    factor = lr_factor(config.schedule, steps, steps_per_epoch(len(train), args))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    loader = DataLoader(
        train,
        batch_size=args.per_device_train_batch_size,
        shuffle=True,
        collate_fn=prepared.collator,
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(args.seed),
    )
    # Autocast around the forward pass only, as the Trainer (through accelerate) does with bf16.
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16)
    batches = (batch for _ in itertools.count() for batch in loader)  # epoch after epoch

    def step() -> None:
        batch = {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}
        with autocast:
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

    return step, steps


def bare_loop(recipe: Path, overrides: list[str], result_file: Path) -> None:
    """The hand-written loop, in its own process (called via --bare)."""
    started = time.time()
    step, steps = build_bare_step(recipe, overrides)
    times = []
    for _ in range(steps):
        step()
        times.append(time.time())
    result_file.write_text(json.dumps({"start": started, "step_times": times}))


def run_bare(recipe: Path, overrides: list[str], workdir: Path) -> dict[str, float]:
    started = time.time()
    timing = run_this_script(["--bare"], recipe, overrides, workdir)
    timing["start"] = started  # process launch, as for A
    return timing


def run_this_script(mode: list[str], recipe: Path, overrides: list[str], workdir: Path) -> dict:
    """This script in a fresh process, in a hidden `mode`; returns the JSON it wrote."""
    result = workdir / f"result-{time.time_ns()}.json"
    run(
        [
            sys.executable,
            __file__,
            *mode,
            "--config",
            str(recipe),
            "--result",
            str(result),
            "--",
            *overrides,
        ]
    )
    return json.loads(result.read_text())


# ----------------------------------------------------------------------------- A and B in turn


def interleaved(recipe: Path, overrides: list[str], segment: int, result_file: Path) -> None:
    """ftk's training and the bare loop in one process, `segment` steps each in turn (called via
    --interleave). The VM's speed drifts by 10-30% over minutes, more than the effect measured;
    segments seconds apart run on the same machine state."""
    from transformers import TrainerCallback

    from toolkit.commands.train import train
    from toolkit.config.load import load_config

    class Interleave(TrainerCallback):
        """After every `segment` Trainer steps, `segment` bare steps. A Trainer step's duration
        runs from one optimizer step to the next, less any bare segment run in between."""

        def __init__(self, bare_step):
            self.bare_step = bare_step
            self.ftk, self.bare = [], []
            self.last_step, self.inserted = None, 0.0

        def on_optimizer_step(self, args, state, control, **kwargs):
            now = time.perf_counter()
            if self.last_step is not None:
                self.ftk.append(now - self.last_step - self.inserted)
            self.last_step, self.inserted = now, 0.0

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step % segment:
                return
            started = previous = time.perf_counter()
            for _ in range(segment):
                self.bare_step()
                now = time.perf_counter()
                self.bare.append(now - previous)
                previous = now
            self.inserted += previous - started

    bare_step, _ = build_bare_step(recipe, overrides)
    timer = Interleave(bare_step)
    output_dir = result_file.parent / f"ftk-{time.time_ns()}"  # in the parent's temporary folder
    train(
        load_config(recipe, [*overrides, "--output_dir", str(output_dir)]),
        overwrite=True,
        callbacks=[timer],
    )
    result_file.write_text(json.dumps({"ftk": timer.ftk, "bare": timer.bare}))


# ----------------------------------------------------------------------------- report


def summarise(timing: dict, batch_size: int, skip: int) -> dict[str, float]:
    """Steady-state samples/s from the trimmed mean step duration after `skip` steps.

    Trimmed (the slowest and fastest tenth left out), not (last - first) / steps: on a shared VM
    single steps stall by up to 2x when the host is busy, and one stall would otherwise move a
    20-step rate by several percent. Not the median either: step times are logged to the
    millisecond, and on a GPU a 40 ms step's median would be off by up to 2.5%.
    """
    times = timing["step_times"]
    durations = [b - a for a, b in zip(times[skip:], times[skip + 1 :], strict=False)]
    return {
        "samples_per_s": steady_rate(durations, batch_size),
        "startup_s": times[0] - timing["start"],
    }


def steady_rate(durations: list[float], batch_size: int) -> float:
    """Samples/s from step durations: their mean without the slowest and fastest tenth."""
    durations = sorted(durations)
    cut = math.ceil(len(durations) / 10) if len(durations) >= 3 else 0
    kept = durations[cut : len(durations) - cut]
    return batch_size / statistics.fmean(kept) if kept else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_RECIPE)
    parser.add_argument(
        "--synthetic",
        choices=sorted(SYNTHETIC),
        help="instead of --config: a "
        "model of this size with random weights, and texts made on the spot",
    )
    parser.add_argument(
        "--tiny",
        action="store_const",
        const="tiny",
        dest="synthetic",
        help="same as --synthetic tiny: seconds, for the test suite",
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast in both arms")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--skip", type=int, default=5, help="warm-up steps left out of the rate")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="A B pairs")
    parser.add_argument(
        "--interleave",
        type=int,
        metavar="K",
        help="both arms in one process, K "
        "steps each in turn (robust to a machine whose speed drifts); no startup",
    )
    parser.add_argument("--json", type=Path, help="append one JSON line per round to this file")
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("overrides", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_loop(args.config, args.overrides, args.result)
        return
    if args.child:
        interleaved(args.config, args.overrides, args.interleave, args.result)
        return

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        recipe = (
            SYNTHETIC[args.synthetic](workdir, args.steps * args.batch_size)
            if args.synthetic
            else args.config
        )
        overrides = common_overrides(args.steps, args.batch_size, args.device, args.bf16)
        setting = {
            "recipe": args.synthetic or recipe.name,
            "device": args.device,
            "bf16": args.bf16,
            "steps": args.steps,
            "skip": args.skip,
            "batch_size": args.batch_size,
            "interleave": args.interleave,
        }
        print(f"{setting}; torch threads {os.environ.get('OMP_NUM_THREADS', 'default')}")
        print(
            f"{'round':>5} {'ftk samples/s':>14} {'bare samples/s':>15} {'ratio':>6} "
            f"{'ftk startup s':>14} {'bare startup s':>15}"
        )
        ratios = []
        for round_ in range(1, args.rounds + 1):
            a, b = measure_round(args, recipe, overrides, workdir)
            ratios.append(a["samples_per_s"] / b["samples_per_s"])
            print(
                f"{round_:>5} {a['samples_per_s']:>14.2f} {b['samples_per_s']:>15.2f} "
                f"{ratios[-1]:>6.3f} {seconds(a['startup_s']):>14} {seconds(b['startup_s']):>15}"
            )
            if args.json:
                with args.json.open("a") as handle:
                    handle.write(
                        json.dumps(
                            {**setting, "round": round_, "ftk": a, "bare": b, "ratio": ratios[-1]}
                        )
                        + "\n"
                    )
        print(
            f"ftk / bare throughput: median {statistics.median(ratios):.3f}, mean "
            f"{sum(ratios) / len(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}); "
            f"target >= 0.95"
        )


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def measure_round(
    args: argparse.Namespace, recipe: Path, overrides: list[str], workdir: Path
) -> tuple[dict[str, float], dict[str, float]]:
    """One A B pair: (ftk, bare), each {"samples_per_s", "startup_s"}."""
    if not args.interleave:
        return (
            summarise(run_ftk(recipe, overrides, workdir), args.batch_size, args.skip),
            summarise(run_bare(recipe, overrides, workdir), args.batch_size, args.skip),
        )
    durations = run_this_script(
        ["--interleave", str(args.interleave), "--child"], recipe, overrides, workdir
    )
    return tuple(
        {
            "samples_per_s": steady_rate(durations[arm][args.skip :], args.batch_size),
            "startup_s": None,
        }
        for arm in ("ftk", "bare")
    )  # one process: no startup


def make_bert_base_recipe(workdir: Path, examples: int) -> Path:
    """BERT-base (BertConfig's defaults) with random weights, and random 150-word texts: every
    batch fills the 128 tokens, so each step is the same work."""
    rng = random.Random(0)
    words = [f"w{i}" for i in range(500)]
    rows = [
        (" ".join(rng.choices(words, k=150)), rng.choice("abcd"))
        for _ in range(examples + examples // 4)
    ]  # room for the validation split
    return write_synthetic_recipe(workdir, "bert-base", {}, rows, 128)


SYNTHETIC = {"tiny": make_tiny_recipe, "bert-base": make_bert_base_recipe}


if __name__ == "__main__":
    main()
