#!/usr/bin/env bash
# Throughput and MFU of BERT-base (seq 128, batch 32) and ViT-B/16 (224 px, batch 64) training
# steps on one GPU, in fp32, bf16 and bf16 + torch.compile, with SDPA attention; random weights
# built from configs and synthetic data, so nothing is downloaded. About 5 minutes on an H100.
#
#   bash benchmarks/gpu.sh [OUT_DIR]     # prints a table; OUT_DIR/gpu.jsonl keeps every result
#
# CPU smoke test of the same code (the test suite runs it):
#   python benchmarks/gpu_throughput.py --device cpu --tiny --modes fp32,bf16
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
