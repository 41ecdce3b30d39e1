"""One run per output_dir: the lock beside the folder, taken before any write."""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import ftk, make_texts, write_csv, write_text_config

from toolkit.cli import main
from toolkit.core.errors import UserError
from toolkit.core.run_lock import lock_path, run_lock


def test_a_second_run_is_refused_naming_the_first(tmp_path):
    output_dir = tmp_path / "runs" / "a"
    with run_lock(output_dir):
        assert lock_path(output_dir).is_file()
        busy = r"in use by another ftk run \(process \d+ on "
        with pytest.raises(UserError, match=busy), run_lock(output_dir):
            pass
    assert not lock_path(output_dir).exists()  # released at the end
    with run_lock(output_dir):  # and free again
        pass


def test_a_lock_left_by_a_killed_run_is_replaced(tmp_path, capsys):
    output_dir = tmp_path / "a"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], text=True, capture_output=True
    ).stdout.strip()
    holder = {"pid": int(dead), "host": socket.gethostname(), "started": time.time()}
    lock_path(output_dir).write_text(json.dumps(holder))
    with run_lock(output_dir):
        assert json.loads(lock_path(output_dir).read_text())["pid"] != int(dead)
    said = capsys.readouterr()
    assert "Removed the lock a stopped run left" in said.out + said.err


def test_a_lock_whose_process_ended_unreaped_is_replaced(tmp_path):
    """A killed multi-process run's worker can linger as a zombie (its launcher died first and
    init reaps it late): it holds nothing, and the run after it must not be refused."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    while Path(f"/proc/{ended.pid}/stat").read_text().split(") ")[1][0] != "Z":
        time.sleep(0.01)  # ended, and not waited for: a zombie
    output_dir = tmp_path / "a"
    holder = {"pid": ended.pid, "host": socket.gethostname(), "started": time.time()}
    lock_path(output_dir).write_text(json.dumps(holder))
    try:
        with run_lock(output_dir):
            assert json.loads(lock_path(output_dir).read_text())["pid"] == os.getpid()
    finally:
        ended.wait()


def test_a_lock_held_on_another_machine_says_how_to_clear_it(tmp_path):
    output_dir = tmp_path / "a"
    holder = {"pid": 1, "host": "elsewhere", "started": time.time()}
    lock_path(output_dir).write_text(json.dumps(holder))
    clear = r"on elsewhere.*If no such run is going on, delete"
    with pytest.raises(UserError, match=clear), run_lock(output_dir):
        pass


def test_an_output_dir_inside_a_file_names_the_file(tmp_path):
    (tmp_path / "file").write_text("x")
    inside = f"lies inside '{tmp_path / 'file'}', which is a file, not a folder"
    for output_dir in (tmp_path / "file" / "x", tmp_path / "file" / "x" / "y"):
        with pytest.raises(UserError, match=inside), run_lock(output_dir):
            pass


def read_only(folder: Path, monkeypatch) -> None:
    """`folder` made read-only; run as root (who writes anywhere), the file system's answer
    to anyone else is given by the probe's tempfile call."""
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):

        def refused(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied", str(folder))

        monkeypatch.setattr(tempfile, "TemporaryFile", refused)


def test_a_read_only_output_dir_is_refused_and_its_lock_released(tmp_path, monkeypatch):
    output_dir = tmp_path / "ro"
    output_dir.mkdir()
    read_only(output_dir, monkeypatch)
    said = f"output_dir '{output_dir}' cannot be written (Permission denied: {output_dir})"
    with pytest.raises(UserError, match=re.escape(said)), run_lock(output_dir):
        pass
    assert not lock_path(output_dir).exists()


@pytest.mark.e2e
def test_training_into_a_read_only_output_dir_stops_before_the_data_loads(
    tiny_bert, tmp_path, monkeypatch, capsys
):
    """Old ftk loaded the data and the model, then died on history.jsonl with a traceback."""
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(10, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(3, seed=2)),
    }
    output_dir = tmp_path / "ro"
    output_dir.mkdir()
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, data, output_dir)
    read_only(output_dir, monkeypatch)
    code = main(["train", "--config", str(config)])
    said = capsys.readouterr()
    assert code == 2 and "Traceback" not in said.err
    assert f"output_dir '{output_dir}' cannot be written (Permission denied" in said.err
    assert "Data:" not in said.out + said.err  # said before the data loads
    output_dir.chmod(0o755)
    assert list(output_dir.iterdir()) == []


@pytest.mark.e2e
def test_a_training_into_a_held_output_dir_is_refused_before_any_write(tiny_bert, tmp_path):
    """`ftk train` into a folder another run holds (here this test process, which is alive, so
    the lock is not stale) stops with exit 2 naming the holder, and leaves the folder as it was.
    Holding the lock here rather than racing a second training keeps the test exact on a
    loaded machine."""
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(40, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(5, seed=2)),
    }
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "history.jsonl").write_text('{"step": 1}\n')
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, data, run_dir)
    with run_lock(run_dir):
        refused = ftk("train", "--config", config, check=False, timeout=300)
    assert refused.returncode == 2, refused.stderr
    assert "is in use by another ftk run" in refused.stderr
    assert f"process {os.getpid()} on" in refused.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == ["history.jsonl"]
    assert (run_dir / "history.jsonl").read_text() == '{"step": 1}\n'
