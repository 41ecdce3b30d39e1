"""Tag schemes recognised, not assumed: a tag set is an entity scheme (IOB1, IOB2, IOBES, BILOU)
only when every tag but O is a known prefix and a type and the prefixes form that scheme, else
plain tags (POS), scored per word; a scheme named in data.tag_scheme must fit the tags; the
scores, counts and reports of each are what its tags mean."""

from __future__ import annotations

import json
import typing
import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score
from transformers import EvalPrediction

from toolkit.config.load import load_config
from toolkit.config.schema import DataConfig, RunConfig
from toolkit.config.taxonomy import BILOU, IOB1, IOB2, IOBES, PLAIN, TAG_SCHEMES, TagScheme
from toolkit.core.errors import UserError
from toolkit.data.tag_schemes import detect_scheme, resolve_scheme
from toolkit.data.tagged import load_tagged
from toolkit.metrics.entities import IGNORED
from toolkit.tasks import get_task
from toolkit.tasks.targets import TAGS, Tags

# Penn Treebank's tags: UH and PRP$ would read as U-/P- and a type, -LRB- and `.` have no type
PENN = [
    *["CC", "CD", "DT", "EX", "FW", "IN", "JJ", "JJR", "JJS", "LS", "MD", "NN", "NNS", "NNP"],
    *["NNPS", "PDT", "POS", "PRP", "PRP$", "RB", "RBR", "RBS", "RP", "SYM", "TO", "UH", "VB"],
    *["VBD", "VBG", "VBN", "VBP", "VBZ", "WDT", "WP", "WP$", "WRB"],
    *[".", ",", ":", "``", "''", "$", "#", "-LRB-", "-RRB-", "-NONE-"],
]
IOB2_ROWS = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
IOB1_ROWS = [["I-PER", "I-PER", "O", "I-LOC"], ["I-PER", "B-PER", "O"]]
IOBES_ROWS = [["B-PER", "E-PER", "O", "S-LOC"], ["B-ORG", "I-ORG", "E-ORG"]]
BILOU_ROWS = [["B-PER", "L-PER", "O", "U-LOC"], ["B-ORG", "I-ORG", "L-ORG"]]


def names_of(rows):
    return sorted({tag for row in rows for tag in row})


@pytest.mark.parametrize(
    ("rows", "scheme"),
    [
        ([PENN], PLAIN),
        (IOB2_ROWS, IOB2),
        (IOB1_ROWS, IOB1),
        (IOBES_ROWS, IOBES),
        (BILOU_ROWS, BILOU),
        ([["B-PER", "E-PER", "U-LOC"]], PLAIN),  # IOBES's E- with BILOU's U-: no one scheme
        ([["B-PER", "O", "NN"]], PLAIN),  # one tag without a prefix: plain tags
        ([["B-", "I-", "O"]], PLAIN),  # a prefix without a type
    ],
)
def test_each_scheme_is_detected_from_its_tags(rows, scheme):
    assert detect_scheme(names_of(rows), rows) is scheme


def test_penn_tags_are_plain_even_one_by_one():
    """No single Penn tag is read as an entity tag beside O (UH is no U- tag, PRP$ no P-)."""
    for tag in PENN:
        assert detect_scheme(["O", tag]) is PLAIN, tag


def test_b_and_i_tags_without_their_sentences_read_as_iob2():
    assert detect_scheme(["O", "B-PER", "I-PER"]) is IOB2


def test_a_named_scheme_must_fit_the_tags():
    with pytest.raises(UserError) as told:
        resolve_scheme("iob2", ["O", "B-PER", "UH", "PRP$"], [], "train split")
    message = str(told.value)
    assert "data.tag_scheme is iob2" in message and "UH, PRP$" in message
    assert "read as plain tags" in message
    with pytest.raises(UserError, match="S-LOC"):
        resolve_scheme("iob1", names_of(IOBES_ROWS), IOBES_ROWS, "train split")
    # a scheme that allows every prefix used is taken as named; plain reads any tag set
    assert resolve_scheme("iobes", names_of(IOB2_ROWS), IOB2_ROWS, "x") is IOBES
    assert resolve_scheme("plain", names_of(IOB2_ROWS), IOB2_ROWS, "x") is PLAIN
    assert resolve_scheme("auto", PENN, [PENN], "x") is PLAIN


