"""Training throughput and MFU of BERT-base and ViT-B/16 on one device, by precision mode.

Models are built from their configs with random weights (no download) and SDPA attention;
inputs are synthetic. For each mode the full training step (forward, backward, clipping, AdamW)
is timed; FLOPs per step are counted once with torch.utils.flop_counter (the same in every
mode), and MFU divides the achieved FLOP/s by a matmul peak measured on the same device in the
mode's dtype (fp32 modes: an fp32 matmul; bf16 modes: a bf16 matmul).

Modes: fp32 | bf16 (torch.autocast to bfloat16, fp32 weights, as `bf16: true` in a config) |
bf16-compile (bf16 plus torch.compile of the model).

    python benchmarks/gpu_throughput.py --model bert-base --device cuda     # benchmarks/gpu.sh
    python benchmarks/gpu_throughput.py --device cpu --tiny                 # seconds (tests)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import append_json_line
from flops import matmul_peak, step_flops, synthetic_batch, time_steps, training_step

MODES = ("fp32", "bf16", "bf16-compile")
SIZES = {  # batch size, sequence length (text)
    "bert-base": (32, 128),
    "vit-b16": (64, 0),
}


def build_model(name: str, tiny: bool) -> torch.nn.Module:
    """BERT-base (110M) or ViT-B/16 at 224 px (86M) from their default configs; tiny: 2 layers."""
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        ViTConfig,
        ViTForImageClassification,
    )

    small = (
        {
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
        }
        if tiny
        else {}
    )
    if name == "bert-base":
        config = BertConfig(num_labels=2, attn_implementation="sdpa", **small)
        return BertForSequenceClassification(config)
    if tiny:
        small.update(image_size=32, patch_size=16)
    config = ViTConfig(num_labels=10, attn_implementation="sdpa", **small)
    return ViTForImageClassification(config)


def measure(
    name: str,
    mode: str,
    device: torch.device,
    tiny: bool,
    steps: int,
    warmup: int,
    batch_scale: int = 1,
) -> dict:
    torch.manual_seed(0)
    model = build_model(name, tiny).to(device).train()
    batch_size, seq_len = SIZES[name]
    batch_size *= batch_scale
    if tiny:
        batch_size, seq_len = 4, 16
    batch, tokens = synthetic_batch(model, batch_size, seq_len, device)
    flops = step_flops(model, batch)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode != "fp32")
    runner = torch.compile(model) if mode.endswith("compile") else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device.type == "cuda")
    seconds = time_steps(training_step(runner, batch, optimizer, autocast), steps, warmup, device)
    return {
        "model": name,
        "mode": mode,
        "batch": batch_size,
        "tokens": tokens,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "step_s": seconds,
        "samples_per_s": batch_size / seconds,
        "tflops": flops / seconds / 1e12,
        "flops_per_step": flops,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", choices=list(SIZES), action="append", help="repeatable; default both"
    )
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5, help="also absorbs compilation")
    parser.add_argument("--matmul-size", type=int, default=8192)
    parser.add_argument(
        "--batch-scale",
        type=int,
        default=1,
        help="multiply the default batch sizes (32 BERT, 64 ViT): shows how much "
        "of a small-batch step is host overhead rather than GPU work",
    )
    parser.add_argument("--tiny", action="store_true", help="2-layer models, 2 steps: seconds")
    parser.add_argument("--json", type=Path, help="append one JSON line per result here")
    args = parser.parse_args()
    device = torch.device(args.device)
    modes = args.modes.split(",")
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(sorted(unknown))}; choose from {MODES}")
    if args.tiny:
        args.steps, args.warmup, args.matmul_size = 2, 1, 256
    peaks = {
        dtype: matmul_peak(device, dtype, args.matmul_size)
        for dtype in {torch.bfloat16 if m != "fp32" else torch.float32 for m in modes}
    }
    print(
        f"device {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}; "
        + "; ".join(
            f"{str(d).removeprefix('torch.')} matmul peak {p / 1e12:.1f} TFLOP/s"
            for d, p in peaks.items()
        )
    )
    print(
        f"{'model':<10} {'mode':<13} {'batch':>5} {'samples/s':>10} {'step ms':>8} "
        f"{'TFLOP/s':>8} {'MFU':>6}"
    )
    for name in args.model or list(SIZES):
        for mode in modes:
            result = measure(
                name, mode, device, args.tiny, args.steps, args.warmup, args.batch_scale
            )
            peak = peaks[torch.float32 if mode == "fp32" else torch.bfloat16]
            result["mfu"] = result["tflops"] * 1e12 / peak
            print(
                f"{name:<10} {mode:<13} {result['batch']:>5} {result['samples_per_s']:>10.1f} "
                f"{result['step_s'] * 1e3:>8.1f} {result['tflops']:>8.2f} "
                f"{result['mfu']:>6.1%}",
                flush=True,
            )
            if args.json:
                append_json_line(args.json, result)


if __name__ == "__main__":
    main()
