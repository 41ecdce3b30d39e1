"""Every way of starting several processes either trains them together or stops before any work
with the command that does (toolkit/core/launch.py): accelerate launch without --multi_gpu on a
machine without GPUs, srun without torch's variables, N processes with a config that does not
say use_cpu, the FSDP and DeepSpeed recipes on CPUs. torchrun, the FSDP recipe and a launcher
that only sets torch's environment variables (the SLURM form) run end to end: 2 processes,
gloo, the tiny BERT."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers import free_port, history_rows, make_texts, write_csv

from toolkit.core import launch
from toolkit.core.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
ACCELERATE = [sys.executable, "-m", "accelerate.commands.launch"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


def accelerate_parent(*arguments: str) -> list[str]:
    """The command line `accelerate launch ARGUMENTS` shows as its process's."""
    return ["/venv/bin/python", "/venv/bin/accelerate", "launch", *arguments]


ONE_PROCESS_LAUNCHER = {"ACCELERATE_MIXED_PRECISION": "no", "MASTER_ADDR": "127.0.0.1"}


def test_accelerate_asked_for_two_that_started_one_is_refused_with_the_working_command():
    asked = accelerate_parent("--num_processes", "2", "-m", "toolkit", "train", "--config", "c")
    with pytest.raises(UserError) as refused:
        launch.check_launch(ONE_PROCESS_LAUNCHER, asked)
    message = str(refused.value)
    assert "asked for 2 processes but started this one alone" in message
    assert message.endswith(
        "run: accelerate launch --multi_gpu --num_processes 2 -m toolkit train --config c"
    )


def test_a_multi_cpu_accelerate_config_of_two_processes_is_refused(tmp_path):
    config = tmp_path / "cpu.yaml"
    config.write_text("compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_CPU\n")
    config.write_text(config.read_text() + "num_machines: 1\nnum_processes: 2\nuse_cpu: true\n")
    asked = accelerate_parent("--config_file", str(config), "--cpu", "-m", "toolkit", "train")
    with pytest.raises(UserError, match="asked for 2 processes") as refused:
        launch.check_launch(ONE_PROCESS_LAUNCHER, asked)
    assert f"accelerate launch --multi_gpu --config_file {config} -m toolkit" in str(refused.value)


@pytest.mark.parametrize(
    "environment, parent",
    [
        # a MASTER_ADDR left in the shell, and a one-process accelerate launch
        (ONE_PROCESS_LAUNCHER, accelerate_parent("--num_processes", "1", "-m", "toolkit")),
        # told it is one of two: nothing to refuse
        ({**ONE_PROCESS_LAUNCHER, "WORLD_SIZE": "2"}, accelerate_parent("--num_processes", "2")),
        # started by something other than accelerate
        (ONE_PROCESS_LAUNCHER, ["/usr/bin/python", "-m", "toolkit", "train"]),
        ({}, accelerate_parent("--num_processes", "2")),  # not under accelerate launch
    ],
)
def test_launches_that_started_what_they_asked_for_pass(environment, parent):
    launch.check_launch(environment, parent)


