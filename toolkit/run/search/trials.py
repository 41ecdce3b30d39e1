"""A search's trials: each trains in its own folder (removed after) on the data prepared once,
with the trial's values, reporting each evaluation to the pruner.

Under `accelerate launch` every process trains every trial (data-parallel, as `ftk train`); the
main process alone holds the study and decides what runs next and what is pruned, and the
others take its decisions (`main_decides`), so all of them enter and leave each trial together.

A trial whose data.max_length (search.max_length) differs from the prepared data's trains on the
splits (and folds) tokenized again at its length: once per distinct length, the first trial at
it, kept in TrialData for the later ones. One whose class_weights (search.class_weights) differs
gets the loss's weights computed for its setting (once per setting).
"""

from __future__ import annotations

import dataclasses
import gc
import shutil
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import datasets
import optuna
import torch
from optuna.trial import FrozenTrial, TrialState
from transformers import TrainerCallback

from toolkit.advice.data_size import uneven
from toolkit.advice.truncation import readable_length
from toolkit.config.schema import RunConfig
from toolkit.config.search_space import DataFacts, Param, trial_config
from toolkit.core.columns import list_lengths
from toolkit.core.distributed import main_decides, wait_for_everyone
from toolkit.core.log import say, warn
from toolkit.core.run_files import TRIALS_DIR
from toolkit.data.folds import fold_splits
from toolkit.run.assembly import assemble_trainer
from toolkit.run.search.budget import (
    SECONDS_PER_TOKEN,
    SKIPPED,
    TRIAL_MAX_LENGTH,
    TRIAL_STEP_EXAMPLES,
    budget_exhausted,
    durations,
    finished,
    least_seconds_per_token,
    skipped_in_a_row,
    trial_overruns,
    trial_would_overrun,
)
from toolkit.run.search.study import distributions, metric_key
from toolkit.run.stages import (
    Plan,
    PreparedData,
    build_model,
    loss_class_weights,
    measure_cut,
    open_run_dir,
    plan_run,
    training_class_counts,
)
from toolkit.training.arguments import total_steps
from toolkit.training.pruning import PruningCallback, should_stop
from toolkit.training.trainer import ToolkitTrainer

# the data a trial trains on: its splits, and with search.folds one PreparedData per fold
Inputs = tuple[PreparedData, list[PreparedData] | None]


@dataclass
class TrialData:
    """What every trial trains on: the prepared splits, or with search.folds one PreparedData
    per fold (prepared once, reused by every trial); and the splits (and folds) tokenized again
    at each other data.max_length a trial asked for, by length."""

    prepared: PreparedData
    folds: list[PreparedData] | None
    compute_metrics: Any
    config: RunConfig  # the one `prepared` was prepared with (its max_length, class_weights)
    raw_folds: list[datasets.DatasetDict] | None = None  # the folds' rows, untokenized
    by_length: dict[int, Inputs] = field(default_factory=dict)
    weights: dict[str, torch.Tensor | None] = field(default_factory=dict)


def trial_data(plan: Plan, prepared: PreparedData, compute_metrics: Any) -> TrialData:
    """The data every trial reads: `prepared`, and with search.folds its k folds, tokenized."""
    config = plan.config
    if not config.search.folds:
        return TrialData(prepared, None, compute_metrics, config)
    raw = fold_splits(prepared.data, config.search.folds, config.split_seed)
    return TrialData(prepared, prepare_folds(plan, prepared, raw), compute_metrics, config, raw)


def prepare_folds(
    plan: Plan, prepared: PreparedData, raw: list[datasets.DatasetDict]
) -> list[PreparedData]:
    """Each fold's rows tokenized as `plan` reads them (its data.max_length)."""
    with plan.args.main_process_first(desc="fold preparation"):
        ready = [plan.task.prepare(fold, prepared.processor, plan.config) for fold in raw]
    return [dataclasses.replace(prepared, splits=splits) for splits in ready]


def data_facts(plan: Plan, prepared: PreparedData) -> DataFacts:
    """What the data's `auto` in the search space needs (config/search_space.py DataFacts)."""
    data = prepared.data
    counts = training_class_counts(plan.task, plan.config, data) if data.target.single_class else {}
    return DataFacts(uneven(counts), readable_length(prepared.processor))


def inputs_for(trial_plan: Plan, data: TrialData) -> Inputs:
    """The splits (and folds) trial_plan trains on: tokenized at its data.max_length, with the
    loss's weights for its class_weights."""
    config = trial_plan.config
    length = config.data.max_length
    if length == data.config.data.max_length:
        prepared, folds = data.prepared, data.folds
    else:
        if length not in data.by_length:
            data.by_length[length] = tokenized_at(trial_plan, data)
        prepared, folds = data.by_length[length]
    if config.class_weights == data.config.class_weights:
        return prepared, folds
    setting = str(config.class_weights)
    if setting not in data.weights:
        data.weights[setting] = loss_class_weights(config, prepared.data)
    weights = data.weights[setting]
    weighted = [dataclasses.replace(p, class_weights=weights) for p in folds] if folds else None
    return dataclasses.replace(prepared, class_weights=weights), weighted


