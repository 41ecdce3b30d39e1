"""Cheap baselines on exactly the transformer's splits: is a transformer worth it here?

`run_baselines(config, data)` fits every baseline of the task on the training split and scores
it on validation and test with the run's own metrics (same metric code as the Trainer), timing
fit and predict. The best baseline is picked on *validation* (the test split stays a one-time
look), and `advice.verdict` compares it with the fine-tuned model on test. `ftk train` fits
them before training, beside it in a side process, or after it (`start_baselines_for_run`), or
reuses a matching baseline.json that `ftk baseline` left in the run directory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from threadpoolctl import threadpool_limits

from toolkit.advice.baselines import image, label_sets, tagging, text
from toolkit.advice.baselines.candidate import Baselines, Candidate, best_baseline, score_candidate
from toolkit.config.schema import RunConfig
from toolkit.config.taxonomy import (
    CLASSES,
    IMAGE,
    LABEL_SETS,
    NUMBERS,
    TAGS,
    TASK_KINDS,
    TEXT,
    WORDS,
    Modality,
    TargetKind,
)
from toolkit.core.log import is_main_process, say, warn
from toolkit.core.run_files import BASELINE_FILE, write_json
from toolkit.data.load import LoadedData
from toolkit.data.splits import sample_rows
from toolkit.tasks import get_task

CollectBaselines = Callable[[], "Baselines | None"]


def fingerprint(config: RunConfig) -> str:
    """What decides the baselines' numbers: a saved baseline.json is reused only if it matches.

    The split seed is named on its own: with `data.split_seed` unset it is the training seed,
    and two runs that hold out different rows must never share a baseline.json."""
    keys = {
        "task": config.task,
        "metrics": config.metrics,
        "seed": config.training.get("seed"),
        "split_seed": config.split_seed,
        "data": dataclasses.asdict(config.data),
        "cnn_epochs": config.baseline.cnn_epochs,
        "max_train_rows": config.baseline.max_train_rows,
        # 2: tuned on validation, test predictions saved (an older file is fitted afresh)
        "format": 2,
    }  # not `background`: where, not what
    return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:16]


def image_classifiers(config: RunConfig) -> list[Candidate]:
    return image.candidates(config.baseline.cnn_epochs, seed=config.training.get("seed", 42))


# What each (modality, target) is compared with: classifiers for classes, regressors for
# numbers, multi-label models for label sets, taggers (a tag per word) for tags.
CANDIDATES: dict[tuple[Modality, TargetKind], Callable[[RunConfig], list[Candidate]]] = {
    (TEXT, CLASSES): lambda config: text.candidates(),
    (TEXT, NUMBERS): lambda config: text.regression_candidates(),
    (TEXT, LABEL_SETS): lambda config: label_sets.text_candidates(),
    (IMAGE, CLASSES): image_classifiers,
    (IMAGE, NUMBERS): lambda config: image.regression_candidates(),
    (IMAGE, LABEL_SETS): lambda config: label_sets.image_candidates(),
    (WORDS, TAGS): lambda config: tagging.candidates(),
}
# The baselines' features of each modality's inputs.
INPUTS: dict[Modality, Callable[[datasets.DatasetDict, RunConfig], dict[str, Any]]] = {
    TEXT: text.inputs_from_splits,
    IMAGE: lambda splits, config: image.inputs_from_splits(splits, config.data.image_column),
    WORDS: tagging.inputs_from_splits,
}


def candidates_and_inputs(
    config: RunConfig, data: LoadedData
) -> tuple[list[Candidate], dict[str, Any]]:
    """The task's baselines and their inputs."""
    kind = TASK_KINDS.get(config.task)
    if kind is None or (kind.modality, kind.target) not in CANDIDATES:
        raise NotImplementedError(f"no baselines for task {config.task}")
    found = CANDIDATES[kind.modality, kind.target](config)
    return found, INPUTS[kind.modality](data.splits, config)


def label_values(column: list[Any]) -> Any:
    """One label per example as an array; tag lists (one per sentence, of any length) kept
    as lists."""
    return column if column and isinstance(column[0], list) else np.asarray(column)


def run_baselines(config: RunConfig, data: LoadedData) -> Baselines:
    """Fit and score every baseline of the task (on a sample of a large training split)."""
    split_sizes = {split: len(ds) for split, ds in data.splits.items()}
    data = with_training_sample(data, config.baseline.max_train_rows, config.split_seed)
    sampled = len(data.splits["train"]) < split_sizes["train"]
    candidates, inputs = candidates_and_inputs(config, data)
    labels = {split: label_values(ds[data.label_column]) for split, ds in data.splits.items()}
    # the metric code the Trainer uses: class ids, values, label sets or tags, as the task predicts
    target = get_task(config.task, config.data.tag_scheme).target
    assert target is not None  # a labelled task: candidates_and_inputs raised for the others
    score = target.scorer(config.metrics, config.trust_metric_code, data.label_names)
    results = [score_candidate(c, inputs, labels, score, config.metrics[0]) for c in candidates]
    return Baselines(
        task=config.task,
        fingerprint=fingerprint(config),
        split_seed=config.split_seed,
        metrics=list(config.metrics),
        split_sizes=split_sizes,
        best=best_baseline(results, config.metrics[0]).name,
        scores=results,
        train_rows=len(data.splits["train"]) if sampled else None,
    )


