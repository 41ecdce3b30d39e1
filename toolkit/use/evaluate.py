"""`ftk evaluate RUN --data SET`: the run's own metrics (run_config.yaml `metrics`) on new
labelled data: a table with text and label columns, or a folder of class subfolders of images.
A regression run reads a numeric label column and reports MSE as the loss, and its metrics
(rmse, mae, pearson, spearman). A token classification run reads a CoNLL-style file or a table
of token and tag lists (the run's data.tokens_column / data.tags_column, or --text-column /
--label-column) and reports entity-level scores (seqeval) and per entity type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.core.errors import UserError
from toolkit.core.log import say, warn
from toolkit.data.conll import CONLL_SUFFIXES, read_conll
from toolkit.data.images import check_image_files, image_files
from toolkit.data.label_sets import NotALabelSet, multi_hot, parse_label_set, unseen_labels
from toolkit.data.labels import label_name
from toolkit.data.sources import FILE_BUILDERS
from toolkit.data.tagged import TagColumns, tags_as_names
from toolkit.data.targets import not_finite, not_numbers
from toolkit.metrics.entities import entity_report, named
from toolkit.metrics.multilabel import per_label_report
from toolkit.metrics.test_report import per_class_report
from toolkit.use.inference import Run, load_run, predict_logits, word_logits
from toolkit.use.predict import listed_rows, read_table, require_modality, row_texts, text_columns


def evaluate_run(
    run_dir: str | Path,
    data_path: Path,
    output: Path | None = None,
    batch_size: int = 64,
    text_column: str | None = None,
    label_column: str | None = None,
    encoding: str | None = None,
    revision: str | None = None,
) -> dict[str, Any]:
    """Metrics of the run's model on `data_path`; printed, and written as JSON to `output`.
    `run_dir`: a run or checkpoint folder, or a Hub repo id (at `revision`).
    `encoding`: of a text table (default: the run's data.encoding, else utf-8)."""
    run = load_run(run_dir, revision)
    names = list(run.settings.get("metrics") or ["accuracy"])
    trusted = bool(run.settings.get("trust_metric_code"))
    target = run.target  # classes, or a number (a regression run)
    if target.kind.per_word:
        results = evaluate_tagger(run, names, data_path, batch_size, text_column, label_column)
        return finish(results, names, output)
    score = target.scorer(names, trusted)  # fails fast on a metric that cannot load
    items, label_values = labelled_inputs(run, data_path, text_column, label_column, encoding)
    labels = encode_labels(run, label_values, data_path, label_column)
    logits = predict_logits(run, items, batch_size, desc="Evaluating")
    results: dict[str, Any] = {"data": str(data_path), "examples": len(labels)}
    results["loss"] = target.loss(logits, labels)  # cross-entropy, MSE for a number, or BCE
    if target.kind.label_sets:  # decided at the run's own threshold (tuned, or 0.5)
        predicted = target.predictions(logits, run.decision_threshold)
        results["threshold"] = run.decision_threshold
        results["per_label"] = per_label_report(predicted, labels, run.label_names)
    else:
        predicted = target.predictions(logits)
    results.update(score(predicted, labels))
    if target.kind.single_class:
        results["per_class"] = per_class_report(labels, logits.argmax(axis=-1), run.label_names)
    return finish(results, names, output)


def finish(results: dict[str, Any], names: list[str], output: Path | None) -> dict[str, Any]:
    say(describe(results, names))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2) + "\n")
        say(f"Wrote {output}")
    return results


def evaluate_tagger(
    run: Run,
    names: list[str],
    path: Path,
    batch_size: int,
    tokens_column: str | None,
    tags_column: str | None,
) -> dict[str, Any]:
    """Entity scores of a token classification run on tagged sentences: the words' tags are
    predicted on their first piece, as the run was trained and scored."""
    sentences, tag_rows = tagged_sentences(run, path, tokens_column, tags_column)
    logits, cut = word_logits(run, sentences, batch_size, desc="Evaluating")
    if cut:
        warn(f"{cut:,} word(s) lay past the run's max_length and were not read; scored as O.")
    target, label_names = run.target, run.label_names
    predicted = [target.predictions(rows) for rows in logits]
    true_names, pred_names = named(tag_rows, label_names), named(predicted, label_names)
    results: dict[str, Any] = {"data": str(path), "examples": len(sentences)}
    results["loss"] = target.loss(np.concatenate(logits), np.concatenate(tag_rows))
    results.update(target.scorer(names, False, label_names)(predicted, tag_rows))
    results["per_entity"] = entity_report(true_names, pred_names)
    return results


