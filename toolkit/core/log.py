"""Console output for people, through the standard `logging` module: the logger "toolkit".

One voice, from the main process only under accelerate (as accelerate's
`get_logger(main_process_only=True)`), and in the look the CLI has always had: results on
stdout, notes about how the command line was read and warnings on stderr, each line written
through tqdm so it never lands on a live progress bar. Who controls it:

- a library caller: `logging.getLogger("toolkit").setLevel(logging.WARNING)` keeps warnings
  and silences the rest. The logger propagates, so the caller's own `logging` set-up (a file
  handler, `logging.basicConfig(...)`) receives every line too. When the root logger already
  has a handler writing to the console (stdout or stderr, as `logging.basicConfig()` adds),
  ftk's console handler stays quiet, so each line shows once, in the caller's format; to
  keep ftk's lines only in the caller's handlers, remove ours:
  `logging.getLogger("toolkit").removeHandler(toolkit.core.log.CONSOLE)`;
- a recipe: TrainingArguments' `log_level` (anything but `passive`) sets the level for the run;
- the environment: FTK_VERBOSITY, else TRANSFORMERS_VERBOSITY (debug | info | warning | error |
  critical) sets the starting level, which is `info` otherwise.
"""

from __future__ import annotations

import logging
import os
import sys

from tqdm import tqdm

LOGGER = logging.getLogger("toolkit")

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


class ConsoleHandler(logging.Handler):
    """stdout for plain lines, stderr for notes (`extra={"stderr": True}`) and warnings. The
    streams are looked up at each line, so a redirect (or pytest's capture) made after import
    is honoured. tqdm.write clears the live progress bars (the Trainer's, datasets') before
    the line and draws them again below it."""

    def emit(self, record: logging.LogRecord) -> None:
        if root_prints_to_console():
            return  # the caller's handler shows it: once, not twice
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            stream, message = sys.stderr, f"{record.levelname}: {message}"
        else:
            stream = sys.stderr if getattr(record, "stderr", False) else sys.stdout
        try:
            tqdm.write(message, file=stream)
            stream.flush()
        except Exception:  # a closed stream must not end a run
            self.handleError(record)


def root_prints_to_console() -> bool:
    """Whether the root logger has a handler writing to stdout or stderr (a caller's
    `logging.basicConfig()`), which shows ftk's lines as they propagate."""
    consoles = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    return any(
        isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
        and any(handler.stream is console for console in consoles)
        for handler in logging.getLogger().handlers
    )


def main_process_only(record: logging.LogRecord) -> bool:
    return is_main_process()


def starting_level() -> int:
    for variable in ("FTK_VERBOSITY", "TRANSFORMERS_VERBOSITY"):
        name = os.environ.get(variable, "").strip().lower()
        if name in LEVELS:
            return LEVELS[name]
    return logging.INFO


CONSOLE = ConsoleHandler()


def configure() -> None:
    """The console handler, once; the level from the environment unless a caller set one.
    The process filter sits on the logger, so the other processes' lines reach no handler
    (the caller's included) through propagation either."""
    if main_process_only not in LOGGER.filters:
        LOGGER.addFilter(main_process_only)
    if not any(isinstance(h, ConsoleHandler) for h in LOGGER.handlers):
        LOGGER.addHandler(CONSOLE)
    LOGGER.propagate = True
    if LOGGER.level == logging.NOTSET:
        LOGGER.setLevel(starting_level())


configure()


def apply_log_level(log_level: str | None) -> None:
    """A run's TrainingArguments `log_level`: `passive` (the default) leaves the level as the
    caller or the environment set it."""
    if log_level in LEVELS:
        LOGGER.setLevel(LEVELS[log_level])


def say(message: str = "") -> None:
    LOGGER.info(message)


def note(message: str) -> None:
    """A line about how the command line was read, on stderr: stdout may be YAML
    (`--print-config`)."""
    LOGGER.info(message, extra={"stderr": True})


# Every warning of the current run, in order: the run report lists them (reset per run),
# whatever the console's level.
WARNINGS: list[str] = []


def warn(message: str) -> None:
    WARNINGS.append(message)
    LOGGER.warning(message)


def reset_warnings() -> None:
    WARNINGS.clear()