def tokenized_at(trial_plan: Plan, data: TrialData) -> Inputs:
    """The prepared splits (and folds) tokenized again at trial_plan's data.max_length, with
    the truncation measured at that length (said once, the first trial at it)."""
    config, prepared = trial_plan.config, data.prepared
    loaded, processor = prepared.data, prepared.processor
    with trial_plan.args.main_process_first(desc="data preparation"):
        splits = trial_plan.task.prepare(loaded.splits, processor, config)
    truncation = measure_cut(config, loaded, splits, processor)
    cut = (
        f": {truncation.cut:,} of {truncation.total:,} training texts fill it"
        if truncation is not None
        else ""
    )
    say(f"Data tokenized again at data.max_length {config.data.max_length}{cut}")
    again = dataclasses.replace(prepared, splits=splits, truncation=truncation)
    folds = prepare_folds(trial_plan, again, data.raw_folds) if data.raw_folds else None
    return again, folds


@dataclass
class SearchClock:
    started: float  # time.perf_counter() when the search's trials began
    budget_s: float | None


class BudgetCallback(TrainerCallback):
    """Stops a trial at an evaluation when the rest of it and the final run would overrun
    the budget (`trial_overruns`); the main process decides, every process stops there. The
    reason is kept on the optuna trial (`stopped_for_budget`) for the console and search.json."""

    def __init__(self, clock: SearchClock, trial: optuna.Trial | None):
        self.clock, self.trial = clock, trial
        self.trial_started = time.perf_counter()
        # the trial's speed, when training ends: its optimizer steps, and the seconds from its
        # first step to its end (evaluations in; building the model and the data out, as a
        # fixed cost spread over a short trial's steps would overstate a long one's time)
        self.steps_done, self.training_s = 0, 0.0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.training_started = time.perf_counter()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.steps_done = state.global_step
        self.training_s = time.perf_counter() - self.training_started

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        budget_s = self.clock.budget_s
        if budget_s is None or not state.max_steps:
            return
        now = time.perf_counter()
        progress = state.global_step / state.max_steps
        search_elapsed, trial_elapsed = now - self.clock.started, now - self.trial_started
        reason = main_decides(
            lambda: trial_overruns(search_elapsed, trial_elapsed, progress, budget_s)
        )
        if reason:
            control.should_training_stop = True
            if self.trial is not None:
                self.trial.set_user_attr("stopped_for_budget", reason)


def run_trials(
    study: optuna.Study | None,
    space: list[Param],
    plan: Plan,
    data: TrialData,
    budget_s: float | None,
    max_trials: int | None,
) -> str:
    """Trials until the count or the budget is reached; returns why the search stopped.
    `study`: on the main process, which asks it for each trial; None on the others."""
    started = time.perf_counter()
    metric = metric_key(plan.config)
    runs_per_trial = len(data.folds) if data.folds else 1
    while True:
        asked: list[optuna.Trial] = []
        limits = (started, budget_s, max_trials, runs_per_trial)
        step = main_decides(partial(next_step, study, space, asked, *limits))
        if isinstance(step, str):
            return step
        number, params = step
        label = f"{number + 1}" + (f"/{max_trials}" if max_trials else "")
        say(f"Trial {label}: {format_params(params)}")
        trial = asked[0] if asked else None
        clock = SearchClock(started, budget_s)
        outcome = run_trial(trial, number, params, plan, data, clock)
        release_accelerator_memory()
        if outcome is not None:
            say(f"Trial {label}: {describe_outcome(outcome, metric)}")


def next_step(
    study: optuna.Study | None,
    space: list[Param],
    asked: list[optuna.Trial],
    started: float,
    budget_s: float | None,
    max_trials: int | None,
    runs_per_trial: int,
) -> str | tuple[int, dict[str, Any]]:
    """Why the search stops, or the next trial's (number, values): asked of the study, the
    trial appended to `asked`. Run by the main process, which holds the study."""
    assert study is not None, "only the main process asks the study"
    done = finished(study)
    if max_trials is not None and len(done) >= max_trials:
        return f"{len(done)} trials finished (--trials {max_trials})"
    if budget_s is not None:
        elapsed = time.perf_counter() - started
        reason = budget_exhausted(elapsed, durations(done), budget_s, runs_per_trial)
        reason = reason or skipped_in_a_row(study.get_trials(deepcopy=False), budget_s - elapsed)
        if reason:
            return reason
    trial = study.ask(distributions(space))
    asked.append(trial)
    return trial.number, dict(trial.params)


