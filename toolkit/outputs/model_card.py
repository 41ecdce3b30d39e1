"""The model card (README.md) of a run directory: Hub metadata up top, a readable summary below."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypedDict

from huggingface_hub import EvalResult, ModelCard, ModelCardData, try_to_load_from_cache

from toolkit import __version__
from toolkit.advice.findings import Finding
from toolkit.advice.verdict import Verdict
from toolkit.config.schema import DataConfig, ModelConfig, RunConfig
from toolkit.core.extras import DISTRIBUTION
from toolkit.metrics.classification import split_name
from toolkit.model.lora import adapted_count
from toolkit.model.packaged import hub_id_of, resolve_model_path
from toolkit.tasks import get_task
from toolkit.tasks.fine_tuning import FineTuningTask

# The usage snippet's model id until `ftk push` writes the repo id in its place.
USAGE_PLACEHOLDER = "PATH_OR_REPO_ID"
# the libraries whose installed versions the card lists, after ftk's own (the running code's)
FRAMEWORKS = ("transformers", "torch", "datasets", "accelerate", "huggingface_hub")

HYPERPARAMETERS = (
    "learning_rate",
    "num_train_epochs",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "weight_decay",
    "seed",
)


def data_source_text(data: DataConfig) -> str:
    """Where the data came from, for a model card."""
    if data.builtin:
        return f"packaged demo set `{data.builtin}`"
    if data.hub_id:
        return (
            f"Hub data set `{data.hub_id}`"
            + (f" (config `{data.hub_config}`)" if data.hub_config else "")
            + (f" at revision `{data.hub_revision}`" if data.hub_revision else "")
        )
    folders = [f for f in (data.train_dir, data.validation_dir, data.test_dir) if f]
    if folders:
        return "image folders " + ", ".join(f"`{f}`" for f in folders)
    files = [f for f in (data.train_file, data.validation_file, data.test_file) if f]
    return "local files " + ", ".join(f"`{f}`" for f in files)


def base_model_text(model: ModelConfig) -> str:
    if model.from_config:
        sizes = ", ".join(f"{k}={v}" for k, v in model.from_config.items())
        return f"none: trained from scratch ({sizes})"
    return f"`{model.name_or_path}`"


# Hub metric ids are evaluate's metric names: ftk's regression names map onto them (rmse is
# evaluate's `mse` with squared=False), f1's averaging goes into the arguments.
HUB_REGRESSION_METRICS = {
    "rmse": ("mse", {"squared": False}),
    "mae": ("mae", None),
    "pearson": ("pearsonr", None),
    "spearman": ("spearmanr", None),
}


def hub_metric(name: str) -> tuple[str, dict[str, Any] | None]:
    """ftk's metric name -> (the Hub's metric type, its arguments)."""
    if name in HUB_REGRESSION_METRICS:
        return HUB_REGRESSION_METRICS[name]
    base, average = split_name(name)
    return base, {"average": average} if average else None


def card_metadata(
    config: RunConfig, pipeline_tag: str, metrics: dict[str, Any], model_name: str
) -> ModelCardData:
    split = "test" if any(k.startswith("test_") for k in metrics) else "validation"
    prefix = f"{'test' if split == 'test' else 'eval'}_"
    results = [
        EvalResult(
            task_type=pipeline_tag,
            **card_dataset(config.data),
            dataset_split=split,
            metric_type=hub_metric(name)[0],
            metric_name=name,
            metric_args=hub_metric(name)[1],
            metric_value=float(metrics[prefix + name]),
        )
        for name in config.metrics
        if prefix + name in metrics
    ]
    return ModelCardData(
        base_model=hub_id_of(config.model.name_or_path or ""),
        datasets=[config.data.hub_id] if config.data.hub_id else None,
        library_name="transformers",
        license=card_licence(config.model),
        tags=["ftk", pipeline_tag],
        pipeline_tag=pipeline_tag,
        metrics=list(dict.fromkeys(hub_metric(name)[0] for name in config.metrics)),
        model_name=model_name,
        eval_results=results or None,
    )


class CardDataset(TypedDict):
    """EvalResult's dataset fields."""

    dataset_type: str
    dataset_name: str
    dataset_config: str | None
    dataset_revision: str | None


def card_dataset(data: DataConfig) -> CardDataset:
    """The model-index `dataset` of the results: a Hub set with the config and revision it was
    loaded at (so a score can be traced to the exact data), else the packaged set or "custom"."""
    name = data.hub_id or data.builtin or "custom"
    return {
        "dataset_type": name,
        "dataset_name": name,
        "dataset_config": data.hub_config if data.hub_id else None,
        "dataset_revision": data.hub_revision if data.hub_id else None,
    }


def card_licence(model: ModelConfig) -> str:
    """model.license, else the base model card's licence (a local folder's README.md, or the
    Hub card when the cache holds it), else "unknown": never a guess."""
    if model.license:
        return model.license
    if not model.name_or_path:
        return "unknown"  # from scratch: the licence is the user's to state (model.license)
    location = resolve_model_path(model.name_or_path)
    card = Path(location) / "README.md"
    if not card.is_file() and not Path(location).exists():  # a Hub id: its card, if cached
        try:
            cached = try_to_load_from_cache(location, "README.md", revision=model.revision)
        except ValueError:  # not a valid repo id (HFValidationError is a ValueError)
            cached = None
        card = Path(cached) if isinstance(cached, str) else card
    if not card.is_file():
        return "unknown"
    card_data = ModelCard(card.read_text(encoding="utf-8", errors="replace")).data
    # RepoCard types .data as CardData; a ModelCard's is always its ModelCardData
    licence = card_data.license if isinstance(card_data, ModelCardData) else None
    return str(licence) if licence else "unknown"


