"""core/columns reads a whole column through Arrow, the split's index mapping applied by Arrow;
its values must be the ones datasets' own row-by-row formatting gives, whatever the split went
through (a shuffle, a select, a hold-out, a concatenation), and images still come decoded."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from PIL import Image

from toolkit.core.columns import column_array, column_values, list_lengths

NAMES = ["a", "b", "c"]


def table(rows: int = 50) -> datasets.Dataset:
    features = datasets.Features(
        text=datasets.Value("string"),
        label=datasets.ClassLabel(names=NAMES),
        score=datasets.Value("float32"),
        words=datasets.List(datasets.Value("string")),
    )
    return datasets.Dataset.from_dict(
        {
            "text": [f"text {i}" if i % 7 else None for i in range(rows)],
            "label": [i % 3 for i in range(rows)],
            "score": [i / 4 for i in range(rows)],
            "words": [["w"] * (i % 5) for i in range(rows)],
        },
        features=features,
    )


def variants() -> dict[str, datasets.Dataset]:
    whole = table()
    held = whole.train_test_split(test_size=0.3, seed=1)
    return {
        "whole": whole,
        "shuffled": whole.shuffle(seed=0),
        "selected": whole.select([40, 3, 3, 17]),
        "held out": held["test"],
        "selected again": held["train"].select(range(5, 20)),
        "concatenated": datasets.concatenate_datasets([held["test"], whole.select([1, 2])]),
        "filtered": whole.filter(lambda row: row["label"] != 1),
    }


@pytest.mark.parametrize("name", list(variants()))
def test_values_are_what_datasets_formats(name):
    dataset = variants()[name]
    for column in ("text", "label", "score", "words"):
        assert column_values(dataset, column) == list(dataset[column][:]), column
    assert column_array(dataset, "label").tolist() == list(dataset["label"][:])
    assert list_lengths(dataset, "words").tolist() == [len(w) for w in dataset["words"][:]]


def test_a_format_set_on_the_dataset_is_not_applied():
    dataset = table().with_format("numpy")
    assert column_values(dataset, "label") == [i % 3 for i in range(50)]
    assert isinstance(column_array(dataset, "label"), np.ndarray)


def test_images_come_decoded():
    images = [Image.new("RGB", (4, 4), (i, 0, 0)) for i in range(3)]
    dataset = datasets.Dataset.from_dict({"image": images}).cast_column("image", datasets.Image())
    read = column_values(dataset.select([2, 0]), "image")
    assert [im.getpixel((0, 0))[0] for im in read] == [2, 0]


def test_a_dict_of_lists_is_read_as_it_is():
    assert column_values({"text": ["x", "y"]}, "text") == ["x", "y"]