def run_trial(
    trial: optuna.Trial | None,
    number: int,
    params: dict[str, Any],
    plan: Plan,
    data: TrialData,
    clock: SearchClock | None = None,
) -> FrozenTrial | None:
    """Train trial `number` with `params` in its own folder (removed after), reporting to the
    pruner. The main process (which holds `trial`) tells the study it completed or was pruned
    and returns it; the others return None."""
    started = time.perf_counter()
    folder = plan.output_dir / TRIALS_DIR / f"trial-{number:03d}"
    trial_plan = plan_run(trial_config(plan.config, params, str(folder)))
    try:
        prepared, folds = inputs_for(trial_plan, data)
        skipped = main_decides(lambda: would_overrun(trial, trial_plan, prepared, folds, clock))
        if skipped:
            return skip_trial(trial, skipped)
        budget = BudgetCallback(clock or SearchClock(started, None), trial)
        if folds is None:
            value, scores, pruned = train_one_split(trial, trial_plan, prepared, data, budget)
        else:
            value, scores, pruned = train_folds(trial, trial_plan, folds, data)
    except torch.OutOfMemoryError:
        if trial_plan.args.world_size > 1:  # the others wait in a collective call: launch ends
            raise
        # a large batch or model that does not fit says something about those values, not
        # about the search: recorded, and the next trial runs
        warn(f"Trial {number + 1} ran out of memory with {format_params(params)}")
        assert trial is not None, "one process: the main one, which holds the trial"
        trial.set_user_attr("duration_s", round(time.perf_counter() - started, 1))
        return study_tell(trial, state=TrialState.FAIL)
    except BaseException:  # stopped (Ctrl-C) or broken: recorded, so --resume skips it
        if trial is not None:
            study_tell(trial, state=TrialState.FAIL)
        raise
    finally:
        if trial_plan.args.should_save:
            shutil.rmtree(folder, ignore_errors=True)
    if trial is None:
        return None
    trial.set_user_attr("duration_s", round(time.perf_counter() - started, 1))
    trial.set_user_attr("evaluations", scores)
    if folds is not None:
        trial.set_user_attr("folds", len(folds))
    record_speed(trial, trial_plan, prepared, budget)
    # a trial stopped for the budget is no candidate: its final run, in full, would not fit
    # (why it stopped), and its score is a shorter run's; its evaluations still guide the sampler
    if pruned or trial.user_attrs.get("stopped_for_budget"):
        return study_tell(trial, state=TrialState.PRUNED)
    return study_tell(trial, values=value)


def would_overrun(
    trial: optuna.Trial | None,
    trial_plan: Plan,
    prepared: PreparedData,
    folds: list[PreparedData] | None,
    clock: SearchClock | None,
) -> str | None:
    """Why the trial is not started, or None: its time, projected from the fastest finished
    trial at its max_length or shorter (`least_seconds_per_token`) over the tokens it would
    read (its data is tokenized at its length by now), and its final run would not fit in
    what is left of the budget. Run by the main process. Trials on folds are not projected
    (nor stopped midway): their speed is not recorded."""
    if clock is None or clock.budget_s is None or folds is not None:
        return None
    assert trial is not None, "only the main process holds the trial"
    length, step_examples = trial_plan.config.data.max_length, examples_per_step(trial_plan)
    rate = least_seconds_per_token(finished(trial.study), length, step_examples)
    if rate is None:
        return None
    train = prepared.splits["train"]
    examples = total_steps(len(train), trial_plan.args) * step_examples
    elapsed = time.perf_counter() - clock.started
    return trial_would_overrun(elapsed, rate * examples * tokens_per_example(train), clock.budget_s)


def record_speed(
    trial: optuna.Trial, trial_plan: Plan, prepared: PreparedData, budget: BudgetCallback
) -> None:
    """The trial's training time per token read (no steps: trained on folds, whose speed is
    not recorded)."""
    if budget.steps_done:
        step_examples = examples_per_step(trial_plan)
        tokens = budget.steps_done * step_examples * tokens_per_example(prepared.splits["train"])
        trial.set_user_attr(SECONDS_PER_TOKEN, budget.training_s / tokens)
        trial.set_user_attr(TRIAL_MAX_LENGTH, trial_plan.config.data.max_length)
        trial.set_user_attr(TRIAL_STEP_EXAMPLES, step_examples)


def tokens_per_example(train: datasets.Dataset) -> float:
    """The mean input_ids of the training split (Arrow, O(rows)); 1 where inputs are not
    tokenized up front (images, augmented text): the speed is then per example."""
    if "input_ids" not in train.column_names:
        return 1.0
    return max(1.0, float(list_lengths(train, "input_ids").mean()))


