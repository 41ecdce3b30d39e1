"""One run per output_dir: a lock file beside the folder (`.NAME.ftk-lock` in its parent, so
deleting or replacing the folder never removes it), held from before the first write to the
end of the command. A lock left by a killed run on this machine is detected (its process is
gone) and replaced; one held by another machine is reported with how to clear it. Taking it
also shows that the folder can be written: a read-only one, or a path inside a file, is said
here, before the data and the model load."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from toolkit.core.errors import UserError
from toolkit.core.log import note


def lock_path(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}.ftk-lock"


@contextlib.contextmanager
def run_lock(output_dir: Path) -> Iterator[None]:
    """Hold output_dir's lock while the block runs (on the launch's main process only: the
    other processes of one `accelerate launch` belong to the same run)."""
    if os.environ.get("RANK", "0") != "0":
        yield
        return
    path = lock_path(output_dir.resolve())  # '.' and '..' name a folder too
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        take(path, output_dir)
    except OSError as exc:  # under a file, read-only, ...: said before any slow work
        where = Path(exc.filename) if exc.filename else path.parent
        raise UserError(cannot_write(output_dir, exc.strerror or str(exc), where)) from None
    try:
        check_writable(output_dir)
        yield
    finally:
        path.unlink(missing_ok=True)


def check_writable(output_dir: Path) -> None:
    """An existing output_dir must take new files: a read-only one would otherwise fail at the
    first history row, after the data and the model have loaded. (Its parent was written by
    the lock already.) The probe file has no name, so nothing is left behind."""
    if not output_dir.is_dir():
        return
    try:
        with tempfile.TemporaryFile(dir=output_dir):
            pass
    except OSError as exc:
        raise UserError(cannot_write(output_dir, exc.strerror or str(exc), output_dir)) from None


def cannot_write(output_dir: Path, reason: str, where: Path) -> str:
    file = next((p for p in (output_dir, *output_dir.parents) if p.is_file()), None)
    if file is not None and file != output_dir:  # mkdir says "File exists" or "Not a directory"
        return (
            f"output_dir '{output_dir}' lies inside '{file}', which is a file, not a folder; "
            f"choose a folder path."
        )
    return (
        f"output_dir '{output_dir}' cannot be written ({reason}: {where}); choose a folder "
        f"you can write to."
    )


def take(path: Path, output_dir: Path) -> None:
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    for _ in range(2):  # a second try after removing a stale lock
        try:
            with open(path, "x") as handle:  # exclusive create: one process wins
                json.dump(holder, handle)
            return
        except FileExistsError:
            other = read_holder(path)
            if other is None or is_stale(other):
                note(f"Removed the lock a stopped run left on output_dir '{output_dir}' ({path}).")
                path.unlink(missing_ok=True)
                continue
            raise UserError(busy_message(output_dir, path, other)) from None
    raise UserError(f"Could not take the lock {path} for output_dir '{output_dir}'; try again.")


def read_holder(path: Path) -> dict | None:
    try:
        holder = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # torn or unreadable: its writer died mid-write
    return holder if isinstance(holder, dict) else None


def is_stale(holder: dict) -> bool:
    """Its process is gone (only knowable for a lock taken on this machine)."""
    if holder.get("host") != socket.gethostname():
        return False
    try:
        pid = int(holder.get("pid", -1))
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return is_zombie(pid)


def is_zombie(pid: int) -> bool:
    """The process ended but its parent has not read its exit status yet (Linux: state Z in
    /proc/PID/stat). It holds nothing: a killed multi-process run leaves its workers so for a
    while when their launcher died before them, and they are handed to an init process that
    may reap them late."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].startswith("Z")


def busy_message(output_dir: Path, path: Path, holder: dict) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder.get("started", 0))))
    return (
        f"output_dir '{output_dir}' is in use by another ftk run (process {holder.get('pid')} "
        f"on {holder.get('host')}, started {started}). Two runs in one folder would mix their "
        f"files: wait for it to end, or choose another --output_dir. If no such run is going "
        f"on, delete {path}."
    )
