"""Compute efficiency: achieved FLOP/s of a recipe's training step against the matmul peak.

1. FLOPs of one training step (forward + backward) counted by torch.utils.flop_counter on a real
   step of the recipe's model, with a batch of the recipe's size and shape (random token ids at
   data.max_length, or random images); the dense estimate 6 x parameters x tokens is printed
   beside it as a check.
2. Samples/s of the full step (forward, backward, gradient clipping, AdamW), median of --steps
   steps after --warmup, on this machine's default threads.
3. The machine's matmul peak: the best of several fp32 torch.matmul of two n x n matrices.
MFU = (FLOPs per sample x samples/s) / peak. The step's own samples/s equals `ftk train`'s to
within a few percent (benchmarks/overhead.py), so this is the toolkit's MFU.

    flock /tmp/ftk-heavy.lock python benchmarks/flops.py                     # BBC + MiniLM
    flock /tmp/ftk-heavy.lock python benchmarks/flops.py --config configs/vit-fashion-mnist.yaml
    python benchmarks/flops.py --tiny                                        # seconds
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from common import ROOT, make_tiny_recipe
from torch.utils.flop_counter import FlopCounterMode

RECIPE = ROOT / "configs" / "text-bbc-minilm.yaml"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, dtype: torch.dtype, n: int, repeats: int = 5) -> float:
    """FLOP/s of the fastest of `repeats` n x n matmuls (2 n^3 FLOPs each), after a warm-up."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    torch.matmul(a, b)
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.matmul(a, b)
        synchronize(device)
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best


def step_flops(model: torch.nn.Module, batch: dict[str, torch.Tensor], autocast: Any = None) -> int:
    """FLOPs of one forward + backward pass, counted op by op (matmuls, convolutions, SDPA)."""
    counter = FlopCounterMode(display=False)
    with counter:
        with autocast or torch.autocast("cpu", enabled=False):
            loss = model(**batch).loss
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def time_steps(step: Callable[[], None], steps: int, warmup: int, device: torch.device) -> float:
    """Median seconds of one call to `step`, after `warmup` calls."""
    for _ in range(warmup):
        step()
    synchronize(device)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        step()
        synchronize(device)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def training_step(
    model: torch.nn.Module,
    batch: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    autocast: Any = None,
) -> Callable[[], None]:
    """What the Trainer does per update: forward, backward, clip at 1.0, AdamW, zero grads."""

    def step() -> None:
        with autocast or torch.autocast("cpu", enabled=False):
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def dense_estimate(model: torch.nn.Module, tokens_per_sample: int) -> float:
    """6 x parameters x tokens: forward 2, backward 4 FLOPs per weight per token (no attention
    scores, and the embedding tables, which are looked up, not multiplied, are counted too)."""
    return 6 * sum(p.numel() for p in model.parameters()) * tokens_per_sample


def synthetic_batch(
    model: torch.nn.Module, batch_size: int, seq_len: int, device: torch.device
) -> tuple[dict[str, torch.Tensor], int]:
    """Random inputs of the model's kind, and the tokens (or patches) per sample."""
    config = model.config
    labels = torch.randint(0, config.num_labels, (batch_size,), device=device)
    if hasattr(config, "image_size"):
        size, channels = config.image_size, config.num_channels
        pixels = torch.randn(batch_size, channels, size, size, device=device)
        return {"pixel_values": pixels, "labels": labels}, (size // config.patch_size) ** 2 + 1
    ids = torch.randint(0, config.vocab_size, (batch_size, seq_len), device=device)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}, seq_len


def recipe_model(config_path: Path) -> tuple[torch.nn.Module, Any]:
    from toolkit.config.load import load_config
    from toolkit.tasks import get_task

    config = load_config(config_path, [])
    model = get_task(config.task).load_model(config, [f"class{i}" for i in range(5)])
    return model, config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=RECIPE)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--tiny", action="store_true", help="tiny BERT, few steps: seconds")
    args = parser.parse_args()
    if args.tiny:
        import tempfile

        args.config = make_tiny_recipe(Path(tempfile.mkdtemp()))
        args.steps, args.warmup, args.matmul_size = 3, 1, 256
    model, config = recipe_model(args.config)
    device = torch.device("cpu")
    batch_size = config.training["per_device_train_batch_size"]
    batch, tokens = synthetic_batch(model, batch_size, config.data.max_length, device)
    model.train()
    flops = step_flops(model, batch) / batch_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    seconds = time_steps(training_step(model, batch, optimizer), args.steps, args.warmup, device)
    rate = batch_size / seconds
    peak = matmul_peak(device, torch.float32, args.matmul_size)
    params = sum(p.numel() for p in model.parameters())
    print(
        f"recipe {args.config.name}: {params / 1e6:.1f}M parameters, batch {batch_size} x "
        f"{tokens} tokens; torch threads {torch.get_num_threads()}"
    )
    print(
        f"FLOPs per sample (counted): {flops / 1e9:.2f} GFLOP; 6 x params x tokens: "
        f"{dense_estimate(model, tokens) / 1e9:.2f} GFLOP"
    )
    print(f"training step: {seconds:.3f} s median of {args.steps} -> {rate:.2f} samples/s")
    print(
        f"achieved: {flops * rate / 1e9:.1f} GFLOP/s; fp32 matmul peak ({args.matmul_size}^2): "
        f"{peak / 1e9:.1f} GFLOP/s; MFU {flops * rate / peak:.1%}"
    )


if __name__ == "__main__":
    main()
