"""A streamed run's training DataLoader (data.streaming): each process's share of the stream
(data/streaming.py `per_process`), read pass after pass without end.

Why endless: under DDP every optimizer step is a collective (the gradients' all-reduce), and
the processes must make the same steps. The processes' shares of a stream differ in length (by
a row, or by whole files), so with passes that end, a process whose pass ends first skips the
rest of the Trainer's pass (transformers 5.2 trainer.py:2337, StopIteration leaves the steps
empty) and starts the next while the others are still in theirs: its steps then pair batches of
another pass with theirs. With gradient accumulation, a pass of fewer micro-batches than a
step makes no optimizer step at all (its last micro-batch still all-reduces): that process
never reaches max_steps, and the others, done, leave it waiting: a hang (the uneven-shares
test in tests/test_streaming.py hung so). A process whose share is empty stops training alone
(trainer.py:2018, `step < 0` sets should_training_stop) while the others wait in their next
all-reduce. A share that never ends gives the Trainer no pass to end: it stops on
max_steps, on every process at the same step. Each pass is reshuffled (`set_epoch(pass)`: the
shuffle buffer's seed + the pass), the same on every run, so a resumed run reads the same
batches again (`skip_first_batches`), and an empty share is an error at its first batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import datasets
import torch
from accelerate.data_loader import prepare_data_loader
from torch.utils.data import DataLoader

from toolkit.core.errors import UserError


class EndlessPasses(torch.utils.data.IterableDataset):
    """The rows of `stream` (this process's share), pass after pass, reshuffled each pass."""

    def __init__(self, stream: datasets.IterableDataset) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for number in itertools.count():
            self.stream.set_epoch(number)
            read = False
            for row in self.stream:
                read = True
                yield row
            if read:
                continue
            worker = torch.utils.data.get_worker_info()
            if worker is not None and worker.id > 0:
                return  # a DataLoader worker given no file of the stream: the others read it
            raise UserError(
                "This process's share of the training stream (data.streaming) holds no rows: "
                "the training data has fewer rows after the held-out ones than there are "
                "processes (or files than processes). Give more training rows, or train on "
                "fewer processes."
            )


def endless_loader(
    stream: datasets.IterableDataset,
    batch_size: int,
    collate: Any,
    loader_options: dict[str, Any],
    device: torch.device,
    non_blocking: bool,
) -> DataLoader:
    """The DataLoader of this process's endless share, on `device`. accelerate's prepare is
    asked as for one process: the share is already this process's own, and prepare on several
    would cut it again (with dispatch_batches, its default for a stream, the main process
    reads for all; without, `.shard` or IterableDatasetShard split it once more)."""
    loader = DataLoader(
        EndlessPasses(stream), batch_size=batch_size, collate_fn=collate, **loader_options
    )
    return prepare_data_loader(
        loader,
        device,
        num_processes=1,
        process_index=0,
        put_on_device=True,
        dispatch_batches=False,
        non_blocking=non_blocking,
    )
