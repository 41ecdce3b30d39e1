"""Classical baselines fitted by hand, outside ftk, on the files ftk trains on, for
docs/experiments.md (the Reuters, Brown, Hironsan and labMT sections).

    python benchmarks/hand_baselines.py multilabel data/reuters --max-train 1500 --max-eval 500
    python benchmarks/hand_baselines.py regression data/labmt --label-column happiness --run RUN
    python benchmarks/hand_baselines.py tagging data/brown --metric accuracy --max-train 1500 ...
    python benchmarks/hand_baselines.py tagging data/hironsan --metric entity
    python benchmarks/hand_baselines.py model RUN data/brown/test.conll --max-eval 500

`--max-train` / `--max-eval` take the first rows of each file, as ftk's data.max_train_samples
and data.max_eval_samples do, so both see the same examples.

- multilabel: TF-IDF (word 1-2-grams + char 2-5-grams, sublinear tf) with one-vs-rest logistic
  regression, C chosen on validation f1_micro from 1, 10, 100, deciding at probability 0.5;
  f1_micro, f1_macro (a label with no positive and no prediction scores 0, as ftk) and subset
  accuracy on test.
- tagging: each word's most frequent training tag (its lowercased form as a fallback, else the
  most frequent tag), and a logistic-regression tagger on hand-made features of the word and its
  neighbours (forms, affixes, shape), C chosen on validation. Scored by word accuracy (POS) or
  seqeval entity F1 / precision / recall (NER, IOB2).
- model: a finished ftk token-classification run's own word accuracy, computed here from its
  saved model (each word's first word piece, as ftk scores it), independent of ftk's metrics.
- regression: train.csv / validation.csv / test.csv with a text and a numeric column. The
  training mean, and TF-IDF (word 1-2-grams + char_wb 2-5-grams, sublinear tf, min_df 1) with
  ridge regression, alpha chosen on validation rmse from 0.003 to 30; rmse, mae, pearson and
  spearman on test, and the spread of the test predictions beside the targets'. Where the files
  have a `LABEL_std` column (the raters' standard deviation) and --raters is given, the rmse
  that the rating means themselves carry as estimates of the population's mean,
  sqrt(mean(std^2) / raters). --run RUN recomputes the same figures from a finished ftk
  regression run's saved test predictions (metrics.json), after checking that its targets are
  the test file's, in order.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np


def read_jsonl(path: Path, cap: int | None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return rows[:cap] if cap else rows


def read_conll(path: Path, cap: int | None) -> list[list[tuple[str, str]]]:
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields:
            if current:
                sentences.append(current)
            current = []
        else:
            current.append((fields[0], fields[-1]))
    if current:
        sentences.append(current)
    return sentences[:cap] if cap else sentences


def label_set_scores(predicted: np.ndarray, true: np.ndarray) -> dict[str, float]:
    tp = (predicted & true).sum(axis=0)
    fp = (predicted & ~true).sum(axis=0)
    fn = (~predicted & true).sum(axis=0)

    def f1(tp, fp, fn):
        tp, fp, fn = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
        den = 2 * tp + fp + fn
        return np.divide(2 * tp, den, out=np.zeros_like(tp), where=den > 0)

    return {
        "f1_micro": float(f1(tp.sum(), fp.sum(), fn.sum())),
        "f1_macro": float(f1(tp, fp, fn).mean()),
        "subset_accuracy": float(np.all(predicted == true, axis=1).mean()),
    }


def multilabel(folder: Path, max_train: int | None, max_eval: int | None) -> dict:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    train = read_jsonl(folder / "train.jsonl", max_train)
    val = read_jsonl(folder / "validation.jsonl", max_eval)
    test = read_jsonl(folder / "test.jsonl", max_eval)
    binarizer = MultiLabelBinarizer().fit([r["labels"] for r in train])
    y = {
        name: binarizer.transform([r["labels"] for r in rows]).astype(bool)
        for name, rows in (("train", train), ("val", val), ("test", test))
    }
    started = time.perf_counter()
    vectorizers = [
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
    ]
    x_train = hstack([v.fit_transform([r["text"] for r in train]) for v in vectorizers]).tocsr()

    def features(rows):
        return hstack([v.transform([r["text"] for r in rows]) for v in vectorizers]).tocsr()

    x_val, x_test = features(val), features(test)
    results = {}
    for c in (1.0, 10.0, 100.0):
        model = OneVsRestClassifier(LogisticRegression(C=c, max_iter=2000), n_jobs=1)
        model.fit(x_train, y["train"])
        results[c] = (label_set_scores(model.predict_proba(x_val) > 0.5, y["val"]), model)
    best = max(results, key=lambda c: results[c][0]["f1_micro"])
    model = results[best][1]
    test_scores = label_set_scores(model.predict_proba(x_test) > 0.5, y["test"])
    return {
        "model": "tfidf word 1-2 + char_wb 2-5, one-vs-rest logistic regression",
        "train_rows": len(train),
        "test_rows": len(test),
        "labels": len(binarizer.classes_),
        "C": best,
        "validation": results[best][0],
        "test": test_scores,
        "seconds_with_grid": round(time.perf_counter() - started, 1),
    }


def read_csv_rows(path: Path, cap: int | None) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[:cap] if cap else rows


def regression_scores(predicted: np.ndarray, true: np.ndarray) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    error = predicted - true
    constant = np.ptp(predicted) == 0  # pearson/spearman are undefined; ftk reports 0 then
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "pearson": 0.0 if constant else float(pearsonr(predicted, true)[0]),
        "spearman": 0.0 if constant else float(spearmanr(predicted, true)[0]),
    }


def spread(values: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def regression(
    folder: Path,
    text_column: str,
    label_column: str,
    max_train: int | None,
    max_eval: int | None,
    raters: int | None,
    run: Path | None,
) -> dict:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge

    rows = {
        "train": read_csv_rows(folder / "train.csv", max_train),
        "validation": read_csv_rows(folder / "validation.csv", max_eval),
        "test": read_csv_rows(folder / "test.csv", max_eval),
    }
    texts = {split: [r[text_column] for r in part] for split, part in rows.items()}
    y = {split: np.array([float(r[label_column]) for r in part]) for split, part in rows.items()}
    out: dict = {
        "rows": {split: len(part) for split, part in rows.items()},
        "targets": {split: spread(values) for split, values in y.items()},
    }

    started = time.perf_counter()
    mean = float(y["train"].mean())
    out["training_mean"] = {
        "value": mean,
        "validation": regression_scores(np.full(len(y["validation"]), mean), y["validation"]),
        "test": regression_scores(np.full(len(y["test"]), mean), y["test"]),
        "seconds": round(time.perf_counter() - started, 2),
    }

    started = time.perf_counter()
    vectorizers = [
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
    ]
    x_train = hstack([v.fit_transform(texts["train"]) for v in vectorizers]).tocsr()

    def features(split: str):
        return hstack([v.transform(texts[split]) for v in vectorizers]).tocsr()

    x_val, x_test = features("validation"), features("test")
    grid = {}
    for alpha in (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0):
        model = Ridge(alpha=alpha).fit(x_train, y["train"])
        grid[alpha] = (regression_scores(model.predict(x_val), y["validation"]), model)
    best = min(grid, key=lambda a: grid[a][0]["rmse"])
    predicted = grid[best][1].predict(x_test)
    out["tfidf_ridge"] = {
        "alpha": best,
        "validation_rmse_by_alpha": {str(a): round(s["rmse"], 4) for a, (s, _) in grid.items()},
        "features": x_train.shape[1],
        "validation": grid[best][0],
        "test": regression_scores(predicted, y["test"]),
        "test_predictions": spread(predicted),
        "seconds_with_grid": round(time.perf_counter() - started, 1),
    }

    std_column = f"{label_column}_std"
    if raters and rows["test"] and std_column in rows["test"][0]:
        variance = np.mean([float(r[std_column]) ** 2 for r in rows["test"]])
        out["rater_noise_rmse_test"] = float(np.sqrt(variance / raters))

    if run is not None:
        saved = json.loads((run / "metrics.json").read_text())["test_predictions"]
        true, predicted = np.asarray(saved["true"]), np.asarray(saved["predicted"])
        if len(true) != len(y["test"]) or not np.allclose(true, y["test"], atol=1e-4):
            raise SystemExit(f"{run}: its test targets are not {folder / 'test.csv'}'s, in order")
        out["run"] = {
            "test": regression_scores(predicted, true),
            "test_predictions": spread(predicted),
        }
    return out


def word_features(words: list[str], i: int) -> dict[str, float]:
    word = words[i]
    lower = word.lower()
    feats = {
        "bias": 1.0,
        f"w={lower}": 1.0,
        f"suf1={lower[-1:]}": 1.0,
        f"suf2={lower[-2:]}": 1.0,
        f"suf3={lower[-3:]}": 1.0,
        f"pre1={lower[:1]}": 1.0,
        f"pre3={lower[:3]}": 1.0,
        "title": float(word.istitle()),
        "upper": float(word.isupper()),
        "digit": float(any(ch.isdigit() for ch in word)),
        "hyphen": float("-" in word),
        "first": float(i == 0),
    }
    for offset in (-2, -1, 1, 2):
        j = i + offset
        other = words[j].lower() if 0 <= j < len(words) else "<pad>"
        feats[f"w{offset:+d}={other}"] = 1.0
        feats[f"suf3{offset:+d}={other[-3:]}"] = 1.0
        if 0 <= j < len(words):
            feats[f"title{offset:+d}"] = float(words[j].istitle())
    return feats


def score_tags(true: list[list[str]], pred: list[list[str]], metric: str) -> dict[str, float]:
    if metric == "accuracy":
        pairs = [
            (t, p) for ts, ps in zip(true, pred, strict=True) for t, p in zip(ts, ps, strict=True)
        ]
        return {"accuracy": sum(t == p for t, p in pairs) / len(pairs)}
    from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score

    return {
        "f1": f1_score(true, pred, zero_division=0),
        "precision": precision_score(true, pred, zero_division=0),
        "recall": recall_score(true, pred, zero_division=0),
        "accuracy": accuracy_score(true, pred),
    }


def most_frequent_tag(train: list[list[tuple[str, str]]]):
    exact: dict[str, Counter] = defaultdict(Counter)
    lowered: dict[str, Counter] = defaultdict(Counter)
    overall = Counter()
    for sentence in train:
        for word, tag in sentence:
            exact[word][tag] += 1
            lowered[word.lower()][tag] += 1
            overall[tag] += 1
    default = overall.most_common(1)[0][0]

    def tag(word: str) -> str:
        if word in exact:
            return exact[word].most_common(1)[0][0]
        if word.lower() in lowered:
            return lowered[word.lower()].most_common(1)[0][0]
        return default

    return tag


def tagging(folder: Path, metric: str, max_train: int | None, max_eval: int | None) -> dict:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    train = read_conll(folder / "train.conll", max_train)
    val = read_conll(folder / "validation.conll", max_eval)
    test = read_conll(folder / "test.conll", max_eval)
    gold = {"val": [[t for _, t in s] for s in val], "test": [[t for _, t in s] for s in test]}
    out = {
        "train_sentences": len(train),
        "test_sentences": len(test),
        "test_words": sum(len(s) for s in test),
    }

    started = time.perf_counter()
    lookup = most_frequent_tag(train)
    out["most_frequent_tag"] = {
        split: score_tags(gold[split], [[lookup(w) for w, _ in s] for s in rows], metric)
        for split, rows in (("val", val), ("test", test))
    }
    out["most_frequent_tag"]["seconds"] = round(time.perf_counter() - started, 2)

    def featurize(rows):
        words = [[w for w, _ in s] for s in rows]
        return [word_features(ws, i) for ws in words for i in range(len(ws))]

    started = time.perf_counter()
    vectorizer = DictVectorizer()
    x_train = vectorizer.fit_transform(featurize(train))
    y_train = [t for s in train for _, t in s]
    x_val, x_test = vectorizer.transform(featurize(val)), vectorizer.transform(featurize(test))

    def unflatten(flat, rows):
        out, k = [], 0
        for s in rows:
            out.append(list(flat[k : k + len(s)]))
            k += len(s)
        return out

    best = None
    for c in (0.3, 1.0, 3.0, 10.0):
        model = LogisticRegression(C=c, max_iter=1000).fit(x_train, y_train)
        scores = score_tags(gold["val"], unflatten(model.predict(x_val), val), metric)
        key = scores["f1" if metric == "entity" else "accuracy"]
        if best is None or key > best[0]:
            best = (key, c, model, scores)
    _, c, model, val_scores = best
    out["feature_logreg"] = {
        "C": c,
        "val": val_scores,
        "test": score_tags(gold["test"], unflatten(model.predict(x_test), test), metric),
        "seconds_with_grid": round(time.perf_counter() - started, 1),
    }
    return out


def model_accuracy(run: Path, test_file: Path, max_eval: int | None, max_length: int) -> dict:
    """Word accuracy of a saved token-classification run: each word's first piece's tag."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(run)
    model = AutoModelForTokenClassification.from_pretrained(run).eval()
    names = model.config.id2label
    test = read_conll(test_file, max_eval)
    right = total = truncated = 0
    confusion: Counter = Counter()
    for start in range(0, len(test), 32):
        batch = test[start : start + 32]
        words = [[w for w, _ in s] for s in batch]
        enc = tokenizer(
            words,
            is_split_into_words=True,
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        with torch.no_grad():
            ids = model(**enc).logits.argmax(-1)
        for row, sentence in enumerate(batch):
            firsts = {}
            for position, word_id in enumerate(enc.word_ids(row)):
                if word_id is not None and word_id not in firsts:
                    firsts[word_id] = names[int(ids[row, position])]
            for index, (_, gold) in enumerate(sentence):
                total += 1
                if index not in firsts:
                    truncated += 1
                    continue
                right += firsts[index] == gold
                confusion[(gold, firsts[index])] += firsts[index] != gold
    return {
        "test_sentences": len(test),
        "test_words": total,
        "words_cut_by_max_length": truncated,
        "word_accuracy_all_words": right / total,
        "word_accuracy_scored_words": right / (total - truncated),
        "top_confusions": [[g, p, n] for (g, p), n in confusion.most_common(8) if n],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    ml = sub.add_parser("multilabel")
    ml.add_argument("folder", type=Path)
    tg = sub.add_parser("tagging")
    tg.add_argument("folder", type=Path)
    tg.add_argument("--metric", choices=["accuracy", "entity"], required=True)
    md = sub.add_parser("model")
    md.add_argument("run", type=Path)
    md.add_argument("test_file", type=Path)
    md.add_argument("--max-length", type=int, default=96)
    rg = sub.add_parser("regression")
    rg.add_argument("folder", type=Path)
    rg.add_argument("--text-column", default="text")
    rg.add_argument("--label-column", required=True)
    rg.add_argument("--raters", type=int, default=None, help="ratings behind each mean")
    rg.add_argument("--run", type=Path, default=None, help="a finished ftk run on these files")
    for p in (ml, tg, md, rg):
        p.add_argument("--max-eval", type=int, default=None)
    for p in (ml, tg, rg):
        p.add_argument("--max-train", type=int, default=None)
    args = parser.parse_args()
    if args.kind == "multilabel":
        result = multilabel(args.folder, args.max_train, args.max_eval)
    elif args.kind == "tagging":
        result = tagging(args.folder, args.metric, args.max_train, args.max_eval)
    elif args.kind == "regression":
        result = regression(
            args.folder,
            args.text_column,
            args.label_column,
            args.max_train,
            args.max_eval,
            args.raters,
            args.run,
        )
    else:
        result = model_accuracy(args.run, args.test_file, args.max_eval, args.max_length)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
