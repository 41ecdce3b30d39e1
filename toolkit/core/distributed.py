"""Running under `accelerate launch` (or torchrun) with any number of processes and machines.

The Trainer already shards the data and averages gradients; what is ours: only the main
process writes the run directory and pushes, the others wait at the same points, a check that
fails on the main process fails on every process (instead of leaving the others hanging in a
collective call), and mixed precision is set in exactly one place.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any, NoReturn, TypeVar

from toolkit.core.errors import UserError

PRECISIONS = ("fp16", "bf16")
T = TypeVar("T")


def check_mixed_precision(training: dict[str, Any]) -> None:
    """Refuse bf16/fp16 set differently by the accelerate config and the ftk config.

    `accelerate launch` passes its `mixed_precision` as ACCELERATE_MIXED_PRECISION; the
    TrainingArguments flags `bf16` / `fp16` silently override it. Either place is fine; two
    different answers are a mistake the user should see.
    """
    launched = os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
    configured = [p for p in PRECISIONS if training.get(p)]
    if len(configured) > 1:
        raise UserError(
            "The config sets both bf16 and fp16; choose one (bf16 on CPUs and on Ampere "
            "or newer GPUs, fp16 on older GPUs)."
        )
    if launched in PRECISIONS and configured and configured[0] != launched:
        raise UserError(
            f"Mixed precision is set twice, differently: the accelerate config / "
            f"`accelerate launch --mixed_precision` says {launched}, the ftk config "
            f"says {configured[0]}: true. Set it in one place: remove "
            f"{configured[0]} from the ftk config, or launch with "
            f"--mixed_precision {configured[0]}."
        )


def on_main_then_everywhere(check: Callable[[], None]) -> None:
    """Run `check` on the main process only; a UserError it raises is raised by every process.

    Call after TrainingArguments exists (it sets up the process group).
    """
    main_decides(check)


def main_decides(decide: Callable[[], T]) -> T:
    """Run `decide` on the main process only and give every process its result (a picklable
    value): what one process decides (a search trial's values, whether to prune it), all act
    on, so none is left waiting in a collective call the others skipped. A UserError it
    raises is raised by every process. Call after TrainingArguments exists."""
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    state = PartialState()
    if state.num_processes == 1:
        return decide()
    outcome: list[Any] = [None, None]  # (result, error message)
    if state.is_main_process:
        try:
            outcome[0] = decide()
        except UserError as exc:
            outcome[1] = str(exc)
    broadcast_object_list(outcome)
    if outcome[1] is not None:
        raise UserError(outcome[1])
    return outcome[0]


def wait_for_everyone() -> None:
    from accelerate import PartialState

    PartialState().wait_for_everyone()


def close_process_group(finished: bool) -> bool:
    """Tear the process group down before the interpreter exits; True when there was one.

    Left to the interpreter's shutdown, the gloo group's threads can be destroyed while still
    running, and the main process then aborts ("terminate called without an active
    exception") after the run has finished and written everything, so `accelerate launch`
    exits non-zero and a scheduler marks the job failed. `finished`: every process got here
    without an error, so they can meet at a barrier first; after an error, each closes alone.
    """
    dist = sys.modules.get("torch.distributed")  # not imported: no group (and no import cost)
    if dist is None or not (dist.is_available() and dist.is_initialized()):
        return False
    if finished:
        dist.barrier()
    dist.destroy_process_group()
    return True


def keep_ddp_timeout(seconds: float) -> None:
    """Give the process group the run's `ddp_timeout`, which transformers passes on only on
    GPUs: its CPU branch (use_cpu, how ftk runs processes without a GPU over gloo) creates the
    group with torch's default of 30 minutes. So a process whose peer on another machine stopped
    answering without dying (a hung machine, a lost network: no connection is closed) waited 30
    minutes whatever the config said; with the run's own timeout it stops after `ddp_timeout`
    seconds (tests/test_distributed.py, a stalled node). Call once TrainingArguments exists."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.set_timeout(timedelta(seconds=seconds))


# What gloo says when a peer is gone: its connection closed (the process or machine died) or
# nothing came back within the process group's timeout (it hangs, or the network is lost).
PEER_LOST = ("Connection closed by peer", "Connection reset by peer", "Timed out waiting")


def lost_peer(error: BaseException) -> str | None:
    """What to tell the user when `error` says another process of the run is gone, else None.

    Every process then fails in its next collective call; without this each prints a
    traceback from inside gloo, and the one thing to do next, `--resume` on every machine
    once they are all back, is said nowhere."""
    if int(os.environ.get("WORLD_SIZE", "1")) < 2 or not isinstance(error, RuntimeError):
        return None
    said = str(error)
    words = next((w for w in PEER_LOST if w in said), None)
    if words is None:
        return None
    detail = said[said.index(words) :].splitlines()[0].split(". ")[0]  # gloo's first sentence
    waited = " (ddp_timeout sets how long a process waits)" if words.startswith("Timed") else ""
    return (
        f"Another process of this run stopped or stopped answering, so this one cannot go on "
        f"({detail}){waited}. A machine of the run was lost or one of its processes ended; its "
        f"own output says why. Once every machine is back, start the same command on each with "
        f"--resume: training goes on from the last complete checkpoint in output_dir."
    )


def watch_for_native_aborts() -> None:
    """In a multi-process run, a native crash (SIGABRT, SIGSEGV) prints the Python stack of
    every thread, so an abort says where it happened instead of only "terminate called"."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        faulthandler.enable(all_threads=True)


def exit_without_finalizing(code: int) -> NoReturn:
    """End a process of a multi-process run once its work is written and its group closed,
    the way multiprocessing ends its children: `os._exit`, skipping the interpreter's
    finalization and C++ static destructors.

    Why: even with the group destroyed first, rank 0 aborted at exit once in about 45
    two-process launches here (under load, after every file was written); the DDP reducer
    keeps the gloo group alive from C++ until finalization, where a native thread can be
    destroyed while joinable. Nothing is left to finalize: the run directory is written, the
    loggers and the standard streams are flushed here.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