def test_the_config_key_names_every_scheme():
    hint = typing.get_type_hints(DataConfig)["tag_scheme"]
    choices = [c for arg in typing.get_args(hint) for c in typing.get_args(arg)]
    assert choices == ["auto", *TAG_SCHEMES]


def write_jsonl(path, tag_rows):
    """Each word spelt after its tag, so the tag is the word's own."""
    rows = [{"tokens": [f"word-{t}" for t in tags], "ner_tags": tags} for tags in tag_rows]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def test_loaded_tags_carry_their_scheme_and_say_it(tmp_path):
    train = write_jsonl(tmp_path / "pos.jsonl", [["DT", "NN", "VBD", "UH", "."]] * 20)
    loaded = load_tagged(DataConfig(train_file=train), seed=0)
    assert loaded.tag_scheme is PLAIN
    assert "plain tags, one label per word" in loaded.describe()
    train = write_jsonl(tmp_path / "ner.jsonl", IOB2_ROWS * 10)
    loaded = load_tagged(DataConfig(train_file=train), seed=0)
    assert loaded.tag_scheme is IOB2 and "IOB2 entity tags" in loaded.describe()
    forced = load_tagged(DataConfig(train_file=train, tag_scheme="plain"), seed=0)
    assert forced.tag_scheme is PLAIN


def test_label_all_tokens_is_refused_where_a_word_cannot_pass_its_tag_on(tmp_path):
    train = write_jsonl(tmp_path / "iobes.jsonl", IOBES_ROWS * 10)
    with pytest.raises(UserError, match="IOBES"):
        load_tagged(DataConfig(train_file=train, label_all_tokens=True), seed=0)


# ----------------------------------------------------------------------------- metrics


def recipe(tmp_path, *lines):
    path = tmp_path / "recipe.yaml"
    path.write_text("\n".join(["task: token-classification", *lines]) + "\n")
    return path


def test_plain_tags_get_word_metrics_by_default_and_refuse_entity_ones(tmp_path):
    config = load_config(str(recipe(tmp_path)))
    assert config.metrics == ["f1", "precision", "recall", "accuracy"]  # before the tags are read
    read = config.reading_tags(PLAIN)
    assert read.metrics == ["accuracy", "f1_macro"] and read.data.tag_scheme == "plain"
    assert config.reading_tags(IOB2).metrics == config.metrics
    chosen = load_config(str(recipe(tmp_path, "metrics: [f1, accuracy]")))
    with pytest.raises(UserError, match="'f1', which ftk does not score for plain tags"):
        chosen.reading_tags(PLAIN)
    best = load_config(str(recipe(tmp_path, "metric_for_best_model: eval_f1")))
    with pytest.raises(UserError, match="Config key 'metric_for_best_model' names 'f1'"):
        best.reading_tags(PLAIN)
    with pytest.raises(UserError, match="'f1_macro', which ftk does not score for IOB2"):
        load_config(str(recipe(tmp_path, "metrics: [f1_macro]"))).reading_tags(IOB2)


def test_a_named_scheme_checks_the_metrics_when_the_config_loads(tmp_path):
    path = recipe(tmp_path, "metrics: [f1]", "data: {tag_scheme: plain}")
    with pytest.raises(UserError, match="plain tags"):
        load_config(str(path))


def test_tag_scheme_is_refused_for_a_task_without_tags(tmp_path):
    path = tmp_path / "text.yaml"
    path.write_text("task: text-classification\ndata: {tag_scheme: iob2}\n")
    with pytest.raises(UserError, match="task 'text-classification' has no tags"):
        load_config(str(path))


