"""TrainingArguments values that transformers checks only when it first uses them (at the first
evaluation, or once data and model are loaded), checked with the config instead: the metric
that picks the best epoch, the reporting integrations and the optimizer's package."""

from __future__ import annotations

import importlib.util
from typing import Any

from toolkit.core.errors import UserError, did_you_mean

# report_to name -> (the module it imports, the pip package that installs it)
REPORTERS = {
    "azure_ml": ("azureml", "azureml-core"),
    "clearml": ("clearml", "clearml"),
    "codecarbon": ("codecarbon", "codecarbon"),
    "comet_ml": ("comet_ml", "comet-ml"),
    "dagshub": ("dagshub", "dagshub"),
    "dvclive": ("dvclive", "dvclive"),
    "flyte": ("flytekit", "flytekit"),
    "mlflow": ("mlflow", "mlflow"),
    "neptune": ("neptune", "neptune"),
    "swanlab": ("swanlab", "swanlab"),
    "tensorboard": ("tensorboard", "tensorboard"),
    "trackio": ("trackio", "trackio"),
    "wandb": ("wandb", "wandb"),
}

# optimizers outside torch -> (the module they import, the pip package)
BITSANDBYTES = ("bitsandbytes", "bitsandbytes")
BITSANDBYTES_OPTIMIZERS = (
    "adamw_bnb_8bit", "adamw_8bit", "ademamix", "ademamix_8bit", "lion_8bit", "lion_32bit",
    "paged_adamw_32bit", "paged_adamw_8bit", "paged_ademamix_32bit", "paged_ademamix_8bit",
    "paged_lion_32bit", "paged_lion_8bit", "rmsprop_bnb", "rmsprop_bnb_8bit",
    "rmsprop_bnb_32bit",
)  # fmt: skip
OPTIMIZER_PACKAGES = {
    **dict.fromkeys(BITSANDBYTES_OPTIMIZERS, BITSANDBYTES),
    "adamw_torch_4bit": ("torchao", "torchao"),
    "adamw_torch_8bit": ("torchao", "torchao"),
    "adamw_anyprecision": ("torchdistx", "torchdistx"),
    "adamw_torch_xla": ("torch_xla", "torch_xla"),
    "adamw_torch_npu_fused": ("torch_npu", "torch_npu"),
    "grokadamw": ("grokadamw", "grokadamw"),
    "lomo": ("lomo_optim", "lomo-optim"),
    "adalomo": ("lomo_optim", "lomo-optim"),
    "stable_adamw": ("optimi", "torch-optimi"),
}
PREFIXED_PACKAGES = {
    "galore_": ("galore_torch", "galore-torch"),
    "schedule_free_": ("schedulefree", "schedulefree"),
    "apollo_": ("apollo_torch", "apollo-torch"),
}


def check_training_keys(training: dict[str, Any], metrics: list[str], tags: bool) -> None:
    """`tags`: a tagging task, whose metrics follow the tag scheme found in the data
    (RunConfig.reading_tags checks metric_for_best_model then)."""
    if not tags:
        check_best_metric(training.get("metric_for_best_model"), metrics)
    check_report_to(training.get("report_to"))
    check_optim(training.get("optim"))


def check_best_metric(best: Any, metrics: list[str]) -> None:
    """It must be a metric the run computes (or the loss), or the Trainer fails with a
    KeyError after the first epoch."""
    if best is None:
        return
    name = str(best).removeprefix("eval_")
    if name == "loss" or name in metrics:
        return
    raise UserError(
        f"Config key 'metric_for_best_model' is '{best}', which this run does not compute: "
        f"its metrics are {', '.join(metrics)} (and loss).{suggestion(name, metrics)} Name "
        f"one of them, or add '{name}' to `metrics`; leaving metric_for_best_model unset "
        f"picks the best epoch by the first of `metrics`."
    )


def suggestion(name: str, candidates: list[str]) -> str:
    """' Did you mean X?': the first candidate that starts with `name` (f1 -> f1_macro,
    adamw -> adamw_torch), else the closest spelling."""
    longer = next((c for c in candidates if c.startswith(name)), None)
    return f" Did you mean '{longer}'?" if longer else did_you_mean(name, candidates)


def check_report_to(report_to: Any) -> None:
    names = [report_to] if isinstance(report_to, str) else list(report_to or [])
    for name in names:
        if name in ("none", "all"):
            continue
        if name not in REPORTERS:
            raise UserError(
                f"Config key 'report_to' names '{name}', which transformers does not report "
                f"to; use none, all or some of {', '.join(REPORTERS)}."
                f"{did_you_mean(name, list(REPORTERS))}"
            )
        module, package = REPORTERS[name]
        if importlib.util.find_spec(module) is None:
            raise UserError(
                f"report_to '{name}' needs the {package} package, which is not installed: "
                f"`pip install {package}`, or leave report_to at none (history.jsonl and the "
                f"report keep every logged number)."
            )


def check_optim(optim: Any) -> None:
    if optim is None:
        return
    from transformers.training_args import OptimizerNames

    known = [o.value for o in OptimizerNames]
    if optim not in known:
        raise UserError(
            f"Config key 'optim' is '{optim}', not an optimizer transformers knows; the usual "
            f"is adamw_torch (the default) or adamw_torch_fused.{suggestion(str(optim), known)}"
        )
    needed = OPTIMIZER_PACKAGES.get(optim) or next(
        (pair for prefix, pair in PREFIXED_PACKAGES.items() if optim.startswith(prefix)), None
    )
    if needed is not None and importlib.util.find_spec(needed[0]) is None:
        raise UserError(
            f"optim '{optim}' needs the {needed[1]} package, which is not installed: "
            f"`pip install {needed[1]}`, or use adamw_torch (the default)."
        )