def framework_versions() -> str:
    lines = [f"- {DISTRIBUTION} {__version__}"]
    for name in FRAMEWORKS:
        try:
            lines.append(f"- {name} {version(name)}")
        except PackageNotFoundError:
            continue
    return "\n".join(lines)


def epochs_section(history: list[dict[str, Any]], names: list[str], epochs: bool = True) -> str:
    """Every evaluation of training (the final re-evaluation of the kept model left out),
    with the training loss last logged before it; `epochs` False: no epoch column (a streamed
    run has no epochs)."""
    seen, rows, train_loss = set(), [], None
    for row in history:
        if row.get("kind") == "train" and "loss" in row:
            train_loss = row["loss"]
        elif row.get("kind") == "eval" and row["step"] not in seen:
            seen.add(row["step"])
            rows.append((row, train_loss))
    if not rows:
        return ""
    head = [*(["epoch"] if epochs else []), "step", "training loss", "validation loss", *names]
    lines = ["### Per evaluation", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row, loss in rows:
        cells = [
            *([f"{row.get('epoch', 0):.2f}"] if epochs else []),
            str(row["step"]),
            number(loss),
        ]
        cells += [number(row.get(f"eval_{name}")) for name in ["loss", *names]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n" + "\n".join(lines) + "\n"


def number(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


def results_table(metrics: dict[str, Any], names: list[str]) -> str:
    rows = ["| metric | validation | test |", "|---|---|---|"]
    for name in ["loss", *names]:
        cells = [metrics.get(f"{split}_{name}") for split in ("eval", "test")]
        rows.append(
            f"| {name} | " + " | ".join("-" if c is None else f"{c:.4f}" for c in cells) + " |"
        )
    return "\n".join(rows)


def lora_text(lora: dict[str, Any] | None) -> str:
    """The card's LoRA lines ('' for a full fine-tune)."""
    if not lora:
        return ""
    targets = ", ".join(f"`{t}`" for t in lora["target_modules"])
    full = ", ".join(f"`{m}`" for m in lora["modules_to_save"])
    return (
        f"- LoRA (peft): r = {lora['r']}, alpha = {lora['alpha']:g} (update scaled by "
        f"alpha / r = {lora['alpha'] / lora['r']:g}), dropout {lora['dropout']:g}, on "
        f"{targets} ({adapted_count(lora)}); trained in full: {full}\n"
        f"- trained parameters: {lora['trained_parameters']:,} of "
        f"{lora['model_parameters']:,} ({100 * lora['trained_share']:.2f}%); the rest "
        f"stayed as in the base model\n"
        f"- saved merged (this folder loads without peft); the adapter alone is in "
        f'`adapter/`: `PeftModel.from_pretrained(base_model_with_new_head, "adapter")`\n'
    )


def reading_text(line: str) -> str:
    """The usage section's line on how much of an input the model reads, as a paragraph."""
    return f"\n{line}\n" if line else ""


def write_model_card(
    path: Path,
    config: RunConfig,
    pipeline_tag: str,
    metrics: dict[str, Any],
    label_names: list[str],
    model_name: str,
    extra_sections: list[str] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> None:
    data = card_metadata(config, pipeline_tag, metrics, model_name)
    task = get_task(config.task, config.data.tag_scheme)
    # a labelled task (pre-training writes outputs/pretrain_card.py's)
    assert isinstance(task, FineTuningTask)
    target = task.target
    # a stream has no epochs: its length is max_steps (the Trainer ignores num_train_epochs)
    length = "max_steps" if config.data.streaming else "num_train_epochs"
    keys = [length if k == "num_train_epochs" else k for k in HYPERPARAMETERS]
    hyper = "\n".join(f"- `{k}`: {config.training.get(k)}" for k in keys)
    schedule = config.schedule
    warmup = next(
        f"{k} = {getattr(schedule, k)}"
        for k in ("warmup_steps", "warmup_fraction", "warmup_epochs")
        if getattr(schedule, k) is not None
    )
    body = f"""
# {model_name}

Fine-tuned with the `ftk` toolkit for **{config.task}**.

- Base model: {base_model_text(config.model)}
- Data: {data_source_text(config.data)}
- {target.card_line(config, label_names)}

## Results

{results_table(metrics, config.metrics)}
{epochs_section(history or [], config.metrics, epochs=not config.data.streaming)}
## Training

{hyper}
- schedule: warm-up ({warmup}), then `{schedule.decay}` decay to {schedule.min_lr_ratio} x peak
{lora_text(metrics.get("lora"))}
The exact configuration is in `run_config.yaml`; rerun it with
`ftk train --config run_config.yaml --output_dir NEW_DIR`. Curves: `loss.png`,
`learning_rate.png`; every step is in `history.jsonl`.

## Use

```python
from transformers import pipeline
{target.usage_name} = pipeline("{pipeline_tag}", model="{USAGE_PLACEHOLDER}"{task.pipeline_args})
```
{reading_text(task.card_reading(config))}
## Framework versions

{framework_versions()}
"""
    for section in extra_sections or []:
        body += "\n" + section + "\n"
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")
    card.save(str(path))


def report_card_section(verdict: Verdict | None, findings: list[Finding] | None = None) -> str:
    """The model card's pointer to report.md, with the verdict in one line and the
    diagnosis of the run (one bullet a finding)."""
    line = f"\n\n**Verdict:** {verdict.text}" if verdict else ""
    if findings:
        line += "\n\n**Diagnosis:**\n\n" + "\n".join(f"- {f.text}" for f in findings)
    return (
        f"## Run report\n\nData summary, learning curves, confusion matrix, baselines vs "
        f"this model and the warnings of the run: [report.md](report.md).{line}"
    )
