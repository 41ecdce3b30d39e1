"""The packaged Fashion-MNIST set, read from Debian's dataset-fashion-mnist IDX files."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.core.errors import UserError
from toolkit.data import builtin


@pytest.mark.e2e
def test_reads_real_idx_files():
    splits = builtin.load_builtin_dataset("fashion-mnist")
    assert {name: len(ds) for name, ds in splits.items()} == {"train": 60000, "test": 10000}
    names = splits["train"].features["label"].names
    assert names == [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
    first = splits["train"][0]
    assert first["image"].size == (28, 28) and first["image"].mode == "L"
    raw = builtin.read_idx(builtin.FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz")
    assert raw.shape == (60000, 28, 28)
    assert np.array_equal(np.asarray(first["image"]), raw[0]), "PNG storage is lossless"
    assert first["label"] == 9  # the first training image is an ankle boot
    assert np.bincount(splits["test"]["label"]).tolist() == [1000] * 10


def test_missing_files_say_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(builtin, "FASHION_MNIST_DIR", tmp_path)
    with pytest.raises(UserError, match="apt-get install dataset-fashion-mnist"):
        builtin.load_builtin_dataset("fashion-mnist")
