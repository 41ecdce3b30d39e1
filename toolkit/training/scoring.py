"""`ftk train`, top to bottom: config -> data -> task -> trainer -> artifacts.

Every stage is one call with a typed value in between; read `train` to follow a whole run.
"""

from __future__ import annotations

import resource
from typing import Any
import numpy as np
from sklearn.metrics import confusion_matrix
from toolkit.data.load import LoadedData
from toolkit.metrics.test_report import per_class_report


def final_metrics(trainer: Any, splits: Any, data: LoadedData,
                  train_metrics: dict[str, float]) -> dict[str, Any]:
    """Validation metrics of the kept (best) model, then the one look at the test split."""
    metrics: dict[str, Any] = {k: v for k, v in train_metrics.items()}
    metrics.update(trainer.evaluate())
    metrics["best_checkpoint_step"] = best_step(trainer.state.best_model_checkpoint)
    if "test" in splits:
        prediction = trainer.predict(splits["test"], metric_key_prefix="test")
        metrics.update(prediction.metrics)
        predicted = np.argmax(prediction.predictions, axis=-1)
        metrics["test_per_class"] = per_class_report(prediction.label_ids, predicted,
                                                     data.label_names)
        metrics["test_confusion_matrix"] = confusion_matrix(
            prediction.label_ids, predicted, labels=list(range(len(data.label_names)))).tolist()
    return metrics


def best_step(checkpoint: str | None) -> int | None:
    return int(checkpoint.rsplit("-", 1)[-1]) if checkpoint else None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB); the
    largest finished DataLoader worker is counted when it is bigger."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)
