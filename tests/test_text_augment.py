"""Text augmentation: every operation, the policies, reproducibility, protection, WordNet offline,
the lazy train transform, bad input, and the `ftk augment` preview."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import write_text_config

from toolkit.augment.text import TextAugmenter, example_seed
from toolkit.cli import main
from toolkit.config.load import load_config
from toolkit.config.schema import AugmentConfig
from toolkit.config.text_policy import OPERATIONS, Step, TextPolicy, text_policy

TEXT = (
    "The market rallied on Tuesday as shares in the bank rose sharply. Investors cheered "
    "strong profit growth at the company. Chelsea won the match against Arsenal in London. "
    "Analysts said sales would increase again next year."
)


@pytest.fixture(scope="session", autouse=True)
def wordnet_cache(tmp_path_factory):
    """A private toolkit cache: the synonym tests build their nltk WordNet folder in it from
    the Debian files (nltk itself has no WordNet data on the test machines)."""
    import os

    cache = tmp_path_factory.mktemp("ftk-cache")
    old = os.environ.get("FTK_CACHE")
    os.environ["FTK_CACHE"] = str(cache)  # inherited by the CLI subprocesses too
    yield cache
    if old is None:
        os.environ.pop("FTK_CACHE", None)
    else:
        os.environ["FTK_CACHE"] = old


def single(name: str, strength: float | None = 0.3, protected=()) -> TextAugmenter:
    return TextAugmenter(
        TextPolicy((Step(name, strength, 1.0),), "sequence", tuple(protected)),
        seed=7,
        max_words=256,
    ).load()


def variants(augmenter: TextAugmenter, text: str, count: int, epoch: int = 0) -> list[str]:
    return augmenter.augment_batch([text] * count, list(range(count)), epoch)


# ----------------------------------------------------------------------------- operations


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_each_operation_changes_text_and_never_empties_it(name):
    augmenter = single(name)
    outs = variants(augmenter, TEXT, 10)
    assert sum(o != TEXT for o in outs) >= 5, outs
    assert all(o and o.strip() for o in outs)
    # Tiny inputs, at full strength: an empty result is replaced by the input.
    strong = single(name, strength=1.0)
    for tiny in ("Goal.", "Shares rose", "a", "Win!"):
        assert all(o and o.strip() for o in variants(strong, tiny, 5))


def test_an_empty_result_falls_back_to_the_original():
    # Deleting every word of a one-word text would leave nothing: the word stays.
    assert variants(single("word_delete", 1.0), "Shares", 3) == ["Shares"] * 3
    assert variants(single("char_delete", 1.0), "ab", 3) == ["ab"] * 3


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_protected_words_are_never_changed(name):
    augmenter = single(name, strength=0.6, protected=["Chelsea", "profit"])
    outs = variants(augmenter, TEXT, 25)
    assert sum(o != TEXT for o in outs) >= 5  # protection did not switch augmentation off
    for out in outs:
        assert re.findall(r"\bChelsea\b", out) == ["Chelsea"], out
        assert re.findall(r"\bprofit\b", out) == ["profit"], out


def test_synonym_replaces_words_with_wordnet_synonyms_and_skips_function_words():
    from toolkit.augment.synonyms import FUNCTION_WORDS, synonyms
    from toolkit.augment.wordnet import load_wordnet

    outs = variants(single("synonym", 0.3), TEXT, 10)
    wordnet = load_wordnet()
    original = TEXT.split()
    replaced = 0
    for out in outs:
        for word in original:
            if word.lower() in FUNCTION_WORDS:
                assert word in out.split() or word.capitalize() in out or word.lower() in out
        if out != TEXT:
            replaced += 1
    assert replaced == 10
    assert "marketplace" in synonyms(wordnet, "market")


# ----------------------------------------------------------------------------- policies


def test_trivial_picks_every_operation_and_strengths_across_the_range(monkeypatch):
    seen: dict[str, list[float]] = {}
    policy = text_policy(AugmentConfig(text="trivial"))
    assert policy.mode == "one_of" and policy.names == list(OPERATIONS)
    augmenter = TextAugmenter(policy, seed=0)

    def record(step, text, rng):
        op = OPERATIONS[step.name]
        seen.setdefault(step.name, []).append(rng.uniform(op.low, op.high))
        return text

    monkeypatch.setattr(augmenter, "apply", record)
    augmenter.augment_batch(["some text"] * 1300, list(range(1300)), epoch=0)
    assert set(seen) == set(OPERATIONS)
    counts = [len(v) for v in seen.values()]
    assert min(counts) > 60 and max(counts) < 140  # uniform: 100 each expected
    for name, strengths in seen.items():
        op = OPERATIONS[name]
        assert op.low <= min(strengths) < op.low + 0.25 * (op.high - op.low)
        assert op.high - 0.25 * (op.high - op.low) < max(strengths) <= op.high


def test_true_means_trivial_and_list_items_parse():
    assert text_policy(AugmentConfig(text=True)).names == list(OPERATIONS)
    assert text_policy(AugmentConfig(text=None)) is None
    assert text_policy(AugmentConfig(text=False)) is None
    policy = text_policy(
        AugmentConfig(
            text=["keyboard", {"name": "synonym", "strength": 0.2, "p": 0.5}], text_mode="one_of"
        )
    )
    assert policy.steps == (Step("keyboard", None, 1.0), Step("synonym", 0.2, 0.5))
    assert policy.mode == "one_of"


def test_sequence_applies_every_step_with_its_probability(monkeypatch):
    calls = []
    policy = text_policy(
        AugmentConfig(text=[{"name": "keyboard", "p": 1.0}, {"name": "word_swap", "p": 0.25}])
    )
    augmenter = TextAugmenter(policy, seed=3)
    monkeypatch.setattr(augmenter, "apply", lambda step, text, rng: calls.append(step.name) or text)
    augmenter.augment_batch(["x y"] * 400, list(range(400)), epoch=0)
    assert calls.count("keyboard") == 400
    assert 70 < calls.count("word_swap") < 130


def test_same_seed_same_texts_new_epoch_new_texts_and_global_rngs_untouched():
    policy = text_policy(AugmentConfig(text="trivial"))
    first = TextAugmenter(policy, seed=11).load()
    second = TextAugmenter(policy, seed=11).load()
    random.seed(5)
    np.random.seed(5)
    expected = random.random(), np.random.random()
    random.seed(5)
    np.random.seed(5)
    a = first.augment_batch([TEXT] * 12, list(range(12)), epoch=0)
    assert (random.random(), np.random.random()) == expected  # nlpaug's draws were restored
    assert a == second.augment_batch([TEXT] * 12, list(range(12)), epoch=0)
    # Order and batching do not matter: a row's variant depends on (seed, epoch, index) only.
    assert a[::-1] == second.augment_batch([TEXT] * 12, list(range(11, -1, -1)), epoch=0)
    b = first.augment_batch([TEXT] * 12, list(range(12)), epoch=1)
    assert sum(x != y for x, y in zip(a, b, strict=False)) >= 10
    other = TextAugmenter(policy, seed=12).augment_batch([TEXT] * 12, list(range(12)), epoch=0)
    assert other != a
    assert example_seed(1, 0, 5) != example_seed(1, 1, 5) != example_seed(2, 0, 5)


def test_max_words_caps_long_texts_before_augmenting():
    augmenter = single("char_swap", 0.1)
    augmenter.max_words = 5
    out = augmenter.augment_batch(["one two three four five six seven"], [0], 0)[0]
    assert len(out.split()) == 5


# ----------------------------------------------------------------------------- WordNet


def test_nltk_wordnet_folder_built_from_debian_files(tmp_path, monkeypatch):
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    from toolkit.augment.wordnet import DEBIAN_WORDNET, build_nltk_folder, lexnames_text

    lines = lexnames_text().splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3" and lines[18] == "18\tnoun.person\t1"
    assert lines[44] == "44\tadj.ppl\t3" and lines[43] == "43\tverb.weather\t2"
    folder = build_nltk_folder(DEBIAN_WORDNET, tmp_path / "nltk_data")
    assert folder == tmp_path / "nltk_data" / "corpora" / "wordnet"
    # nltk reads corpora only below a folder on its data path (as ensure_wordnet arranges).
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "nltk_data"), *nltk.data.path])
    reader = WordNetCorpusReader(str(folder), None)
    dog = reader.synsets("dog")[0]
    assert dog.lexname() == "noun.animal"
    assert "domestic_dog" in [lemma.name() for lemma in dog.lemmas()]
    assert reader.synsets("ran")[0].lexname().startswith("verb.")  # exception lists work
    assert build_nltk_folder(DEBIAN_WORDNET, tmp_path / "nltk_data") == folder  # reused


def test_no_wordnet_anywhere_says_how_to_install(tmp_path, monkeypatch):
    from toolkit.augment import wordnet
    from toolkit.core.errors import UserError

    monkeypatch.setattr(wordnet, "nltk_has_wordnet", lambda: False)
    monkeypatch.setattr(wordnet, "DEBIAN_WORDNET", tmp_path / "nothing-here")
    with pytest.raises(UserError) as error:
        wordnet.ensure_wordnet(cache=tmp_path)
    message = str(error.value)
    assert "apt-get install wordnet-base wordnet-sense-index" in message
    assert "nltk.download('wordnet')" in message and "nothing-here" in message


# ----------------------------------------------------------------------------- the transform


@pytest.fixture()
def prepared(tiny_bert, text_data, tmp_path):
    from toolkit.data.load import load_data
    from toolkit.tasks import text_classification as task

    config = load_config(
        write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run"),
        ["--augment.text", "[word_swap, word_delete, keyboard]", "--augment.text_mode", "one_of"],
    )
    data = load_data(config.data, task.input_columns(config), seed=42)
    tokenizer = task.load_processor(config)
    return task.prepare(data.splits, tokenizer, config), data, tokenizer


def test_train_transform_differs_across_epochs_while_eval_is_identical(prepared):
    from toolkit.augment.epoch import epoch_aware_transform

    splits, data, tokenizer = prepared
    train = splits["train"]
    transform = epoch_aware_transform(train)
    assert transform is not None and epoch_aware_transform(splits["validation"]) is None
    first = train[:16]
    assert set(first) == {"input_ids", "token_type_ids", "attention_mask", "labels"}
    assert first["input_ids"] == train[:16]["input_ids"]  # same epoch: same variants
    assert first["labels"] == data.splits["train"][:16]["label"]
    transform.set_epoch(1)
    second = train[:16]
    assert sum(a != b for a, b in zip(first["input_ids"], second["input_ids"], strict=False)) >= 8
    plain = tokenizer(data.splits["train"][:16]["text"], truncation=True, max_length=32)
    assert sum(a != b for a, b in zip(first["input_ids"], plain["input_ids"], strict=False)) >= 8
    # Validation and test were tokenized once, never augmented.
    for split in ("validation", "test"):
        expected = tokenizer(data.splits[split][:]["text"], truncation=True, max_length=32)
        assert splits[split][:]["input_ids"] == expected["input_ids"]


def test_augmented_split_survives_copies_and_pickling(prepared):
    import copy
    import pickle

    from toolkit.augment.epoch import epoch_aware_transform

    train = prepared[0]["train"]
    expected = train[:4]["input_ids"]
    assert copy.deepcopy(train)[:4]["input_ids"] == expected
    augmenter = epoch_aware_transform(train).augmenter
    assert augmenter.augmenters  # built ...
    clone = pickle.loads(pickle.dumps(augmenter))
    assert clone.augmenters == {}  # ... and rebuilt lazily in the copy
    assert clone.augment_batch([TEXT], [3], 0) == augmenter.augment_batch([TEXT], [3], 0)
    assert train.with_format(None)[:2]["text"] == prepared[1].splits["train"][:2]["text"]


def test_collator_pads_augmented_batches(prepared):
    from toolkit.config.schema import RunConfig
    from toolkit.tasks import text_classification as task

    splits, _, tokenizer = prepared
    rows = [splits["train"][i] for i in range(8)]
    batch = task.collator(tokenizer, RunConfig())(rows)
    assert batch["input_ids"].shape[0] == 8 and batch["input_ids"].shape[1] % 8 == 0
    assert batch["labels"].tolist() == [r["labels"] for r in rows]


def test_epoch_callback_sets_the_epoch():
    from toolkit.augment.epoch import TransformEpochCallback

    transform = SimpleNamespace(epoch=None, set_epoch=lambda e: setattr(transform, "epoch", e))
    callback = TransformEpochCallback(transform)
    for value, expected in ((0.0, 0), (None, 0), (1.0000000001, 1), (2.0, 2)):
        callback.on_epoch_begin(None, SimpleNamespace(epoch=value), None)
        assert transform.epoch == expected


@pytest.mark.e2e
def test_training_with_augmentation_sees_new_variants_each_epoch(
    tiny_bert, text_data, tmp_path, monkeypatch
):
    from toolkit.augment.text import AugmentThenTokenize

    epochs_seen = []
    original_call = AugmentThenTokenize.__call__

    def spy(self, batch):
        epochs_seen.append(self.epoch)
        return original_call(self, batch)

    monkeypatch.setattr(AugmentThenTokenize, "__call__", spy)
    config = write_text_config(
        tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run", num_train_epochs=2
    )
    assert (
        main(
            [
                "train",
                "--config",
                str(config),
                "--augment.text",
                "trivial",
                "--early_stopping.patience",
                "null",
            ]
        )
        == 0
    )
    assert sorted(set(epochs_seen)) == [0, 1]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0 <= metrics["test_accuracy"] <= 1
    saved = (tmp_path / "run" / "run_config.yaml").read_text()
    assert "text: trivial" in saved


# ----------------------------------------------------------------------------- bad input


def bad(args, capsys) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.e2e
def test_unknown_augmenter_lists_valid_ones(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("augment: {text: [keybord]}\n")
    err = bad(["train", "--config", str(tmp_path / "c.yaml"), "--print-config"], capsys)
    assert "keybord" in err and "Did you mean 'keyboard'" in err
    assert all(name in err for name in OPERATIONS)


@pytest.mark.e2e
def test_strength_out_of_range(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("augment: {text: [{name: word_delete, strength: 1.5}]}\n")
    err = bad(["train", "--config", str(tmp_path / "c.yaml"), "--print-config"], capsys)
    assert "augment.text[0].strength" in err and "1.5" in err and "(0, 1]" in err


@pytest.mark.e2e
def test_probability_and_mode_out_of_range(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("augment: {text: [{name: ocr, p: 2}]}\n")
    assert "augment.text[0].p" in bad(["train", "--config", str(tmp_path / "c.yaml")], capsys)
    err = bad(
        [
            "train",
            "--config",
            str(tmp_path / "c.yaml"),
            "--augment.text",
            "trivial",
            "--augment.text_mode",
            "oneof",
        ],
        capsys,
    )
    assert "augment.text_mode" in err and "one_of" in err


@pytest.mark.e2e
def test_remove_unused_columns_true_conflicts_with_augmentation(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("augment: {text: trivial}\nremove_unused_columns: true\n")
    err = bad(["train", "--config", str(tmp_path / "c.yaml")], capsys)
    assert "remove_unused_columns: false" in err


@pytest.mark.e2e
def test_persistent_workers_conflict_with_augmentation(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text(
        "augment: {text: trivial}\ndataloader_persistent_workers: true\n"
    )
    err = bad(["train", "--config", str(tmp_path / "c.yaml")], capsys)
    assert "dataloader_persistent_workers" in err and "set it to false" in err


@pytest.mark.e2e
def test_synonym_without_wordnet_exits_2_with_install_hint(
    tiny_bert, text_data, tmp_path, capsys, monkeypatch
):
    from toolkit.augment import wordnet

    monkeypatch.setattr(wordnet, "nltk_has_wordnet", lambda: False)
    monkeypatch.setattr(wordnet, "DEBIAN_WORDNET", tmp_path / "no-wordnet")
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    err = bad(["train", "--config", str(config), "--augment.text", "[synonym]"], capsys)
    assert "apt-get install wordnet-base wordnet-sense-index" in err
    assert not (tmp_path / "run" / "metrics.json").exists()


# ----------------------------------------------------------------------------- ftk augment


@pytest.mark.e2e
def test_ftk_augment_prints_originals_and_marked_variants(tiny_bert, text_data, tmp_path):
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    args = [
        sys.executable,
        "-m",
        "toolkit",
        "augment",
        "--config",
        str(config),
        "--n",
        "4",
        "--k",
        "2",
        "--augment.text",
        "[{name: word_delete, strength: 0.3}, {name: keyboard, strength: 0.3}]",
    ]
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("  original ") == 4
    assert out.count("  variant 1 ") == 4 and out.count("  variant 2 ") == 4
    assert out.count("label: ") == 4
    assert out.count("[[-") >= 4  # deletions
    variant_lines = [line for line in out.splitlines() if "variant" in line]
    assert all("[[" in line for line in variant_lines)
    again = subprocess.run(args, capture_output=True, text=True)
    assert again.stdout == out  # seeded: the same preview every time


@pytest.mark.e2e
def test_ftk_augment_without_augmentation_says_how_to_switch_it_on(
    tiny_bert, text_data, tmp_path, capsys
):
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    err = bad(["augment", "--config", str(config)], capsys)
    assert "--augment.text trivial" in err


def test_mark_changes_marks_substitutions_insertions_and_deletions():
    from toolkit.augment.preview import mark_changes

    assert mark_changes("a b c d", "a x c d") == "a [[x]] c d"
    assert mark_changes("a b c d", "a c d") == "a [[-b]] c d"
    assert mark_changes("a b c", "a b y c") == "a b [[y]] c"
    assert mark_changes("same text", "same text") == "same text"


def test_image_grid_png_has_expected_size(tmp_path):
    import torch
    from PIL import Image
    from torchvision.transforms import v2

    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (40, 32, 3), dtype=np.uint8)) for _ in range(3)]
    transform = v2.Compose(
        [
            v2.TrivialAugmentWide(),
            v2.PILToTensor(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize([0.5] * 3, [0.5] * 3),
        ]
    )
    from toolkit.augment.preview import image_grid

    path = image_grid(images, transform, k=4, path=tmp_path / "grid.png", cell=50, pad=2)
    with Image.open(path) as grid:
        assert grid.size == (5 * 52 + 2, 3 * 52 + 2)
        pixels = np.asarray(grid.convert("RGB"))
    first_row = [pixels[2:52, 2 + c * 52 : 52 + c * 52] for c in range(5)]
    assert any(not np.array_equal(first_row[0], tile) for tile in first_row[1:])
    again = image_grid(images, transform, k=4, path=tmp_path / "again.png", cell=50, pad=2)
    with Image.open(again) as other:
        assert np.array_equal(np.asarray(other.convert("RGB")), pixels)  # seeded


@pytest.mark.e2e
@pytest.mark.slow
def test_overhead_benchmark_runs_in_tiny_mode(tmp_path):
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "text_augment_overhead.py"
    result = subprocess.run(
        [sys.executable, str(script), "--tiny", "--output", str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report["texts_per_s"]) == set(OPERATIONS) | {"trivial"}
    assert all(v > 0 for v in report["texts_per_s"].values())
    assert [r["augment"] for r in report["training_runs"]] == [False, True]
    assert report["ratio_on_off"] == report["steps_per_s_on"] / report["steps_per_s_off"]


@pytest.mark.e2e
def test_ftk_augment_on_an_image_config_draws_the_real_train_transform(tmp_path, tiny_vit, capsys):
    from helpers import make_image_folder, write_image_config
    from PIL import Image

    from toolkit.cli import main

    folder = make_image_folder(tmp_path / "shapes", n_per_class=4, seed=0, size=16)
    config = write_image_config(
        tmp_path / "c.yaml",
        f"{{name_or_path: '{tiny_vit}'}}",
        f"{{train_dir: '{folder}'}}",
        tmp_path / "run",
    )
    grid = tmp_path / "grid.png"
    assert (
        main(
            [
                "augment",
                "--config",
                str(config),
                "--n",
                "3",
                "--k",
                "4",
                "--output",
                str(grid),
                "--augment.image",
                "trivial",
            ]
        )
        == 0
    )
    assert str(grid) in capsys.readouterr().out
    assert Image.open(grid).size == ((4 + 1) * (96 + 2) + 2, 3 * (96 + 2) + 2)
