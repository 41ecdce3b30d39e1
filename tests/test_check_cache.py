"""The overlap check reads every text of every split; a rerun on the same splits (another
learning rate, output folder) replays its findings from a file beside the data's cache
(data/check_cache.py), and any change to the data, the hold-out or the check's inputs checks
again."""

from __future__ import annotations

import csv
from pathlib import Path

import datasets
import pytest
from helpers import make_texts

from toolkit.core import log
from toolkit.data import overlap
from toolkit.data.check_cache import CACHE_PREFIX

NAMES = ["business", "sport", "tech"]


@pytest.fixture()
def warnings():
    log.reset_warnings()
    yield log.WARNINGS
    log.reset_warnings()


@pytest.fixture()
def counted(monkeypatch):
    """How many times the check really read the data."""
    runs = []
    real = overlap.overlap_findings

    def counting(*args, **kwargs):
        runs.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(overlap, "overlap_findings", counting)
    return runs


def write(path: Path, rows: list[tuple[str, str]]) -> str:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return str(path)


def load(tmp_path: Path, train: str, test: str, seed: int = 0) -> datasets.DatasetDict:
    """Through the datasets cache, as ftk loads files; validation held out with `seed`."""
    files = {"train": train, "test": test}
    raw = datasets.load_dataset("csv", data_files=files, cache_dir=str(tmp_path / "cache"))
    raw = raw.class_encode_column("label")
    parts = raw["train"].train_test_split(test_size=0.2, seed=seed)
    return datasets.DatasetDict(train=parts["train"], validation=parts["test"], test=raw["test"])


def check(splits: datasets.DatasetDict, classes: bool = True) -> None:
    names = splits["train"].features["label"].names
    overlap.warn_about_overlap(splits, ["text"], "label", names, classes=classes)


@pytest.fixture()
def files(tmp_path):
    train = make_texts(30, 1)
    test = [*make_texts(5, 2), train[0], train[1]]  # two test texts seen in training
    return write(tmp_path / "train.csv", train), write(tmp_path / "test.csv", test)


def test_a_rerun_on_the_same_splits_replays_the_findings(tmp_path, files, warnings, counted):
    check(load(tmp_path, *files))
    first = list(warnings)
    assert len(counted) == 1 and any("of the 17 test examples" in w for w in first)
    assert list((tmp_path / "cache").rglob(f"{CACHE_PREFIX}-overlap-*.json"))
    log.reset_warnings()
    check(load(tmp_path, *files))  # a new process would load the same fingerprints
    assert len(counted) == 1, "the same splits were read again"
    assert warnings == first


def test_another_hold_out_or_other_inputs_check_again(tmp_path, files, warnings, counted):
    check(load(tmp_path, *files, seed=0))
    check(load(tmp_path, *files, seed=1))  # other validation rows: another answer
    assert len(counted) == 2
    check(load(tmp_path, *files, seed=1), classes=False)  # a target without classes
    assert len(counted) == 3


def test_a_changed_file_is_checked_again(tmp_path, files, warnings, counted):
    train, test = files
    check(load(tmp_path, train, test))
    write(Path(test), make_texts(5, 2))  # the duplicates are gone
    log.reset_warnings()
    check(load(tmp_path, train, test))
    assert len(counted) == 2
    assert not any("test examples" in w for w in warnings)


def test_in_memory_data_is_checked_every_time(warnings, counted):
    rows = make_texts(10, 1)
    data = datasets.Dataset.from_dict(
        {"text": [t for t, _ in rows], "label": [NAMES.index(label) for _, label in rows]},
        features=datasets.Features(
            text=datasets.Value("string"), label=datasets.ClassLabel(names=NAMES)
        ),
    )
    splits = datasets.DatasetDict(train=data, test=data.select(range(3)))
    check(splits)
    check(splits)
    assert len(counted) == 2 and len(warnings) == 2  # three test texts in training, twice


def test_a_torn_findings_file_is_checked_again(tmp_path, files, warnings, counted):
    check(load(tmp_path, *files))
    for kept in (tmp_path / "cache").rglob(f"{CACHE_PREFIX}-overlap-*.json"):
        kept.write_text('{"findi')
    check(load(tmp_path, *files))
    assert len(counted) == 2