def tagged_sentences(
    run: Run, path: Path, tokens_column: str | None, tags_column: str | None
) -> tuple[list[list[str]], list[np.ndarray]]:
    """(words, tag ids) per sentence from a CoNLL-style file or a table; tags the model never
    learnt, and tag lists as long as their words, are checked."""
    tokens = tokens_column or run.data_key("tokens_column", "tokens")
    tags = tags_column or run.data_key("tags_column", "ner_tags")
    if path.suffix.lower() in CONLL_SUFFIXES:
        if not path.is_file():
            raise UserError(f"--data '{path}' does not exist; check the path.")
        table = read_conll(path, "--data", run.data_key("encoding") or "utf-8", tokens, tags)
    elif path.suffix.lower() in FILE_BUILDERS:
        table = read_table(run, path, "--data", None)
    else:
        raise UserError(
            f"--data '{path}' must be a CoNLL-style file ({', '.join(CONLL_SUFFIXES)}) or a "
            f"table with token and tag lists (.json, .jsonl, .parquet)."
        )
    missing = [c for c in (tokens, tags) if c not in table.column_names]
    if missing:
        raise UserError(
            f"--data '{path}' has no column {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(table.column_names)}. Name them with --text-column (the token lists) "
            f"and --label-column (the tag lists)."
        )
    sentences = [[str(w) for w in row] for row in table[tokens]]
    tag_names = tags_as_names(table, TagColumns(tokens, tags))
    uneven = [
        i for i, (w, t) in enumerate(zip(sentences, tag_names, strict=True)) if len(w) != len(t)
    ]
    if uneven:
        first = uneven[0]
        raise UserError(
            f"--data '{path}' has {len(uneven):,} sentence(s) whose tag list is not as long as "
            f"its token list; sentence {first + 1} has {len(sentences[first])} tokens and "
            f"{len(tag_names[first])} tags. Each token needs exactly one tag."
        )
    index = {name: i for i, name in enumerate(run.label_names)}
    unknown = sorted({t for row in tag_names for t in row} - set(index))
    if unknown:
        raise UserError(
            f"--data '{path}' has tag(s) {', '.join(map(repr, unknown[:10]))} the model does "
            f"not know (it predicts: {', '.join(run.label_names)}). Map them onto the model's "
            f"tags or drop those sentences."
        )
    return sentences, [np.array([index[t] for t in row], dtype=np.int64) for row in tag_names]


def labelled_inputs(
    run: Run,
    path: Path,
    text_column: str | None,
    label_column: str | None,
    encoding: str | None,
) -> tuple[list[Any], list[str]]:
    """(model inputs, label strings) from a table or a folder of class subfolders."""
    if path.is_dir():
        require_modality(run, "image", f"--data '{path}' (a folder)")
        if run.target.kind.label_sets:
            raise UserError(
                f"--data '{path}' is a folder of class subfolders, one label per image; the "
                f"run in {run.name} is multi-label. ftk evaluate scores multi-label runs on "
                f"text tables only for now."
            )
        return image_folder(path)
    if path.suffix.lower() not in FILE_BUILDERS:
        raise UserError(
            f"--data '{path}' must be a table ({', '.join(FILE_BUILDERS)}) or a "
            f"folder with one subfolder of images per class."
        )
    require_modality(run, "text", f"--data '{path}' (a table)")
    table = read_table(run, path, "--data", encoding)
    label = label_column or run.data_key("label_column", "label")
    columns = [*text_columns(run, text_column), label]
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise UserError(
            f"--data '{path}' has no column {', '.join(map(repr, missing))}; its "
            f"columns are {', '.join(table.column_names)}. Name them with "
            f"--text-column / --label-column."
        )
    items, empty = row_texts(table, columns[:-1])
    feature = table.features[label]
    if not run.target.kind.single_class:
        values = list(table[label])  # raw: numbers or label sets, checked by encode_labels
    else:
        values = [
            feature.int2str(v) if hasattr(feature, "int2str") else str(v) for v in table[label]
        ]
    if not empty:
        return items, values
    return without_empty_texts(run, path, items, values, empty)


