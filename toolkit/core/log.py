"""Console output for people, through the standard `logging` module: the logger "toolkit".

One voice, from the main process only under accelerate (as accelerate's
`get_logger(main_process_only=True)`), and in the look the CLI has always had: results on
stdout, notes about how the command line was read and warnings on stderr. Who controls it:

- a library caller: `logging.getLogger("toolkit").setLevel(logging.WARNING)` keeps warnings
  and silences the rest; a handler of their own sees every record (`propagate` is off, as
  transformers' own logger has it, so the root logger does not print each line twice);
- a recipe: TrainingArguments' `log_level` (anything but `passive`) sets the level for the run;
- the environment: FTK_VERBOSITY, else TRANSFORMERS_VERBOSITY (debug | info | warning | error |
  critical) sets the starting level, which is `info` otherwise.
"""

from __future__ import annotations

import logging
import os
import sys

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
    is honoured."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            stream, message = sys.stderr, f"{record.levelname}: {message}"
        else:
            stream = sys.stderr if getattr(record, "stderr", False) else sys.stdout
        try:
            stream.write(message + "\n")
            stream.flush()
        except Exception:  # a closed stream must not end a run
            self.handleError(record)


def main_process_only(record: logging.LogRecord) -> bool:
    return is_main_process()


def starting_level() -> int:
    for variable in ("FTK_VERBOSITY", "TRANSFORMERS_VERBOSITY"):
        name = os.environ.get(variable, "").strip().lower()
        if name in LEVELS:
            return LEVELS[name]
    return logging.INFO


def configure() -> None:
    """The console handler, once; the level from the environment unless a caller set one."""
    if not any(isinstance(h, ConsoleHandler) for h in LOGGER.handlers):
        handler = ConsoleHandler()
        handler.addFilter(main_process_only)
        LOGGER.addHandler(handler)
        LOGGER.propagate = False
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
