"""The Python API: what `ftk train`, `ftk search`, `ftk pretrain`, `ftk predict` and `ftk
evaluate` do, for notebooks and scripts.

    import toolkit

    result = toolkit.train({"data": {"train_file": "reviews.csv"}}, num_train_epochs=2)
    result.metrics["test_accuracy"], result.verdict, result.run_dir, result.trainer
    toolkit.predict(result.run_dir, ["a new review", "another one"])  # or a DataFrame
    toolkit.push(result.run_dir, "me/reviews-minilm")  # then toolkit.predict("me/...", ...)
    found = toolkit.search("recipe.yaml", budget="30m")  # found.best_params, found.run.metrics

A recipe is a YAML path, a dict, a RunConfig, or None (the embedded default recipe, as `ftk
train` with no --config). Keyword overrides work like the command line's `--key value`:
top-level and TrainingArguments names (`learning_rate=5e-5`), a section as a dict (`data={
"train_file": "my.csv"}`) or a dotted name (`**{"data.train_file": "my.csv"}`). Bad input
raises `toolkit.UserError`, whose message is what the CLI prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from toolkit.commands.pretrain import pretrain as pretrain_command
from toolkit.commands.search import SearchResult
from toolkit.commands.search import search as search_command
from toolkit.commands.train import train as train_command
from toolkit.commands.train import train_after_pretrain
from toolkit.config.load import config_from_raw, read_yaml
from toolkit.config.recipes import DEFAULT_RECIPE, find_recipe
from toolkit.config.schema import SECTIONS, RunConfig
from toolkit.config.search_space import parse_budget
from toolkit.core.errors import UserError
from toolkit.data.in_memory import in_memory_overrides, save_split
from toolkit.outputs.hub import push_run
from toolkit.run.stages import RunResult
from toolkit.use.evaluate import evaluate_run
from toolkit.use.options import (
    EvaluateOptions,
    Naming,
    PredictOptions,
    describe_options,
    options_from_keywords,
)
from toolkit.use.predict import predict as predict_command
from toolkit.use.python_inputs import check_data_kind

Recipe = str | Path | Mapping[str, Any] | RunConfig | None
# In-memory data: a pandas DataFrame, a datasets.Dataset, a list of row dicts, a dict of columns
Data = Any


def load_config(config: Recipe = None, **overrides: Any) -> RunConfig:
    """The validated RunConfig of `config` with `overrides` applied (see the module doc)."""
    return recipe_config(config, "config", overrides)


def recipe_config(config: Recipe, argument: str, overrides: Mapping[str, Any]) -> RunConfig:
    """load_config, naming `argument` (the parameter it came in) when `config` is no recipe."""
    if not (config is None or isinstance(config, (str, Path, Mapping, RunConfig))):
        raise UserError(
            f"{argument} must be a recipe: the path of a YAML file (str or Path), the name of "
            f"a packaged recipe, a dict of config keys or a RunConfig (None: the default "
            f"recipe); got {type(config).__name__} {config!r:.60}."
        )
    if isinstance(config, RunConfig):
        raw, source = config.to_dict(), config.source
    elif isinstance(config, Mapping):
        raw, source = dict(config), None
    else:
        path = find_recipe(config) if config is not None else DEFAULT_RECIPE
        raw, source = read_yaml(path), str(path)
    return config_from_raw(raw, override_pairs(overrides), source)


def load_config_with_data(
    config: Recipe, train: Data, validation: Data, test: Data, overrides: dict[str, Any]
) -> RunConfig:
    """load_config, with the splits handed over in memory (None: not given) saved as files and
    set as the data source (data/in_memory.py)."""
    splits = {"train": train, "validation": validation, "test": test}
    return load_config(config, **overrides, **in_memory_overrides(splits))


def override_pairs(overrides: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Keyword overrides -> (dotted key, value), as `--key value` gives them; a section given
    as a dict sets each of its keys (the recipe's other keys of that section stay)."""
    pairs = []
    for key, value in overrides.items():
        if key in SECTIONS and isinstance(value, Mapping):
            pairs += [(f"{key}.{name}", item) for name, item in value.items()]
        else:
            pairs.append((key, value))
    return pairs


def train(
    config: Recipe = None,
    *,
    train_data: Data = None,
    validation_data: Data = None,
    test_data: Data = None,
    overwrite: bool = False,
    resume: bool = False,
    pretrain: Recipe = None,
    callbacks: Sequence[TrainerCallback] = (),
    **overrides: Any,
) -> RunResult:
    """Fine-tune, as `ftk train` does; returns the run directory, metrics.json's contents, the
    verdict against the baselines and the Trainer. `train_data` (`validation_data`,
    `test_data`): data in memory instead of the recipe's source, saved as Parquet first (see
    data/in_memory.py). `pretrain`: a pre-training recipe run first (or reused when
    finished), as `ftk train --pretrain`."""
    check_callbacks(callbacks)  # before anything is written: a retry finds output_dir free
    if pretrain is not None and (resume or callbacks):
        raise UserError(
            "train(pretrain=...) takes neither resume nor callbacks: it runs two trainings. "
            "Call pretrain() and train() one after the other to resume or watch either."
        )
    run_config = load_config_with_data(config, train_data, validation_data, test_data, overrides)
    if pretrain is not None:
        pretraining = recipe_config(pretrain, "pretrain", {})
        return train_after_pretrain(run_config, pretraining, overwrite=overwrite)
    return train_command(run_config, overwrite=overwrite, resume=resume, callbacks=callbacks)