def without_empty_texts(
    run: Run, path: Path, items: list[Any], values: list[str], empty: list[int]
) -> tuple[list[Any], list[str]]:
    """Rows with an empty text are treated as the run's training treated them
    (data.empty_texts): dropped with a count, or refused."""
    if len(empty) == len(items):
        raise UserError(
            f"Every row of --data '{path}' has an empty text; name the text column with "
            f"--text-column."
        )
    if run.data_key("empty_texts", "drop") == "error":
        raise UserError(
            f"--data '{path}' has {len(empty):,} row(s) with an empty text (rows "
            f"{listed_rows(empty)}), which this run refuses (data.empty_texts: error). "
            f"Fill in or remove those rows."
        )
    warn(
        f"Dropped {len(empty):,} of {len(items):,} rows of --data '{path}' with an empty text "
        f"(rows {listed_rows(empty)}), as the run's training did (data.empty_texts: drop)."
    )
    skip = set(empty)
    kept = [i for i in range(len(items)) if i not in skip]
    return [items[i] for i in kept], [values[i] for i in kept]


def image_folder(root: Path) -> tuple[list[Path], list[str]]:
    paths = image_files(root)
    loose = [p for p in paths if p.parent == root]
    if loose or not paths:
        raise UserError(
            f"--data '{root}' must hold one subfolder per class with the images of "
            f"that class inside (e.g. {root}/cat/1.png); "
            + (
                f"found images directly in it: {', '.join(p.name for p in loose[:5])}."
                if loose
                else "found no images."
            )
        )
    check_image_files(paths)
    return paths, [p.relative_to(root).parts[0] for p in paths]


def encode_labels(run: Run, values: list[Any], where: Path, label_column: str | None) -> np.ndarray:
    """Class ids, or for a regression run the targets as finite float numbers."""
    if run.target.kind.single_class:
        return label_ids(run, values, where)
    column = label_column or run.data_key("label_column", "label")
    if run.target.kind.label_sets:
        return label_set_vectors(run, values, where, column)
    words = not_numbers(values)
    rows = words or not_finite(values)
    if rows:
        shown = ", ".join(list(dict.fromkeys(repr(values[i]) for i in rows))[:3])
        what = "are not numbers" if words else "are empty, NaN or inf"
        raise UserError(
            f"Column '{column}' of --data '{where}' has {len(rows):,} target(s) that {what} "
            f"(e.g. {shown}; rows {listed_rows(rows)}); this run predicts a number, so "
            f"every row needs a finite number to score against. Fix or remove those rows."
        )
    return np.asarray([float(v) for v in values], dtype=np.float64)


def label_set_vectors(run: Run, values: list[Any], where: Path, column: str) -> np.ndarray:
    """Lists of labels (or strings split on the run's data.label_separator) -> multi-hot rows
    over the model's labels; a label the model never learnt is an error."""
    sets = []
    for row, value in enumerate(values):
        try:
            sets.append(parse_label_set(value, run.data_key("label_separator")))
        except NotALabelSet as problem:
            where_row = f"Row {row + 1} of column '{column}' in --data '{where}'"
            raise UserError(f"{where_row} {problem}") from None
    unknown = unseen_labels(sets, run.label_names)
    if unknown:
        raise UserError(
            f"--data '{where}' has label(s) {', '.join(map(repr, unknown[:10]))} the model "
            f"does not know (it predicts: {', '.join(run.label_names)}). Remove them from "
            f"those rows or map them onto the model's labels."
        )
    return multi_hot(sets, run.label_names)


def label_ids(run: Run, values: list[Any], where: Path) -> np.ndarray:
    """Labels -> the model's class ids, read as training reads them (`label_name`: 2.0 is '2',
    'sport ' is 'sport'); labels the model never learnt are an error."""
    values = [label_name(v) for v in values]
    index = {name: i for i, name in enumerate(run.label_names)}
    unknown = sorted(set(values) - set(index))
    if unknown:
        raise UserError(
            f"--data '{where}' has label(s) {', '.join(map(repr, unknown[:10]))} the "
            f"model does not know (it predicts: {', '.join(run.label_names)}). Drop "
            f"those rows or map them onto the model's labels."
        )
    return np.array([index[v] for v in values], dtype=np.int64)


def describe(results: dict[str, Any], names: list[str]) -> str:
    lines = [f"Evaluated {results['examples']} examples of {results['data']}:"]
    lines += [f"  {name:<12} {results[name]:.4f}" for name in ["loss", *names]]
    return "\n".join(lines)
