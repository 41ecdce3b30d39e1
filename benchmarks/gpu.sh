#!/usr/bin/env bash
# Throughput and MFU of BERT-base (seq 128, batch 32) and ViT-B/16 (224 px, batch 64) training
# steps on one GPU, in fp32, bf16 and bf16 + torch.compile, with SDPA attention; random weights
# built from configs and synthetic data, so nothing is downloaded. Then padding-free packing
# against padding (benchmarks/packing.py: BERT-base masked LM, batch 32, bf16; its loss check,
# then tokens/s with sdpa, and flash_attention_2 where flash-attn is installed). About 6 minutes
# on an H100. Not yet run on a GPU (none was lent); benchmarks/gpu_all.py runs it with the rest.
#
#   bash benchmarks/gpu.sh [OUT_DIR]     # prints a table; OUT_DIR/gpu.jsonl keeps every result
#
# CPU smoke test of the same code (the test suite runs it):
#   python benchmarks/gpu_throughput.py --device cpu --tiny --modes fp32,bf16
#   python benchmarks/packing.py --device cpu --tiny --check
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-.}}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python -c "import sys, torch, transformers; print('python', sys.version.split()[0], '| torch', \
torch.__version__, '| cuda', torch.version.cuda, '| transformers', transformers.__version__)"
python benchmarks/gpu_throughput.py --device cuda --model bert-base --model vit-b16 \
    --modes fp32,bf16,bf16-compile --json "$out/gpu.jsonl"
# The same bf16 steps at 8x the batch: how much of the small-batch step is host overhead.
python benchmarks/gpu_throughput.py --device cuda --model bert-base --model vit-b16 \
    --modes bf16,bf16-compile --batch-scale 8 --json "$out/gpu.jsonl"
# Padding-free packing: flash_attention_2 skips the work across texts; sdpa masks it.
attn=(--attn sdpa)
if python -c "import flash_attn" 2>/dev/null; then attn+=(--attn flash_attention_2); fi
python benchmarks/packing.py --device cuda --check "${attn[@]}" --json "$out/packing.jsonl"
