"""The console of a real `ftk train`, compared line by line with a recorded transcript.

The run is the CLI as a user starts it (a child process, its stdout and stderr into one pipe,
so a log file's view: no terminal), on a tiny BERT and tiny data, with the default recipe's
baselines and overfitting watch. What varies from run to run is masked before comparing:
numbers (scores, times), the temporary folder, blank lines (tqdm's moves between bar lines
print them too), and each progress bar, which is kept once, where it is drawn first, as
`[bar] LABEL of TOTAL` (its later redraws depend on timing).
Text written onto a bar's line shows as `!! on a bar: ...`.

To re-record after an intended change of the console: FTK_RECORD_CONSOLE=1 pytest
tests/test_console_transcript.py, then read the diff of tests/console_train.transcript.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_texts, write_csv, write_text_config

pytestmark = pytest.mark.e2e

TRANSCRIPT = Path(__file__).parent / "console_train.transcript"

COLOUR_CODE = re.compile(r"\x1b\[[0-9;]*m")
CURSOR_CODE = re.compile(r"\x1b\[\d*[A-Za-z]")  # tqdm moves up to a nested bar's line
# "Tokenizing train:  40%|####      | 33/81 [00:00<00:01, 42.1 examples/s]" (also a bar
# without a total: "Generating train split: 90 examples [00:00, 219.3 examples/s]")
BAR = re.compile(
    r"^(?:(?P<label>.*?): ?)?\s*(?:\d+%\|[^|]*\| ?(?P<n>\d+)/(?P<total>\d+)|(?P<count>\d+)"
    r"(?:it| \w+)) \[[^\]]*\](?P<rest>.*)$"
)
NUMBER = re.compile(r"(?<![A-Za-z_])\d+(?:[.,]\d+)*(?:e[-+]?\d+)?")  # not f1_macro's 1
# Lines the environment decides, not ftk: transformers sorts checkpoints by number on a file
# system whose modification times it does not trust.
ENVIRONMENT_LINES = ("mtime may not be reliable on this filesystem",)
# Their wording follows the scores, whose last digits differ between CPUs: kept up to the
# finding's name, so a finding added or removed still shows.
RESULT_LEADS = ("  - ", "Verdict:")


def console_of_run(folder: Path, model: Path) -> str:
    data = {
        "train": write_csv(folder / "train.csv", make_texts(30, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(10, seed=2)),
    }
    recipe = write_text_config(
        folder / "recipe.yaml",
        model,
        data,
        folder / "run",
        num_train_epochs="2",  # two evaluations: a bar left open by the first shows in the second
        logging_steps="5",
        bf16="false",  # the same on every CPU (bf16 autocast is chosen by the CPU's features)
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_VERBOSITY")}
    env.update(
        PYTHONUNBUFFERED="1",  # lines reach the pipe in the order they were written
        HF_DATASETS_CACHE=str(folder / "datasets-cache"),  # "Tokenizing" bars every time
        FTK_CACHE=str(folder / "ftk-cache"),
        HF_HUB_OFFLINE="1",
    )
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "train", "--config", str(recipe)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return done.stdout


def masked(console: str, folder: Path) -> list[str]:
    """The console as stable lines: see the module doc."""
    console = console.replace(str(folder), "<tmp>")
    lines: list[str] = []
    for raw in console.split("\n"):
        for segment in CURSOR_CODE.sub("", raw).split("\r"):
            line = segment.rstrip()
            bar = BAR.match(line)
            if bar:
                if int(bar["n"] or bar["count"]) == 0:  # drawn for the first time
                    total = f" of {bar['total']}" if bar["total"] else ""
                    lines.append(f"[bar] {bar['label'] or '(no label)'}{total}")
                if bar["rest"].strip():
                    lines.append(f"!! on a bar: {NUMBER.sub('#', bar['rest'].strip())}")
                continue
            if not line.strip():
                continue  # a bar wiped from its line, or tqdm's moves between bar lines
            if any(text in line for text in ENVIRONMENT_LINES):
                continue
            if line.startswith(RESULT_LEADS):
                line = line.split(":", 1)[0] + ": ..."
            lines.append(NUMBER.sub("#", line))
    return lines


@pytest.fixture(scope="module")
def run_console(tiny_bert, tmp_path_factory) -> tuple[str, Path]:
    """One real run for the module's tests: its console and its folder."""
    folder = tmp_path_factory.mktemp("console")
    return console_of_run(folder, tiny_bert), folder


def test_a_default_run_console_matches_the_transcript(run_console):
    console, folder = run_console
    assert not COLOUR_CODE.search(console), "no colour codes when the output is no terminal"
    lines = masked(console, folder)
    text = "\n".join(lines) + "\n"
    if os.environ.get("FTK_RECORD_CONSOLE"):
        TRANSCRIPT.write_text(text)
        pytest.skip(f"recorded {TRANSCRIPT.name}")
    assert TRANSCRIPT.is_file(), f"no {TRANSCRIPT.name}: record it with FTK_RECORD_CONSOLE=1"
    assert text == TRANSCRIPT.read_text(), (
        "the console changed; if on purpose, re-record with FTK_RECORD_CONSOLE=1 and read the diff"
    )


def test_each_fact_once_and_no_bar_left_behind(run_console):
    """Said directly: the watch's sample has its own label, the load report is ftk's one line,
    and no bar counts past its total (a bar left open, counted on)."""
    console, _ = run_console
    assert "Tokenizing training sample" in console
    assert "LOAD REPORT" not in console
    assert console.count("tensors from the checkpoint") == 1
    counts = [m.groups() for m in re.finditer(r"\| ?(\d+)/(\d+) \[", console)]
    assert all(int(n) <= int(total) for n, total in counts)
    # a bar of known length drawn without it: the watch's bar of 2, counted on to "3it"
    assert not re.search(r"(?:^|[\r\n])\d+it \[", console), "a bar counted past its end"
