#!/usr/bin/env bash
# The shipped accelerate configs run for real on one GPU (issue 35, item 5): a tiny BERT recipe
# (benchmarks/common.make_tiny_recipe: random weights from a config, synthetic texts, nothing
# downloaded) trained 40 steps under each launch form, one after the other; then one table
# (form, exit status, seconds, final validation loss, model saved). About 3 minutes on an H100.
#
#   bash benchmarks/gpu_launch.sh [OUT_DIR]       # on a machine with an NVIDIA GPU
#   bash benchmarks/gpu_launch.sh --dry-run       # anywhere: the commands it would run
#
# Forms: one process plain (bf16), FSDP (configs/accelerate/fsdp.yaml, 1 process: its code
# path, sharding over one rank), DeepSpeed ZeRO-2 (configs/accelerate/deepspeed-zero2.yaml;
# skipped, and said, where the deepspeed package is not installed).
set -euo pipefail
cd "$(dirname "$0")/.."
dry=""
if [[ "${1:-}" == "--dry-run" ]]; then dry=1; shift; fi
out="${1:-${OUT:-/tmp/gpu-launch}}"
mkdir -p "$out"
recipe=$(python -c "import sys; sys.path.insert(0, 'benchmarks'); from pathlib import Path; \
import common; print(common.make_tiny_recipe(Path('$out')))")
common=(-m toolkit train --config "$recipe" --max_steps 40 --overwrite)
declare -A forms=(
    [plain-bf16]="python ${common[*]} --bf16 true --output_dir $out/plain"
    [fsdp-1]="accelerate launch --config_file $(python -m toolkit recipes path accelerate/fsdp) \
--num_processes 1 ${common[*]} --output_dir $out/fsdp"
    [zero2-1]="accelerate launch --config_file \
$(python -m toolkit recipes path accelerate/deepspeed-zero2) --num_processes 1 ${common[*]} \
--output_dir $out/zero2"
)
if [[ -n "$dry" ]]; then
    for form in plain-bf16 fsdp-1 zero2-1; do echo "$form: ${forms[$form]}"; done
    exit 0
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
printf "| form | exit | seconds | final eval_loss | model.safetensors |\n|---|---|---|---|---|\n" \
    > "$out/table.md"
for form in plain-bf16 fsdp-1 zero2-1; do
    if [[ "$form" == zero2-1 ]] && ! python -c "import deepspeed" 2>/dev/null; then
        echo "| $form | skipped: the deepspeed package is not installed | | | |" >> "$out/table.md"
        continue
    fi
    start=$(date +%s)
    status=0
    ${forms[$form]} > "$out/$form.log" 2>&1 || status=$?
    seconds=$(( $(date +%s) - start ))
    run="$out/${form%%-*}"
    loss=$(python -c "import json, sys; m = json.load(open('$run/metrics.json')); \
print(round(m.get('eval_loss', float('nan')), 4))" 2>/dev/null || echo "-")
    saved=$([[ -f "$run/model.safetensors" ]] && echo yes || echo no)
    echo "| $form | $status | $seconds | $loss | $saved |" >> "$out/table.md"
done
cat "$out/table.md"