def check_callbacks(callbacks: Any) -> None:
    """A list of TrainerCallbacks (instances, or classes the Trainer instantiates): anything
    else failed only once training began, after output_dir was written."""
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Sequence):
        raise UserError(
            f"callbacks must be a list of transformers TrainerCallback objects; got "
            f"{type(callbacks).__name__}."
        )
    for i, callback in enumerate(callbacks):
        is_class = isinstance(callback, type) and issubclass(callback, TrainerCallback)
        if not (is_class or isinstance(callback, TrainerCallback)):
            raise UserError(
                f"callbacks[{i}] is {type(callback).__name__} {callback!r:.60}, not a "
                f"transformers TrainerCallback: pass an instance of a TrainerCallback "
                f"subclass (or the class)."
            )


def search(
    config: Recipe = None,
    *,
    train_data: Data = None,
    validation_data: Data = None,
    test_data: Data = None,
    budget: str | float | None = None,
    trials: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    **overrides: Any,
) -> SearchResult:
    """Hyper-parameter search, as `ftk search`: trials until `trials` have finished (in all,
    with `resume`) and/or the `budget` is spent (a duration as --budget takes it, "30m",
    "1h30m", or seconds), then the best trial trained into output_dir. Returns a
    SearchResult: `.run` (a RunResult, as `train` gives), `.best_params`, `.best_trial`,
    `.trials` (search.json's records) and `.stopped_because`. `train_data` (...): data in
    memory, as for `train`."""
    check_limits(budget, trials)
    budget_s = parse_budget(budget) if isinstance(budget, str) else budget
    if budget_s is not None and budget_s <= 0:
        raise UserError(f"budget must be a positive duration, got {budget!r}.")
    run_config = load_config_with_data(config, train_data, validation_data, test_data, overrides)
    return search_command(run_config, budget_s, trials, resume=resume, overwrite=overwrite)


def check_limits(budget: Any, trials: Any) -> None:
    """search's budget: a duration or seconds; trials: a whole number (None: no such limit)."""
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, (str, int, float))
    ):
        raise UserError(
            f"budget must be a duration such as '30m' or '1h30m', or seconds; got "
            f"{type(budget).__name__} {budget!r:.40}."
        )
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int)):
        raise UserError(
            f"trials must be a whole number; got {type(trials).__name__} {trials!r:.40}."
        )


def pretrain(config: Recipe, *, overwrite: bool = False, **overrides: Any) -> RunResult:
    """Continued pre-training (masked-lm or masked-image-modeling), as `ftk pretrain`."""
    return pretrain_command(load_config(config, **overrides), overwrite=overwrite)


def predict(run: str | Path, data: Any = None, **options: Any) -> list[dict[str, Any]]:
    """Predictions of a finished run: one dict per input (its row, text or path, then
    pred_label, pred_score, ...; a regression run's pred_value; a multi-label run's
    pred_labels and pred_scores above `threshold`, by default the run's tuned one). `run`: a
    run or checkpoint folder, or a Hub model repo id (downloaded at `revision`, default main).
    `data`: what `evaluate` takes (a pandas DataFrame, a datasets.Dataset, a list of row
    dicts, a dict of columns, a Path of a table), whose rows are predicted from the run's text
    column (or `text_column`); or a list of texts, or one text as a str. An image run takes
    the path of an image or of a folder of images, or a list of image paths. `output` (.csv or
    .jsonl) also writes them; without it nothing is printed. The keyword options are `ftk
    predict`'s (below, from use/options.py)."""
    check_run(run)
    earlier_name = options.pop("inputs", None)  # the name this argument had before
    data = earlier_name if data is None else data
    check_data_kind(data, "data")
    return predict_command(
        run, data=data, show=False, options=options_from_keywords(PredictOptions, options)
    )


def check_run(run: Any) -> None:
    if not isinstance(run, (str, Path)):
        raise UserError(
            f"run must be a run or checkpoint folder (str or Path) or a Hub model repo id; got "
            f"{type(run).__name__} {run!r:.40}."
        )


def evaluate(run: str | Path, data: str | Path | Data, **options: Any) -> dict[str, Any]:
    """The run's metrics on a labelled table or class-folder tree, as `ftk evaluate`, or on
    data in memory (as `train_data` takes it). `run`: as for `predict` (a folder, or a Hub
    model repo id at `revision`). The keyword options are `ftk evaluate`'s (below, from
    use/options.py)."""
    check_run(run)
    settings = options_from_keywords(EvaluateOptions, options)
    naming = Naming("data", python=True)
    if not isinstance(data, (str, Path)):
        data = save_split(data, "evaluation", name="data")
        naming = Naming("data", python=True, path_shown=False)  # the file is ftk's, not theirs
    return evaluate_run(run, Path(data), options=settings, naming=naming)


# the options, declared once (use/options.py), listed in the functions' help
predict.__doc__ = f"{predict.__doc__}\n\n{describe_options(PredictOptions)}"
evaluate.__doc__ = f"{evaluate.__doc__}\n\n{describe_options(EvaluateOptions)}"


def push(
    run: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    include: Sequence[str] = (),
    dry_run: bool = False,
) -> str:
    """Upload a finished run (model, processor, card, run_config.yaml, records, plots; files
    matching the `include` patterns too) to the Hub model repo `repo_id` in one commit, as
    `ftk push`; returns the repo's URL ('' for a `dry_run`, which only lists the files). The
    endpoint and token are huggingface_hub's: HF_ENDPOINT, HF_TOKEN or `hf auth login`."""
    return push_run(Path(run), repo_id, private=private, include=include, dry_run=dry_run)
