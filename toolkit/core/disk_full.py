"""A full disk (or a used-up quota) while a run writes its folder, said in one paragraph.

torch and safetensors report the failed write in their own words (torch 2.14 on a full tmpfs:
a RuntimeError "[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534"; its
zip writer's other short write reads "... file write failed"; safetensors: a SafetensorError
"... No space left on device (os error 28)"); Python's own writes raise OSError ENOSPC or
EDQUOT. Each becomes a UserError naming the
folder, the space free and needed, and the way on: the half-written checkpoint is removed (it
cannot be resumed from, and its space is what the next try needs), the last complete one is
kept and `--resume` continues from it.
"""

from __future__ import annotations

import contextlib
import errno
import shutil
from collections.abc import Iterator
from pathlib import Path

from toolkit.core.errors import UserError
from toolkit.core.run_state import checkpoints, is_complete, last_complete_checkpoint, way_on

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
# what torch's and safetensors' writers say when the device takes no more bytes (measured on a
# full tmpfs: torch's zip writer finds its position short of what it wrote)
NO_SPACE_WORDS = (
    "No space left on device",
    "Disk quota exceeded",
    "file write failed",
    "unexpected pos",
)
MB = 1024 * 1024


def is_out_of_space(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        return True
    return any(words in str(exc) for words in NO_SPACE_WORDS)


@contextlib.contextmanager
def out_of_space_said(output_dir: Path) -> Iterator[None]:
    """Run the block; a write that found no space left ends it as a UserError."""
    try:
        yield
    except Exception as exc:  # SafetensorError is neither an OSError nor a RuntimeError
        if isinstance(exc, UserError) or not is_out_of_space(exc):
            raise
        raise UserError(out_of_space_message(output_dir, exc)) from None


def out_of_space_message(output_dir: Path, exc: BaseException) -> str:
    needed = checkpoint_size(output_dir)  # measured before the cut-off one is removed
    removed = remove_cut_off_checkpoints(output_dir)
    free = shutil.disk_usage(existing(output_dir)).free
    what = getattr(exc, "filename", None) or first_line(exc)
    need = f"; one checkpoint of this run takes {mb(needed)}" if needed else ""
    gone = f" The cut-off {', '.join(removed)} was removed." if removed else ""
    room = f"at least {mb(needed)} free" if needed else "room"
    return (
        f"No space left on the device at '{output_dir}' while saving ({what}): {mb(free)} "
        f"free{need}.{gone} Make {room} there (or move the run to a larger disk). "
        f"{way_on(output_dir)}"
    )


def mb(size: int) -> str:
    return f"{size / MB:,.1f} MB"


def checkpoint_size(output_dir: Path) -> int:
    """Bytes of the newest complete checkpoint, else of the one cut off (a lower bound)."""
    newest = last_complete_checkpoint(output_dir) or next(iter(checkpoints(output_dir)), None)
    if newest is None:
        return 0
    return sum(f.stat().st_size for f in newest.rglob("*") if f.is_file())


def remove_cut_off_checkpoints(output_dir: Path) -> list[str]:
    """The incomplete checkpoints newer than the last complete one: what this session was
    writing when the space ran out. Older and complete ones stay."""
    removed = []
    for checkpoint in checkpoints(output_dir):  # newest first
        if is_complete(checkpoint):
            break
        shutil.rmtree(checkpoint, ignore_errors=True)
        removed.append(checkpoint.name)
    return removed


def existing(path: Path) -> Path:
    """`path`, or its nearest folder that exists (disk_usage needs one)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
