"""transformers' LOAD REPORT, held back from the console while a checkpoint loads.

`from_pretrained` logs a table of the tensors it did not load (with colour codes, even into a
log file) as a warning; ftk says the same facts in its own one line (`describe_new_weights`:
what loaded, what starts fresh, what the checkpoint had that the model does not use). The
report is kept rather than dropped: when the load fails, its table is the only place that
names the tensors at fault, so the error carries it (colour codes removed).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

# the logger transformers' from_pretrained hands the report to (utils/loading_report.py)
REPORTING_LOGGER = "transformers.modeling_utils"
COLOUR_CODE = re.compile(r"\x1b\[[0-9;]*m")


class HeldReport(logging.Filter):
    """Drops the LOAD REPORT record and keeps its text; passes every other record the logger
    would have passed at its own level (`passes_from`)."""

    def __init__(self, passes_from: int = logging.NOTSET) -> None:
        super().__init__()
        self.text: str | None = None
        self.passes_from = passes_from

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "LOAD REPORT" not in message:
            return record.levelno >= self.passes_from
        lines = COLOUR_CODE.sub("", message).splitlines()
        self.text = "\n".join(line.rstrip() for line in lines)
        return False


@contextmanager
def held_load_report() -> Iterator[HeldReport]:
    logger = logging.getLogger(REPORTING_LOGGER)
    level, effective = logger.level, logger.getEffectiveLevel()
    # transformers set to errors only (log_level, or a caller's set_verbosity_error) would
    # never create the report: the logger hears warnings while loading, the filter passes on
    # only what its level passed before
    held = HeldReport(passes_from=effective)
    if effective > logging.WARNING:
        logger.setLevel(logging.WARNING)
    logger.addFilter(held)
    try:
        yield held
    finally:
        logger.removeFilter(held)
        logger.setLevel(level)
