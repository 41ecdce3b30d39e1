"""Cheap baselines on exactly the transformer's splits: is a transformer worth it here?

`run_baselines(config, data)` fits every baseline of the task on the training split and scores
it on validation and test with the run's own metrics (same metric code as the Trainer), timing
fit and predict. The best baseline is picked on *validation* (the test split stays a one-time
look), and `toolkit.verdict` compares it with the fine-tuned model on test.

baseline.json (in the run directory):
    {"task", "fingerprint", "metrics", "best", "baselines": [
        {"name", "description", "fit_s", "predict_s", "validation": {...}, "test": {...}}]}
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
import numpy as np
from toolkit.core.run_files import BASELINE_FILE
from toolkit.config.schema import RunConfig
from toolkit.data.load import LoadedData
from toolkit.metrics.classification import prediction_scorer
from toolkit.advice.baselines.candidate import Candidate, best_baseline, score_candidate


def fingerprint(config: RunConfig) -> str:
    """What decides the baselines' numbers: a saved baseline.json is reused only if it matches."""
    keys = {"task": config.task, "metrics": config.metrics, "seed": config.training.get("seed"),
            "data": dataclasses.asdict(config.data),
            "cnn_epochs": config.baseline.cnn_epochs}  # not `background`: where, not what
    return hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:16]


def candidates_and_inputs(config: RunConfig, data: LoadedData) -> tuple[list[Candidate],
                                                                        dict[str, Any]]:
    if config.task == "text-classification":
        from toolkit.advice.baselines import text

        return text.candidates(), text.inputs_from_splits(data.splits, config)
    if config.task == "image-classification":
        from toolkit.advice.baselines import image

        return (image.candidates(config.baseline.cnn_epochs, seed=config.training.get("seed", 42)),
                image.inputs_from_splits(data.splits, getattr(config.data, "image_column", "image")))
    raise NotImplementedError(f"no baselines for task {config.task}")


def run_baselines(config: RunConfig, data: LoadedData) -> dict[str, Any]:
    """Fit and score every baseline of the task; the dict that baseline.json holds."""
    candidates, inputs = candidates_and_inputs(config, data)
    labels = {split: np.asarray(ds[data.label_column]) for split, ds in data.splits.items()}
    score = prediction_scorer(config.metrics)
    results = [score_candidate(c, inputs, labels, score) for c in candidates]
    return {"task": config.task, "fingerprint": fingerprint(config), "metrics": config.metrics,
            "split_sizes": {split: len(ds) for split, ds in data.splits.items()},
            "best": best_baseline(results, config.metrics[0])["name"], "baselines": results}


def read_saved(path: Path, config: RunConfig) -> dict[str, Any] | None:
    """A baseline.json from `ftk baseline` for this very config and data, else None."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return saved if saved.get("fingerprint") == fingerprint(config) else None


def write_baselines(path: Path, result: dict[str, Any]) -> None:
    path.write_text(json.dumps(result, indent=2) + "\n")


def by_name(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in result["baselines"] if r["name"] == name)


def describe_baselines(result: dict[str, Any]) -> str:
    """A console table: one line per baseline, validation and test scores, fit time."""
    metrics = result["metrics"]
    lines = ["Baselines (fit on train; scored with the run's metrics):"]
    for r in result["baselines"]:
        cells = "  ".join(f"{split[:4]} {name} {r[split][name]:.4f}"
                          for split in ("validation", "test") if split in r for name in metrics)
        star = " *" if r["name"] == result["best"] else ""
        lines.append(f"  {r['name']:<16} {cells}  fit {r['fit_s']:.1f} s{star}")
    lines.append("  (* best on validation)")
    return "\n".join(lines)


def start_baselines_for_run(config: RunConfig, data: LoadedData, output_dir: Path,
                            on_gpu: bool) -> Callable[[], dict[str, Any] | None]:
    """`ftk train`'s baselines; returns `collect()`, which gives them (None when switched off or
    on a non-main process). A matching baseline.json left by `ftk baseline` in the run directory
    is reused; else they are fitted now, or in a side process while the model trains
    (baseline.background; by default when training on a GPU), and `collect()` waits for them."""
    from toolkit.core.log import is_main_process, say

    if not config.baseline.enabled or not is_main_process():
        return lambda: None
    saved = read_saved(output_dir / BASELINE_FILE, config)
    if saved is not None:
        say(f"Baselines: reusing {output_dir / BASELINE_FILE} (same data, seed and metrics)")
        say(describe_baselines(saved))
        return lambda: saved
    background = config.baseline.background
    if background or (background is None and on_gpu):
        say("Baselines: fitting the cheap models in a side process while the model trains "
            "(baseline.enabled: false skips them)")
        return fit_in_side_process(config, data)
    say("Baselines: fitting the cheap models first (baseline.enabled: false skips this)")
    result = run_baselines(config, data)
    say(describe_baselines(result))
    return lambda: result


def fit_in_side_process(config: RunConfig, data: LoadedData) -> Callable[[], dict[str, Any] | None]:
    """run_baselines in a fresh process (spawned: the parent may hold a CUDA context) with one
    thread, so it leaves the other cores to the DataLoader workers that feed the GPU."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from toolkit.core.log import say, warn

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=use_one_thread)
    future = pool.submit(run_baselines, config, data)

    def collect() -> dict[str, Any] | None:
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - the trained model must not be lost to a baseline
            warn(f"The baselines failed in their side process ({type(exc).__name__}: {exc}); "
                 f"the run has no baseline comparison. `ftk baseline` with the same config "
                 f"fits them alone and shows the full error.")
            return None
        finally:
            pool.shutdown()
        say(describe_baselines(result))
        return result

    return collect


def use_one_thread() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)  # BLAS and OpenMP pools of numpy and scikit-learn
