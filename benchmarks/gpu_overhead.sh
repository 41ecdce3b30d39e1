#!/usr/bin/env bash
# `ftk train` against a hand-written PyTorch loop on one GPU: a BERT-base-size model (random
# weights, built from its config) on random 128-token texts, batch 32, fp32 then bf16, three
# A B pairs each (benchmarks/overhead.py). A GPU step is 20-60 ms, so any per-step cost of the
# toolkit or the Trainer shows here far more than on a CPU. About 9 minutes on an H100.
#
#   bash benchmarks/gpu_overhead.sh [OUT_DIR]   # prints the tables; OUT_DIR/overhead-gpu.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-.}}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python -c "import sys, torch, transformers, datasets, accelerate; print('python', \
sys.version.split()[0], '| torch', torch.__version__, '| transformers', transformers.__version__, \
'| datasets', datasets.__version__, '| accelerate', accelerate.__version__)"
for precision in "" "--bf16"; do
    python benchmarks/overhead.py --synthetic bert-base --device cuda --batch-size 32 \
        --steps 150 --skip 30 --rounds 3 $precision --json "$out/overhead-gpu.jsonl"
done