def examples_per_step(trial_plan: Plan) -> int:
    """Training examples one process reads an optimizer step."""
    args = trial_plan.args
    return int(args.per_device_train_batch_size * args.gradient_accumulation_steps)


def skip_trial(trial: optuna.Trial | None, reason: str) -> FrozenTrial | None:
    """A trial not started for the budget: told pruned, so the sampler proposes cheaper
    values; not counted as finished (it has no duration). The main process returns it."""
    if trial is None:
        return None
    trial.set_user_attr(SKIPPED, reason)
    return study_tell(trial, state=TrialState.PRUNED)


def train_one_split(
    trial: optuna.Trial | None,
    trial_plan: Plan,
    prepared: PreparedData,
    data: TrialData,
    *callbacks: TrainerCallback,
) -> tuple[float, list[float], bool]:
    """(best validation score, the score of each evaluation, pruned) of one model, reported to
    the pruner at each evaluation."""
    metric = str(trial_plan.args.metric_for_best_model)  # build_training_arguments sets it
    reporter = PruningCallback(trial, metric if metric.startswith("eval_") else f"eval_{metric}")
    trainer = train_model(trial_plan, prepared, data.compute_metrics, reporter, *callbacks)
    return best_score(trainer), reporter.scores, reporter.pruned


def train_folds(
    trial: optuna.Trial | None, trial_plan: Plan, folds: list[PreparedData], data: TrialData
) -> tuple[float, list[float], bool]:
    """(mean of the folds' best validation scores, each fold's, pruned): one model per fold;
    the running mean goes to the pruner after each fold, so a poor trial stops early."""
    scores: list[float] = []
    for fold in folds:
        trainer = train_model(trial_plan, fold, data.compute_metrics)
        scores.append(best_score(trainer))
        del trainer
        release_accelerator_memory()
        mean = sum(scores) / len(scores)
        if should_stop(trial, mean, step=len(scores)) and len(scores) < len(folds):
            return mean, scores, True
    return mean, scores, False


def train_model(
    trial_plan: Plan, prepared: PreparedData, compute_metrics: Any, *callbacks: TrainerCallback
) -> ToolkitTrainer:
    """One model of a trial, trained in the trial's folder (emptied first)."""
    model = build_model(trial_plan, prepared.data)
    open_dir = partial(open_run_dir, trial_plan, overwrite=True)
    trainer, _ = assemble_trainer(
        trial_plan, model, prepared, compute_metrics, open_dir, callbacks=callbacks
    )
    trainer.train()
    wait_for_everyone()  # every process has loaded the best checkpoint before it goes
    return trainer


def release_accelerator_memory() -> None:
    """A finished trial's model and optimizer go before the next one is built."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def study_tell(trial: optuna.Trial, **kwargs: Any) -> FrozenTrial:
    return trial.study.tell(trial, **kwargs)


def format_params(params: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )


def describe_outcome(trial: FrozenTrial, metric: str) -> str:
    if trial.state == TrialState.FAIL:
        return "failed (out of memory); the search goes on"
    scores = trial.user_attrs.get("evaluations", [])
    seconds = trial.user_attrs.get("duration_s", 0)
    folds = trial.user_attrs.get("folds")
    if folds is not None:  # scores: each fold's best; the trial's value: their mean
        each = ", ".join(f"{score:.4f}" for score in scores)
        if trial.state == TrialState.PRUNED:
            return (
                f"pruned after fold {len(scores)} of {folds} (mean validation {metric} "
                f"{sum(scores) / len(scores):.4f} lags the median; folds {each}), {seconds:.0f} s"
            )
        mean = f"mean validation {metric} {trial.value:.4f}"
        return f"{mean} over {folds} folds ({each}), {seconds:.0f} s"
    if SKIPPED in trial.user_attrs:
        return str(trial.user_attrs[SKIPPED])
    stopped = trial.user_attrs.get("stopped_for_budget")
    if stopped:
        return (
            f"{stopped}; validation {metric} {scores[-1] if scores else float('nan'):.4f} at "
            f"evaluation {len(scores)}, {seconds:.0f} s; not a candidate (its final run would "
            f"not fit)"
        )
    best = trial.value if trial.value is not None else (max(scores) if scores else float("nan"))
    if trial.state == TrialState.PRUNED:
        return (
            f"pruned after evaluation {len(scores)} (validation {metric} {scores[-1]:.4f} "
            f"lags the median), {seconds:.0f} s"
        )
    return f"validation {metric} {best:.4f} after {len(scores)} evaluations, {seconds:.0f} s"


def best_score(trainer: Any) -> float:
    """The best validation score of a trial's Trainer (it evaluates every epoch)."""
    if trainer.state.best_metric is None:
        raise RuntimeError("the trial's Trainer never evaluated: no validation score to report")
    return float(trainer.state.best_metric)