def with_training_sample(data: LoadedData, rows: int | None, seed: int) -> LoadedData:
    """`data` with at most `rows` training rows (None: all), the same sample for every run
    with this split seed: stratified by class where the target is classes, so each class
    keeps its share, else drawn at random. The baselines' memory (TF-IDF rows of tens of KB,
    pixel arrays) then stops growing with the training split; their scores may still rise
    past the cap on hard data (BENCHMARKS.md, section 12), which the verdict says."""
    train = data.splits["train"]
    if rows is None or len(train) <= rows:
        return data
    say(
        f"Baselines: fitted on a sample of {rows:,} of the {len(train):,} training rows "
        f"(baseline.max_train_rows), which bounds their memory"
    )
    by_class = data.label_column if data.target.single_class else None
    sample = sample_rows(train, rows, seed, stratify_by=by_class)
    splits = datasets.DatasetDict({**data.splits, "train": sample})
    return dataclasses.replace(data, splits=splits)


def read_saved(path: Path, config: RunConfig) -> Baselines | None:
    """A baseline.json from `ftk baseline` for this very config and data, else None."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("fingerprint") != fingerprint(config):
        return None
    try:
        return Baselines.from_dict(saved)
    except (KeyError, TypeError):  # an older or hand-edited file: fit afresh
        return None


def write_baselines(path: Path, result: Baselines) -> None:
    write_json(path, result.to_dict())


def describe_baselines(result: Baselines) -> str:
    """A console table: one line per baseline, validation and test scores, fit time."""
    lines = ["Baselines (fit on train; scored with the run's metrics):"]
    for r in result.scores:
        splits = [("validation", r.validation), ("test", r.test)]
        cells = "  ".join(
            f"{split[:4]} {name} {scores[name]:.4f}"
            for split, scores in splits
            if scores
            for name in result.metrics
        )
        star = " *" if r.name == result.best else ""
        chosen = f"  (kept on validation: {r.chosen})" if r.chosen else ""
        lines.append(f"  {r.name:<16} {cells}  fit {r.fit_s:.1f} s{star}{chosen}")
    lines.append("  (* best on validation)")
    return "\n".join(lines)


def start_baselines_for_run(
    config: RunConfig, data: LoadedData, output_dir: Path, on_gpu: bool
) -> CollectBaselines:
    """`ftk train`'s baselines; returns `collect()`, which gives them (None when switched off or
    on a non-main process). A matching baseline.json left by `ftk baseline` in the run directory
    is reused. Else `baseline.background` says when they are fitted: true, in a side process
    while the model trains; false, now, before the model loads; null (the default), beside
    training on a GPU, whose run leaves the CPU cores idle, and after training on a CPU, where
    fitting them beside it slowed training by more than they cost alone (BENCHMARKS.md,
    "Start-up") and fitting them first delays the first step. `collect()` waits for them."""
    if not config.baseline.enabled or not is_main_process():
        return lambda: None
    saved = read_saved(output_dir / BASELINE_FILE, config)
    if saved is not None:
        say(
            f"Baselines: reusing {output_dir / BASELINE_FILE} (same data, splits, seed and metrics)"
        )
        say(describe_baselines(saved))
        return lambda: saved
    background = config.baseline.background
    if background or (background is None and on_gpu):
        say(
            "Baselines: fitting the cheap models in a side process while the model trains "
            "(baseline.enabled: false skips them)"
        )
        return fit_in_side_process(config, data)
    if background is None:
        say(
            "Baselines: the cheap models are fitted once training ends, so the first step does "
            "not wait for them (`baseline.background: false` fits them first; "
            "`baseline.enabled: false` skips them)"
        )
        return lambda: without_losing_the_model(partial(run_baselines, config, data), "")
    say("Baselines: fitting the cheap models first (baseline.enabled: false skips this)")
    result = run_baselines(config, data)  # before training, a failure stops the run: nothing lost
    say(describe_baselines(result))
    return lambda: result


def fit_in_side_process(config: RunConfig, data: LoadedData) -> CollectBaselines:
    """run_baselines in a fresh process (spawned: the parent may hold a CUDA context) with one
    thread, so it leaves the other cores to the DataLoader workers that feed the GPU."""
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=use_one_thread
    )
    future = pool.submit(run_baselines, config, data)

    def collect() -> Baselines | None:
        try:
            return without_losing_the_model(future.result, " in their side process")
        finally:
            pool.shutdown()

    return collect


def without_losing_the_model(fit: Callable[[], Baselines], where: str) -> Baselines | None:
    """`fit()`'s baselines, described; a failure once the model has trained is a warning, since
    the trained model must not be lost to a baseline."""
    try:
        result = fit()
    except Exception as exc:
        warn(
            f"The baselines failed{where} ({type(exc).__name__}: {exc}); the run has no "
            f"baseline comparison. `ftk baseline` with the same config fits them alone and "
            f"shows the full error."
        )
        return None
    say(describe_baselines(result))
    return result


def use_one_thread() -> None:
    torch.set_num_threads(1)
    threadpool_limits(1)  # BLAS and OpenMP pools of numpy and scikit-learn