def test_the_run_config_binds_the_tags_target_to_its_scheme():
    assert get_task("token-classification", "plain").target == Tags(PLAIN)
    assert get_task("token-classification").target == TAGS  # auto: told by the tag names
    assert Tags(PLAIN).pipeline_args == "" and "simple" in Tags(IOB2).pipeline_args


def logits_for(ids, num_tags):
    """Logits whose argmax is `ids` (-100 rows: anything)."""
    ids = np.asarray(ids)
    out = np.zeros((*ids.shape, num_tags), dtype=np.float32)
    np.put_along_axis(out, np.maximum(ids, 0)[..., None], 5.0, axis=-1)
    return out


def test_plain_tags_are_scored_per_word_without_seqeval():
    """Word accuracy and macro-F1 over the tags, as scikit-learn scores the words; the
    Trainer's compute_metrics skips the -100 pieces; seqeval never speaks."""
    names = ["DT", "NN", "UH", "PRP$", "."]
    true = [[0, 1, 4], [2, 3, 1, 4]]
    pred = [[0, 1, 4], [2, 1, 1, 4]]
    flat_true, flat_pred = [t for row in true for t in row], [p for row in pred for p in row]
    target = Tags(PLAIN)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # seqeval's "seems not to be NE tag" would fail here
        scores = target.scorer(["accuracy", "f1_macro"], label_names=names)(pred, true)
        labels = np.array([[IGNORED, 0, 1, 4, IGNORED], [IGNORED, 2, 3, 1, 4]])
        predicted = np.array([[1, 0, 1, 4, 1], [1, 2, 1, 1, 4]])
        compute = target.compute_metrics(["accuracy", "f1_macro"])(names)
        trainer_scores = compute(EvalPrediction(logits_for(predicted, 5), labels))
        report = target.test_report(labels, logits_for(predicted, 5), names)
    assert scores["accuracy"] == pytest.approx(accuracy_score(flat_true, flat_pred))
    assert scores["f1_macro"] == pytest.approx(f1_score(flat_true, flat_pred, average="macro"))
    assert trainer_scores == pytest.approx(scores)
    per_tag = report["test_per_tag"]
    assert set(per_tag) == set(names) and "test_per_entity" not in report
    assert per_tag["PRP$"]["recall"] == 0.0 and per_tag["NN"]["support"] == 2
    assert target.class_counts(true, names) == {"DT": 1, "NN": 2, "UH": 1, "PRP$": 1, ".": 2}


def test_plain_scores_of_resampled_sentences_match_scoring_each_resample():
    """The verdict's bootstrap scores resamples from per-sentence counts: the same numbers as
    scoring each resample's sentences directly."""
    rng = np.random.default_rng(0)
    true = [list(rng.integers(0, 4, size=rng.integers(1, 6))) for _ in range(12)]
    pred = [[t if rng.random() < 0.7 else int(rng.integers(0, 4)) for t in row] for row in true]
    scorer = Tags(PLAIN).scorer(["accuracy", "f1_macro"], label_names=list("abcd"))
    counts = np.stack([np.bincount(rng.integers(0, 12, 12), minlength=12) for _ in range(5)])
    fast = scorer.resampled(counts, true, pred)
    for k, row in enumerate(counts):
        drawn = [i for i, n in enumerate(row) for _ in range(n)]
        direct = scorer([pred[i] for i in drawn], [true[i] for i in drawn])
        for name in ("accuracy", "f1_macro"):
            assert fast[name][k] == pytest.approx(direct[name]), name


def test_bilou_tags_are_read_as_entities():
    """U- (a one-word entity) and L- (an entity's last word) read as IOBES's S- and E-: two
    entities per sentence found, none invented, no warning; the types are the data's."""
    names = ["O", "B-PER", "I-PER", "L-PER", "U-LOC"]
    true = [[1, 2, 3, 0, 4]]
    target = Tags(BILOU)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scorer = target.scorer(["f1", "recall"], label_names=names)
        assert scorer(true, true) == {"f1": 1.0, "recall": 1.0}
        assert scorer([[1, 2, 3, 0, 0]], true)["recall"] == 0.5
        report = target.evaluation_report(true, true, names, 0.5)
    assert set(report["per_entity"]) >= {"PER", "LOC"}
    assert target.class_counts(true, names) == {"LOC": 1, "PER": 1}


