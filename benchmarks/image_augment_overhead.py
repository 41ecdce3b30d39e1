"""Does on-the-fly augmentation slow training down? Steps/s with augmentation on vs off.

Runs the default image recipe (configs/vit-fashion-mnist.yaml) for a fixed number of optimizer
steps with its augmentation, then with `augment.image: none`, alternating A B A B so that drifts
in machine load hit both alike, with the same DataLoader workers and thread settings. Prints
each trial and the ratio of medians (on / off); the target is >= 0.9.

    flock /tmp/ftk-heavy.lock python benchmarks/image_augment_overhead.py          # ~5 minutes
    python benchmarks/image_augment_overhead.py --tiny                            # seconds

--tiny swaps in a 2-layer ViT on 16 px images and a few steps: it checks the script runs (the
test suite calls it this way); its timings mean nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import LOOP_ONLY, ROOT

RECIPE = ROOT / "configs" / "vit-fashion-mnist.yaml"
TINY = [
    "--model.from_config.image_size",
    "16",
    "--model.from_config.hidden_size",
    "32",
    "--model.from_config.num_hidden_layers",
    "2",
    "--model.from_config.intermediate_size",
    "64",
    "--per_device_train_batch_size",
    "16",
    "--data.max_train_samples",
    "256",
]


def measure(overrides: list[str], steps: int, warmup: int) -> float:
    """Optimizer steps per second after `warmup` steps (worker start-up and first batches)."""
    from transformers import TrainerCallback

    from toolkit.config.load import load_config
    from toolkit.run.assembly import assemble_trainer
    from toolkit.run.stages import build_model, plan_run, prepare_labelled

    class Clock(TrainerCallback):
        def __init__(self):
            self.times: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as out:
        config = load_config(
            RECIPE,
            [
                *overrides,
                "--output_dir",
                out,
                "--max_steps",
                str(steps + warmup),
                *LOOP_ONLY,
                "--disable_tqdm",
                "true",
                "--logging_steps",
                "100000",
            ],
        )
        plan = plan_run(config)  # the stages `ftk train` runs, up to the trainer
        prepared = prepare_labelled(plan)
        model = build_model(plan, prepared.data)
        clock = Clock()
        # the temporary directory is the run directory: nothing to open
        trainer, _ = assemble_trainer(plan, model, prepared, None, lambda: None, callbacks=[clock])
        trainer.train()
    timed = clock.times[warmup - 1 :]
    return (len(timed) - 1) / (timed[-1] - timed[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run")
    parser.add_argument("--rounds", type=int, default=None, help="A B pairs (default 3; tiny 1)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per trial")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument(
        "overrides",
        nargs="*",
        help="config overrides for both arms, after --: -- --dataloader_num_workers 1",
    )
    opts = parser.parse_args()
    rounds = opts.rounds or (1 if opts.tiny else 3)
    steps = opts.steps or (6 if opts.tiny else 60)
    warmup = 2 if opts.tiny else 10
    base = (TINY if opts.tiny else []) + opts.overrides
    settings = {"on": base, "off": [*base, "--augment.image", "none"]}
    rates: dict[str, list[float]] = {"on": [], "off": []}
    for round_ in range(rounds):
        for name, overrides in settings.items():
            rate = measure(overrides, steps, warmup)
            rates[name].append(rate)
            print(f"round {round_ + 1} augmentation {name:>3}: {rate:.3f} steps/s", flush=True)
    ratio = statistics.median(rates["on"]) / statistics.median(rates["off"])
    print(f"ratio on/off (medians): {ratio:.3f}  (target >= 0.9)")
    if opts.json:
        opts.json.write_text(
            json.dumps(
                {
                    "rates": rates,
                    "ratio": ratio,
                    "tiny": opts.tiny,
                    "steps": steps,
                    "rounds": rounds,
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