def test_srun_tasks_without_torch_variables_are_refused():
    with pytest.raises(UserError, match="srun started 4 tasks") as refused:
        launch.check_launch({"SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "1"}, [])
    told = "RANK=$SLURM_PROCID LOCAL_RANK=$SLURM_LOCALID WORLD_SIZE=$SLURM_NTASKS python -m"
    assert told in str(refused.value)
    launch.check_launch({"SLURM_STEP_NUM_TASKS": "4", "WORLD_SIZE": "4"}, [])  # told: fine


def test_processes_without_a_gpu_train_on_cpus_over_gloo(monkeypatch):
    monkeypatch.setattr(launch, "has_distributed_device", lambda: False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    training: dict[str, object] = {}
    assert "the 2 processes train together on CPUs" in str(launch.cpu_processes(training))
    assert training == {"use_cpu": True, "ddp_backend": "gloo"}
    assert launch.cpu_processes({"use_cpu": True}) is None  # the config said it already
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert launch.cpu_processes({}) is None


def test_fsdp_on_cpus_runs_as_ddp_and_says_so(monkeypatch):
    monkeypatch.setattr(launch, "has_distributed_device", lambda: False)
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    monkeypatch.setenv("FSDP_CPU_RAM_EFFICIENT_LOADING", "true")
    said = launch.sharding_on_cpus({})
    assert said is not None and "ftk runs DDP" in said
    # every process loads the weights itself (rank-0-only loading left the others on meta)
    assert os.environ["FSDP_CPU_RAM_EFFICIENT_LOADING"] == "false"
    assert os.environ["ACCELERATE_USE_FSDP"] == "false"


def test_deepspeed_on_cpus_is_refused_with_the_ddp_command(monkeypatch):
    monkeypatch.setattr(launch, "has_distributed_device", lambda: False)
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(UserError, match=r"DeepSpeed .* needs GPUs") as refused:
        launch.sharding_on_cpus({})
    assert "accelerate launch --multi_gpu --num_processes 2" in str(refused.value)


def test_a_process_left_out_of_the_group_is_an_error():
    with pytest.raises(UserError, match="each would train its own model"):
        launch.check_processes_joined(expected=2, joined=1)
    launch.check_processes_joined(expected=2, joined=2)
    launch.check_processes_joined(expected=1, joined=1)


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def recipe(bert_without_dropout, tmp_path_factory) -> Path:
    """A recipe as a user writes it for any machine: no use_cpu, no ddp_backend."""
    folder = tmp_path_factory.mktemp("forms")
    train = write_csv(folder / "train.csv", make_texts(20, seed=1))
    test = write_csv(folder / "test.csv", make_texts(4, seed=2))
    path = folder / "recipe.yaml"
    path.write_text(
        f"model: {{name_or_path: '{bert_without_dropout}'}}\n"
        f"data: {{train_file: '{train}', test_file: '{test}', max_length: 32}}\n"
        f"output_dir: '{folder / 'unused'}'\n"
        "per_device_train_batch_size: 4\nmax_steps: 4\nlogging_steps: 1\nbf16: false\n"
    )
    return path


def run(command: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=env or launch_env()
    )


def launch_env() -> dict:
    """No user accelerate config, and no GPU: what a CPU machine runs, on any machine."""
    hf_home = str(Path(tempfile.gettempdir()) / "ftk-test-no-hf-home")
    return {**os.environ, "HF_HOME": hf_home, "CUDA_VISIBLE_DEVICES": ""}


def train_args(recipe: Path, output_dir: Path) -> list[str]:
    return ["-m", "toolkit", "train", "--config", str(recipe), "--output_dir", str(output_dir)]


def assert_trained_together(done: subprocess.CompletedProcess, output_dir: Path) -> None:
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Processes: 2 (device cpu" in done.stdout, done.stdout[-2000:]
    assert done.stdout.count("Results:") == 1, "one process prints"
    steps = [r["step"] for r in history_rows(output_dir, "step")]
    assert steps == [1, 2, 3, 4], "one writer, 4 steps of the 2-process global batch"
    assert (output_dir / "model.safetensors").is_file()


@pytest.mark.e2e
@pytest.mark.parametrize("form", ["readme", "multi-cpu config"])
def test_accelerate_forms_that_start_one_process_stop_with_the_command_that_works(
    form, recipe, tmp_path
):
    """The README's old `accelerate launch --num_processes 2` and a hand-written MULTI_CPU
    accelerate config of 2 processes: each starts one process on a machine without GPUs."""
    if form == "readme":
        asked = ["--num_processes", "2"]
    else:
        config = tmp_path / "cpu.yaml"
        config.write_text(
            "compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_CPU\nnum_machines: 1\n"
            "num_processes: 2\nmixed_precision: 'no'\nuse_cpu: true\n"
        )
        asked = ["--config_file", str(config)]
    done = run([*ACCELERATE, *asked, *train_args(recipe, tmp_path / "run")])
    assert done.returncode != 0  # ftk exits 2; accelerate's launcher turns that into 1
    assert "error: accelerate launch was asked for 2 processes" in done.stderr
    working = shlex.join(["accelerate", "launch", "--multi_gpu", *asked, "-m", "toolkit"])
    assert f"run: {working} train" in done.stderr
    assert not (tmp_path / "run").exists(), "stopped before any work"


@pytest.mark.e2e
def test_torchrun_trains_two_cpu_processes_from_a_recipe_without_use_cpu(recipe, tmp_path):
    out = tmp_path / "run"
    port = str(free_port())
    torchrun = [*TORCHRUN, "--nproc_per_node", "2", "--master_port", port]
    done = run([*torchrun, *train_args(recipe, out)])
    assert "No GPU: the 2 processes train together on CPUs" in done.stdout
    assert_trained_together(done, out)


@pytest.mark.e2e
def test_fsdp_recipe_on_cpus_runs_as_ddp_and_says_so(recipe, tmp_path):
    out = tmp_path / "run"
    fsdp = ROOT / "configs" / "accelerate" / "fsdp.yaml"
    done = run(
        [
            *ACCELERATE,
            "--config_file",
            str(fsdp),
            "--num_processes",
            "2",
            "--mixed_precision",
            "no",
            "--main_process_port",
            str(free_port()),
            *train_args(recipe, out),
        ]
    )
    assert "FSDP needs GPUs" in done.stdout and "ftk runs DDP over 2 CPU processes" in done.stdout
    assert "meta tensor" not in done.stderr
    assert_trained_together(done, out)


@pytest.mark.e2e
def test_processes_started_with_torch_variables_only_train_together(recipe, tmp_path):
    """What an srun task list or any other launcher does once each task gets torch's variables:
    RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (README: SLURM)."""
    out = tmp_path / "run"
    port = str(free_port())
    processes = [
        subprocess.Popen(
            [sys.executable, *train_args(recipe, out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **launch_env(),
                "RANK": str(rank),
                "LOCAL_RANK": str(rank),
                "WORLD_SIZE": "2",
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": port,
            },
        )
        for rank in (0, 1)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    codes = [p.returncode for p in processes]
    assert codes == [0, 0], [err[-2000:] for _, err in outputs]
    main = subprocess.CompletedProcess([], 0, outputs[0][0], outputs[0][1])
    assert outputs[1][0].count("Results:") == 0, "rank 1 prints nothing of the run"
    assert_trained_together(main, out)
