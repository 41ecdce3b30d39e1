"""What `data.streaming: true` cannot do, refused in one place before anything is read, and
the evaluation cadence a streamed run gets (epochs do not exist when the data has no length).

Each refusal names the key (or command) and what to do instead; nothing is skipped silently.
`streaming_refusal` is asked by config/validate.py (every command that builds a config),
`refuse_streamed` by the commands that cannot work on a stream at all (`ftk search`, and the
commands that read the training split whole) and by `--resume` on another number of processes.
A `--resume` on the same number continues exactly: the Trainer reads the stream again and skips
the batches trained (transformers' `skip_first_batches`; the shuffle is seeded, and each
process's share repeats in the same passes: training/stream_passes.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from toolkit.config.derive import steps_cadence
from toolkit.config.schema import RunConfig
from toolkit.core.errors import UserError
from toolkit.core.log import say

TURN_OFF = "or set data.streaming: false to read the data whole"
# the evaluations (and checkpoints) a streamed run makes when eval_steps is not set
EVALUATIONS_PER_RUN = 10


def streaming_refusal(config: RunConfig) -> str | None:
    """Why this config cannot run streamed (None: it can, or streaming is off)."""
    data = config.data
    if not data.streaming:
        return None
    kind = config.kind
    text_only = kind.modality.reads_images or kind.modality.per_word
    if text_only or not (kind.target.single_class or kind.target.numeric):
        return (
            f"data.streaming: true is for text classification (single texts or pairs) and "
            f"text regression; task '{config.task}' needs its training data whole (images, "
            f"tags, label sets and pre-training are not streamed). Set data.streaming: false."
        )
    if data.builtin:
        return (
            f"data.streaming: true streams a large file or Hub set; data.builtin "
            f"'{data.builtin}' is a small packaged set that loads whole. Leave "
            f"data.streaming out."
        )
    if not (data.train_file or data.hub_id):
        return "data.streaming: true needs data.train_file or data.hub_id to stream from."
    if data.train_file and Path(data.train_file).suffix.lower() == ".json":
        return (
            f"data.streaming: true reads a JSON file whole ('{data.train_file}' is one JSON "
            f"document); save it as JSON Lines (.jsonl, one object per line), CSV or "
            f"Parquet, {TURN_OFF}."
        )
    if int(config.training.get("max_steps", -1)) <= 0:
        source = f"--config {config.source}" if config.source else "--config X"
        return (
            f"data.streaming: true reads the training data as a stream, which has no length, "
            f"so the run's length must be given in optimizer steps: ftk train {source} "
            f"--data.streaming true --max_steps N (e.g. --max_steps 10000; each step reads "
            f"per_device_train_batch_size x processes x gradient_accumulation_steps rows)."
        )
    for key, value, fix in (
        ("data.max_train_samples", data.max_train_samples, "--max_steps sets how much is read"),
        ("schedule.warmup_epochs", config.schedule.warmup_epochs, "use warmup_steps"),
        ("augment.text", config.augment.text, "leave augment.text out"),
    ):
        if value:
            return (
                f"{key} does not apply to a streamed training split (data.streaming: true): "
                f"a stream has no size or epochs to take a share of; {fix}, {TURN_OFF}."
            )
    return None


def refuse_streamed(config: RunConfig, what: str, why: str) -> None:
    """A UserError when `config` streams and `what` (a command or option) cannot: `why`."""
    if config.data.streaming:
        raise UserError(f"{what} does not work with data.streaming: true: {why}")


def streamed_config(config: RunConfig) -> RunConfig:
    """The settings a streamed run needs, chosen and said; the config returned carries them,
    so run_config.yaml records them: the evaluation cadence (`with_stream_cadence`). Under
    `accelerate launch` nothing more: each process reads its own share of the stream
    (data/streaming.py `per_process`), batches padded by each process alone."""
    if not config.data.streaming:
        return config
    return with_stream_cadence(config)


def with_stream_cadence(config: RunConfig) -> RunConfig:
    """A streamed run evaluates and saves every N steps (epochs do not exist without a length):
    eval_steps when set, else max_steps / EVALUATIONS_PER_RUN rounded (at least 1); said."""
    training = config.training
    if "epoch" not in (training.get("eval_strategy"), training.get("save_strategy")):
        return config
    max_steps = int(training["max_steps"])
    every = int(training.get("eval_steps") or max(1, round(max_steps / EVALUATIONS_PER_RUN)))
    chosen = {**training, **steps_cadence(every)}
    say(
        f"Streaming: evaluating and saving every {every:,} steps of {max_steps:,} "
        f"(eval_steps; a stream has no epochs); early stopping and the best model count "
        f"these evaluations. Set --eval_steps to choose."
    )
    return dataclasses.replace(config, training=chosen)


# What `refuse_streamed` says for each command or option that cannot work on a stream.
SEARCH_ON_A_STREAM = (
    "its trials (and search.folds' k-fold cross-validation) each read and split the "
    "training data again, and k-fold needs every row in memory to pool and fold. Search on a "
    "sample of the data (a smaller file) without data.streaming, then train the chosen values "
    "streamed with `ftk train --config RUN/run_config.yaml --data.train_file BIG "
    "--data.streaming true --max_steps N`."
)


def resume_stream_elsewhere(saved_processes: int, processes: int) -> str:
    """Why a streamed run resumes only on the number of processes that trained it."""
    return (
        f"each process reads its own share of the stream (its rows or files), so on "
        f"{processes} process{'es' if processes != 1 else ''} instead of {saved_processes} "
        f"the shares, and the rows of each batch, would not be those the stopped run trained "
        f"on: the resumed run would not continue where it stopped. Resume on "
        f"{saved_processes} process{'es' if saved_processes != 1 else ''} as it started, or "
        f"start again with --overwrite."
    )
