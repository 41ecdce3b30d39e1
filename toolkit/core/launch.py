"""What a launcher started, checked against what it was asked to start, before any work.

Each launcher tells a process that it is one of N through environment variables (torchrun and
`accelerate launch --multi_gpu`: WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; mpirun:
PMI_SIZE / OMPI_COMM_WORLD_SIZE). Some launches start N copies that were never told, or one
copy where N were asked for, and each copy then trains alone, into the same output_dir:

- `accelerate launch --num_processes N` on a machine without GPUs (and a MULTI_CPU accelerate
  config) starts ONE process: accelerate leaves the other N-1 to mpirun. Only its environment
  shows it (MASTER_ADDR set, no world size); the number asked for is on the launcher's command
  line, our parent process.
- `srun` starts N tasks but sets only SLURM_* variables, which torch does not read.
- N processes started on a machine whose device has no distributed backend, with a training
  config that does not say `use_cpu: true`: the Trainer leaves each process alone.

The first two are refused here with the command that works; the third is made to work
(`cpu_processes`): the processes train on CPUs over gloo, as the config would with use_cpu.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from toolkit.core.errors import UserError

WORLD_SIZE_VARIABLES = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
RANK_VARIABLES = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK")
# Devices accelerate and torch can run DDP on (a NCCL/XCCL/... backend); elsewhere (a CPU,
# Apple's mps) processes only train together on CPUs, over gloo.
DISTRIBUTED_DEVICES = ("cuda", "xpu", "npu", "mlu", "musa", "hpu", "sdaa")
# The environment every process of a launch needs, for the launchers ftk does not know.
TORCH_VARIABLES = "RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT"


def world_size(environ: Mapping[str, str] = os.environ) -> int:
    """Processes in this launch, as the launcher told this one (1: not told)."""
    for name in WORLD_SIZE_VARIABLES:
        if environ.get(name, "").isdigit():
            return int(environ[name])
    return 1


def process_rank(environ: Mapping[str, str] = os.environ) -> int:
    """This process's place in the launch, 0 to world_size() - 1, as the launcher told it."""
    for name in RANK_VARIABLES:
        if environ.get(name, "").isdigit():
            return int(environ[name])
    return 0


def check_launch(
    environ: Mapping[str, str] = os.environ, launcher: Sequence[str] | None = None
) -> None:
    """Refuse a launch that started this process alone where several were asked for.

    `launcher`: the command line of the process that started this one (default: read from
    the system; tests pass one)."""
    if world_size(environ) > 1:
        return
    tasks = environ.get("SLURM_STEP_NUM_TASKS", "1")
    if tasks.isdigit() and int(tasks) > 1:
        raise UserError(srun_without_torch_variables(int(tasks)))
    # accelerate's one-process launcher sets MASTER_ADDR only when asked for several processes
    # or machines; a MASTER_ADDR left in the shell is told apart by reading what was asked.
    if "ACCELERATE_MIXED_PRECISION" in environ and "MASTER_ADDR" in environ:
        command = launcher if launcher is not None else parent_command_line()
        rest = accelerate_launch_arguments(command)
        if rest is None:
            return
        asked = processes_asked(rest)
        if asked is not None and asked > 1:
            raise UserError(one_of_many_started(asked, rest))


def srun_without_torch_variables(tasks: int) -> str:
    return (
        f"srun started {tasks} tasks, but none was told it is one of {tasks}: torch reads "
        f"{TORCH_VARIABLES}, not SLURM_*, so each task would train alone into the same "
        f"output_dir. Give each task torch's variables: srun bash -c 'RANK=$SLURM_PROCID "
        f"LOCAL_RANK=$SLURM_LOCALID WORLD_SIZE=$SLURM_NTASKS python -m toolkit train --config "
        f"X', with MASTER_ADDR (the first node: scontrol show hostnames "
        f'"$SLURM_JOB_NODELIST", first line) and MASTER_PORT exported; README "Many GPUs and '
        f'clusters".'
    )


def one_of_many_started(asked: int, rest: Sequence[str]) -> str:
    working = ["accelerate", "launch", "--multi_gpu", *(a for a in rest if a != "--cpu")]
    return (
        f"accelerate launch was asked for {asked} processes but started this one alone: "
        f"without --multi_gpu (or a MULTI_GPU/FSDP accelerate config) on a machine without "
        f"several GPUs it starts one process and leaves the others to mpirun, so ftk would "
        f"train on 1 process, not {asked}. On CPUs (gloo) as on GPUs, run: "
        f"{shlex.join(working)}"
    )


