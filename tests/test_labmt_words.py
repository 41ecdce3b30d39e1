"""benchmarks/labmt_words.py and hand_baselines.py's regression mode on a hand-made labMT file:
the splits hold every word once, and the baselines' figures match numpy's arithmetic."""

from __future__ import annotations

import csv
import io
import json
import tarfile

import numpy as np
import pytest
from helpers import load_benchmark


def fake_sdist(folder, words):
    lines = ["word\trank\thapps\tstddev\ttwitter_rank\tgbooks_rank\tnyt_rank\tlyrics_rank"]
    lines += [
        f"{w}\t{i + 1}\t{h:.2f}\t{s:.4f}\t--\t--\t--\t--" for i, (w, h, s) in enumerate(words)
    ]
    data = ("\n".join(lines) + "\n").encode()
    sdist = folder / "labMTsimple-2.8.8.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        info = tarfile.TarInfo(load_benchmark("labmt_words").MEMBER)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return sdist


@pytest.fixture
def labmt(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    stems = ["happ", "sad", "joy", "grim", "glad", "gloom", "kind", "cruel", "calm", "rage"]
    words = [
        (f"{stem}{suffix}", float(rng.uniform(1, 9)), float(rng.uniform(0.5, 2)))
        for stem in stems
        for suffix in ("", "s", "ly", "ness", "ful")
    ]
    sdist = fake_sdist(tmp_path, words)
    monkeypatch.setattr("sys.argv", ["labmt_words.py", str(sdist), str(tmp_path / "out")])
    load_benchmark("labmt_words").main()
    return tmp_path / "out", words


def read(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_splits_hold_every_word_once_with_its_rating(labmt):
    out, words = labmt
    splits = {s: read(out / f"{s}.csv") for s in ("train", "validation", "test")}
    assert [len(rows) for rows in splits.values()] == [35, 5, 10]  # 70 / 10 / 20%
    seen = {r["text"]: r for rows in splits.values() for r in rows}
    assert len(seen) == len(words)
    for word, happiness, std in words:
        assert float(seen[word]["happiness"]) == pytest.approx(round(happiness, 2))
        assert float(seen[word]["happiness_std"]) == pytest.approx(round(std, 4))


def test_regression_baselines_score_as_numpy_does(labmt, tmp_path):
    out, _ = labmt
    train, test = read(out / "train.csv"), read(out / "test.csv")
    y_train = np.array([float(r["happiness"]) for r in train])
    y_test = np.array([float(r["happiness"]) for r in test])
    run = tmp_path / "run"
    run.mkdir()
    predicted = y_test + np.linspace(-1, 1, len(y_test))
    saved = {"true": y_test.tolist(), "predicted": predicted.tolist()}
    (run / "metrics.json").write_text(json.dumps({"test_predictions": saved}))

    result = load_benchmark("hand_baselines").regression(
        out, "text", "happiness", None, None, raters=50, run=run
    )

    mean = result["training_mean"]
    assert mean["value"] == pytest.approx(y_train.mean())
    assert mean["test"]["rmse"] == pytest.approx(np.sqrt(np.mean((y_test - y_train.mean()) ** 2)))
    assert mean["test"]["pearson"] == 0.0
    ridge = result["tfidf_ridge"]
    by_alpha = ridge["validation_rmse_by_alpha"]
    assert str(ridge["alpha"]) == min(by_alpha, key=by_alpha.get)  # chosen on validation
    stds = np.array([float(r["happiness_std"]) for r in test])
    assert result["rater_noise_rmse_test"] == pytest.approx(np.sqrt(np.mean(stds**2) / 50))
    assert result["run"]["test"]["rmse"] == pytest.approx(
        np.sqrt(np.mean((predicted - y_test) ** 2))
    )
    assert result["run"]["test_predictions"]["std"] == pytest.approx(predicted.std())


def test_a_run_on_other_test_rows_is_refused(labmt, tmp_path):
    out, _ = labmt
    run = tmp_path / "run"
    run.mkdir()
    saved = {"true": [1.0, 2.0], "predicted": [1.0, 2.0]}
    (run / "metrics.json").write_text(json.dumps({"test_predictions": saved}))
    with pytest.raises(SystemExit, match=r"its test targets are not .*test\.csv's"):
        load_benchmark("hand_baselines").regression(
            out, "text", "happiness", None, None, raters=None, run=run
        )
