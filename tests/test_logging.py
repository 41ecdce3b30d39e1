"""Console output goes through the standard logger "toolkit": the CLI keeps its look (stdout
for results, stderr for notes and warnings), other processes stay silent, and a library caller,
the recipe's `log_level` or FTK_VERBOSITY / TRANSFORMERS_VERBOSITY set what is shown; the lines
propagate to a caller's own `logging` set-up, and never land on a live progress bar."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from helpers import write_text_config

from toolkit.cli import main
from toolkit.core.log import LOGGER, WARNINGS, note, reset_warnings, say, warn


@pytest.fixture(autouse=True)
def keep_level():
    level = LOGGER.level
    yield
    LOGGER.setLevel(level)
    reset_warnings()


def test_the_cli_look_results_on_stdout_notes_and_warnings_on_stderr(capsys):
    say("Result line")
    note("How the command line was read")
    warn("Something to check")
    out, err = capsys.readouterr()
    assert out == "Result line\n"
    assert err == "How the command line was read\nWARNING: Something to check\n"


def test_other_processes_print_nothing_but_keep_their_warnings(capsys, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    say("from rank 1")
    warn("rank 1 warning")
    assert capsys.readouterr() == ("", "")
    assert WARNINGS == ["rank 1 warning"]


def test_a_library_caller_sets_the_level_and_sees_the_records(capsys):
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record)

    handler = Collect()
    logging.getLogger("toolkit").addHandler(handler)
    try:
        logging.getLogger("toolkit").setLevel(logging.WARNING)
        say("hidden")
        warn("shown")
    finally:
        logging.getLogger("toolkit").removeHandler(handler)
    out, err = capsys.readouterr()
    assert out == "" and err == "WARNING: shown\n"
    assert [(r.levelname, r.getMessage()) for r in seen] == [("WARNING", "shown")]
    assert WARNINGS == ["shown"], "the run report lists warnings whatever the console shows"


@pytest.fixture()
def root_handler():
    """A handler of the caller's own on the root logger, removed afterwards."""
    added: list[logging.Handler] = []

    def add(handler: logging.Handler) -> logging.Handler:
        logging.getLogger().addHandler(handler)
        added.append(handler)
        return handler

    yield add
    for handler in added:
        logging.getLogger().removeHandler(handler)


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_a_library_callers_logging_set_up_receives_every_line(capsys, root_handler):
    collected = root_handler(Collect())
    say("Result line")
    warn("Something to check")
    assert [(r.name, r.levelname, r.getMessage()) for r in collected.records] == [
        ("toolkit", "INFO", "Result line"),
        ("toolkit", "WARNING", "Something to check"),
    ]
    out, err = capsys.readouterr()
    assert out == "Result line\n", "ftk's own console still prints it, once"
    assert err == "WARNING: Something to check\n"


def test_a_caller_console_handler_shows_each_line_once_in_its_format(capsys, root_handler):
    handler = root_handler(logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    say("Result line")
    out, err = capsys.readouterr()
    assert out == "" and err == "toolkit INFO Result line\n"


def test_other_processes_lines_reach_no_handler(monkeypatch, root_handler):
    collected = root_handler(Collect())
    monkeypatch.setenv("RANK", "1")
    say("from rank 1")
    assert collected.records == []


def test_a_line_never_lands_on_a_live_progress_bar(capsys):
    from tqdm import tqdm

    bar = tqdm(total=4, file=sys.stderr, desc="Training", mininterval=0)
    bar.update(1)
    capsys.readouterr()
    say("Result line")
    out, err = capsys.readouterr()
    bar.close()
    assert out == "Result line\n"
    # the bar is wiped from its line before ftk's line and drawn again after it
    wiped, drawn = err.split("\r\r", 1)
    assert wiped.strip() == "" and drawn.startswith("Training:  25%")


@pytest.mark.e2e
@pytest.mark.parametrize("variable", ["FTK_VERBOSITY", "TRANSFORMERS_VERBOSITY"])
def test_the_environment_sets_the_starting_level(variable):
    code = "from toolkit.core.log import say, warn; say('info line'); warn('warning line')"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_VERBOSITY")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, variable: "warning"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == "WARNING: warning line\n"
    default = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert default.stdout == "info line\n"


@pytest.mark.e2e
def test_the_recipes_log_level_quietens_a_command(tiny_bert, text_data, tmp_path, capsys):
    recipe = write_text_config(tmp_path / "r.yaml", tiny_bert, text_data, tmp_path / "run")
    assert main(["schedule", "--config", str(recipe)]) == 0
    loud = capsys.readouterr().out
    assert main(["schedule", "--config", str(recipe), "--log_level", "warning"]) == 0
    quiet = capsys.readouterr().out
    logged = [line for line in loud.splitlines() if line not in quiet.splitlines()]
    assert logged, "the schedule summary is logged at info level"
    assert "LR plot:" in quiet, "the command's own result still prints"