def parent_command_line() -> list[str]:
    """The arguments of the process that started this one ([] where they cannot be read)."""
    try:
        raw = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    except OSError:
        try:
            import psutil  # type: ignore[import-untyped]  # accelerate needs it; macOS: no /proc

            return list(psutil.Process(os.getppid()).cmdline())
        except Exception:  # no psutil, or no permission: nothing is refused on a guess
            return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def accelerate_launch_arguments(command: Sequence[str]) -> list[str] | None:
    """What follows `accelerate launch` (or `python -m accelerate.commands.launch`) in
    `command`; None when `command` is no accelerate launch."""
    for index, part in enumerate(command):
        if part == "accelerate.commands.launch" or (
            part == "launch" and index > 0 and Path(command[index - 1]).name == "accelerate"
        ):
            return list(command[index + 1 :])
    return None


def processes_asked(launch_arguments: Sequence[str]) -> int | None:
    """Processes (all machines together, or machines if more) an `accelerate launch` with these
    arguments asks for: its flags, else its config file's, else the default config's."""
    from accelerate.commands.config.config_args import default_config_file, load_config_from_file
    from accelerate.commands.launch import launch_command_parser

    try:
        parsed = launch_command_parser().parse_args(list(launch_arguments))
    except SystemExit:  # arguments accelerate itself would not take: not ours to judge
        return None
    processes, machines = parsed.num_processes, parsed.num_machines
    config_file = parsed.config_file or (
        default_config_file if Path(default_config_file).is_file() and not parsed.cpu else None
    )
    if config_file is not None and (processes is None or machines is None):
        try:
            defaults = load_config_from_file(config_file)
        except Exception:  # the launcher read it already; a second read failing is no proof
            return None
        processes = processes if processes is not None else defaults.num_processes
        machines = machines if machines is not None else defaults.num_machines
    return max(processes or 1, machines or 1)


def has_distributed_device() -> bool:
    """A device other than the CPU that processes can train together on."""
    import torch

    try:
        # a CUDA build of torch names cuda as its accelerator on a machine without a GPU too
        if not torch.accelerator.is_available():
            return False
        device = torch.accelerator.current_accelerator()
    except (AttributeError, RuntimeError):  # older torch; CPU-only builds of 2.6 raise
        return bool(torch.cuda.is_available())
    return device is not None and device.type in DISTRIBUTED_DEVICES


def cpu_processes(training: dict[str, object]) -> str | None:
    """Several processes with no device to train together on: train them on CPUs over gloo
    (`use_cpu`, `ddp_backend`; in place), which accelerate would otherwise not do, leaving
    every process to train alone. Returns the line that says so, or None (nothing changed)."""
    processes = world_size()
    if processes < 2 or training.get("use_cpu") or has_distributed_device():
        return None
    training["use_cpu"] = True
    training.setdefault("ddp_backend", "gloo")
    return (
        f"No GPU: the {processes} processes train together on CPUs "
        f"(use_cpu: true, ddp_backend: {training['ddp_backend']})."
    )


def sharding_on_cpus(training: dict[str, object]) -> str | None:
    """FSDP or DeepSpeed asked for (accelerate config), CPUs to run on: the line saying what
    runs instead, or a UserError where nothing can.

    On CPU processes accelerate turns an FSDP launch into plain DDP (DistributedType.MULTI_CPU)
    without a word, and with `fsdp_cpu_ram_efficient_loading` the weights then load on rank 0
    only, while the other ranks keep empty (meta) tensors and fail at the first copy. ftk turns
    both FSDP switches off, so every process loads the weights and DDP runs, and says so.
    DeepSpeed has no CPU path through the Trainer."""
    on_cpus = bool(training.get("use_cpu")) or not has_distributed_device()
    if not on_cpus:
        return None
    processes = world_size()
    if os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true":
        raise UserError(
            "DeepSpeed (the accelerate config's distributed_type: DEEPSPEED) needs GPUs, and "
            "this run is on CPUs. For data-parallel training on CPUs run: accelerate launch "
            f"--multi_gpu --num_processes {max(processes, 2)} --mixed_precision no -m toolkit "
            "train --config X (gloo; no accelerate config needed)."
        )
    if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() != "true":
        return None
    os.environ["ACCELERATE_USE_FSDP"] = "false"
    os.environ["FSDP_CPU_RAM_EFFICIENT_LOADING"] = "false"
    return (
        f"FSDP needs GPUs: on CPUs accelerate runs an FSDP config as plain data parallel "
        f"(DDP). ftk runs DDP over {processes} CPU process{'es' if processes != 1 else ''} "
        f"(gloo): every process holds the whole model, nothing is sharded. The same command "
        f"on GPUs shards it."
    )


def check_processes_joined(expected: int, joined: int) -> None:
    """After TrainingArguments set up the process group: every process the launcher started
    must be in it, or each would train alone into the same output_dir."""
    if expected > 1 and joined != expected:
        raise UserError(
            f"The launcher started {expected} processes (WORLD_SIZE={expected}), but the "
            f"Trainer runs this one alone ({joined} process): each would train its own model "
            f"into the same output_dir. On CPUs set use_cpu: true and ddp_backend: gloo in the "
            f"config, or launch with: accelerate launch --multi_gpu --num_processes {expected} "
            f"-m toolkit train --config X."
        )
