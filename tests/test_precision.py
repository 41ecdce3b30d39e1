"""Mixed precision chosen for the machine: bf16 autocast on CPUs with native bf16 and on
Ampere+ GPUs, fp32 elsewhere, the user's `bf16`/`fp16` and accelerate's config always first."""

from __future__ import annotations

import json

import pytest
from helpers import ftk, make_texts, write_csv, write_text_config
from safetensors import safe_open

from toolkit.core.hardware import cpuinfo_bf16_feature
from toolkit.training.precision import Hardware, choose_precision

AMX_CPU = Hardware(accelerator=False, gpu_bf16=None, cpu_bf16="AMX")
PLAIN_CPU = Hardware(accelerator=False, gpu_bf16=None, cpu_bf16=None)
AMPERE = Hardware(accelerator=True, gpu_bf16="NVIDIA A100", cpu_bf16="AVX512-BF16")
OLD_GPU = Hardware(accelerator=True, gpu_bf16=None, cpu_bf16=None)


def test_cpu_with_native_bf16_gets_autocast_and_says_how_to_turn_it_off():
    added, note = choose_precision({}, AMX_CPU, launched=None)
    assert added == {"bf16": True, "use_cpu": True}
    assert "AMX found" in note and "`bf16: false`" in note


def test_cpu_without_native_bf16_stays_fp32_silently():
    assert choose_precision({}, PLAIN_CPU, launched=None) == ({}, None)


def test_gpu_with_bf16_gets_it_and_an_older_gpu_stays_fp32():
    added, note = choose_precision({}, AMPERE, launched=None)
    assert added == {"bf16": True} and "A100" in note
    assert choose_precision({}, OLD_GPU, launched=None) == ({}, None)


def test_use_cpu_on_a_gpu_machine_asks_the_cpu():
    added, note = choose_precision({"use_cpu": True}, AMPERE, launched=None)
    assert added == {"bf16": True, "use_cpu": True} and "AVX512-BF16" in note


@pytest.mark.parametrize("setting", [{"bf16": False}, {"fp16": True}, {"fp16": False}])
def test_a_users_choice_stands(setting):
    assert choose_precision(setting, AMX_CPU, launched=None) == ({}, None)
    assert choose_precision(setting, AMPERE, launched=None) == ({}, None)


def test_bf16_true_on_a_cpu_only_machine_is_told_it_is_the_cpu():
    # TrainingArguments refuses bf16 without a GPU unless use_cpu is set.
    assert choose_precision({"bf16": True}, PLAIN_CPU, launched=None) == ({"use_cpu": True}, None)
    assert choose_precision({"bf16": True, "use_cpu": False}, PLAIN_CPU, None) == ({}, None)


def test_accelerate_launch_config_decides():
    assert choose_precision({}, AMX_CPU, launched="no") == ({}, None)
    assert choose_precision({}, AMPERE, launched="fp16") == ({}, None)


def test_cpuinfo_flags_name_the_feature(tmp_path):
    def feature(flags: str):
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nflags\t\t: fpu sse2 {flags}\n\nprocessor\t: 1\n")
        return cpuinfo_bf16_feature(path)

    assert feature("avx512f avx512_bf16") == "AVX512-BF16"
    assert feature("avx512_bf16 amx_tile amx_bf16") == "AMX"
    assert feature("avx2 avx512f") is None
    assert cpuinfo_bf16_feature(tmp_path / "absent") is None


@pytest.mark.e2e
def test_a_cli_run_uses_the_machines_precision_and_saves_fp32_weights(tiny_bert, tmp_path):
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(24, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(9, seed=2)),
    }
    run_dir = tmp_path / "run"
    config = write_text_config(tmp_path / "tiny.yaml", tiny_bert, data, run_dir)
    result = ftk("train", "--config", config, "--num_train_epochs", 1)
    machine = Hardware.probe()
    expected = "bf16" if machine.cpu_bf16 and not machine.accelerator else "no"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["mixed_precision"] == expected
    assert ("CPU bf16 autocast" in result.stdout) == (expected == "bf16")
    with safe_open(run_dir / "model.safetensors", framework="pt") as weights:
        names = weights.keys()
        dtypes = {str(weights.get_slice(name).get_dtype()) for name in names}
    assert dtypes == {"F32"}, "autocast computes in bf16; the saved weights stay fp32"
