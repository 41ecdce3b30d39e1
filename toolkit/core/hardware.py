"""What the machine a run is on can do fast: native bf16 on the CPU, bf16 on the GPU.

Each probe answers from torch where torch can tell, and never raises: a probe that cannot
answer says "no", so a run falls back to fp32, the precision that works everywhere.
"""

from __future__ import annotations

from pathlib import Path

import torch

# /proc/cpuinfo flags of x86 CPUs that multiply bf16 natively, with the name we print.
CPU_BF16_FLAGS = {"amx_bf16": "AMX", "avx512_bf16": "AVX512-BF16"}
# torch's own probes for the same features (private, so looked up defensively).
TORCH_CPU_PROBES = {"_is_amx_tile_supported": "AMX", "_is_avx512_bf16_supported": "AVX512-BF16"}


def cpu_bf16_feature() -> str | None:
    """ "AMX" or "AVX512-BF16" when the CPU multiplies bf16 natively, else None.

    Without them oneDNN emulates bf16 with fp32 instructions plus conversions, which is
    slower than plain fp32, so autocast only pays on these CPUs (BENCHMARKS.md, CPU bf16).
    """
    for probe, name in TORCH_CPU_PROBES.items():
        check = getattr(torch.cpu, probe, None)
        try:
            if check is not None and check():
                return name
        except Exception:  # a failing private probe means "cannot tell"
            continue
    return cpuinfo_bf16_feature(Path("/proc/cpuinfo"))


def cpuinfo_bf16_feature(cpuinfo: Path) -> str | None:
    """The bf16 feature named in the first CPU's flags line of `cpuinfo`, if any."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[-1].split())
            return next((name for flag, name in CPU_BF16_FLAGS.items() if flag in flags), None)
    return None


def gpu_bf16_name() -> str | None:
    """The CUDA device's name when it computes bf16 natively (Ampere or newer), else None."""
    try:
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False):
            return torch.cuda.get_device_name()
    except Exception:  # a driver that cannot answer: stay in fp32
        return None
    return None


def has_accelerator() -> bool:
    """A GPU (CUDA or Apple MPS) torch can train on."""
    mps = getattr(torch.backends, "mps", None)
    return torch.cuda.is_available() or bool(mps and mps.is_available())