def test_a_plain_tagger_predicts_a_tag_per_word_and_an_entity_tagger_entities():
    words = ["oh", "the", "dog", "."]
    names = ["DT", "NN", "UH", "."]
    logits = [logits_for([2, 0, 1, 3], 4)]
    rows = Tags(PLAIN).predicted_rows([{"text": "x"}], [words], logits, names, 1, 0.5)
    assert rows[0]["pred_tags"] == ["UH", "DT", "NN", "."] and "entities" not in rows[0]
    assert len(rows[0]["pred_tag_scores"]) == 4
    names = ["O", "B-PER", "I-PER"]
    rows = Tags(IOB2).predicted_rows(
        [{}], [["bob", "smith", "ran"]], [logits_for([1, 2, 0], 3)], names, 1, 0.5
    )
    assert [(e["type"], e["text"]) for e in rows[0]["entities"]] == [("PER", "bob smith")]


def test_every_scheme_is_declared_with_its_metrics():
    for scheme in TAG_SCHEMES.values():
        assert isinstance(scheme, TagScheme)
        assert set(scheme.default_metrics) <= set(scheme.metrics)
        assert set(scheme.metrics) <= set(TAGS.kind.metrics)


def test_a_named_plain_scheme_sets_the_default_metrics_when_the_config_loads(tmp_path):
    config = load_config(str(recipe(tmp_path, "data: {tag_scheme: plain}")))
    assert config.metrics == ["accuracy", "f1_macro"] and not config.metrics_chosen


@pytest.mark.parametrize("scheme", ["auto", "plain"])
def test_ftk_baseline_scores_plain_tags_with_word_metrics(tmp_path, scheme):
    """The per-word baseline is scored as the model would be: word accuracy first, from the
    tags it gives each word, whether the scheme was detected or named."""
    from toolkit.commands.baseline import baseline_command

    rows = [["DT", "NN", "VBD", "."], ["UH", ",", "DT", "NN", "."]] * 10
    train = write_jsonl(tmp_path / "pos.jsonl", rows)
    path = recipe(
        tmp_path,
        f"data: {{train_file: '{train}', tag_scheme: {scheme}, validation_size: 0.2}}",
        f"output_dir: '{tmp_path / 'run'}'",
    )
    written = json.loads(baseline_command(load_config(str(path))).read_text())
    assert written["metrics"] == ["accuracy", "f1_macro"]
    scores = {b["name"]: b["validation"] for b in written["baselines"]}
    assert scores["word_tags"]["accuracy"] == 1.0  # each word always carries one tag
    assert 0 < scores["majority"]["accuracy"] < 1


def test_a_finished_model_without_a_scheme_is_read_by_its_tag_names(tmp_path, caplog):
    """A plain checkpoint (no run_config.yaml) or a run saved before data.tag_scheme: its tag
    names decide; a POS run that was scored with entity f1 gets word metrics, said."""
    from toolkit.use.inference import tags_read_by_names

    plain_checkpoint = RunConfig(task="token-classification", metrics=["f1", "accuracy"])
    read = tags_read_by_names(plain_checkpoint, "ckpt", PENN)
    assert read.data.tag_scheme == "plain" and read.metrics == ["accuracy", "f1_macro"]
    old_run = load_config(str(recipe(tmp_path, "metrics: [f1, accuracy]")))
    read = tags_read_by_names(old_run, "runs/pos", ["O", *PENN])
    assert read.metrics == ["accuracy", "f1_macro"]
    assert "runs/pos tags words with plain tags, which f1, accuracy cannot score" in caplog.text
    ner = tags_read_by_names(old_run, "runs/ner", names_of(IOB2_ROWS))
    assert ner.data.tag_scheme == "iob2" and ner.metrics == ["f1", "accuracy"]
