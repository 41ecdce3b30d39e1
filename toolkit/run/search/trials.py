"""A search's trials: each trains in its own folder (removed after) on the data prepared once,
with the trial's values, reporting each evaluation to the pruner.

Under `accelerate launch` every process trains every trial (data-parallel, as `ftk train`); the
main process alone holds the study and decides what runs next and what is pruned, and the
others take its decisions (`main_decides`), so all of them enter and leave each trial together.
"""

from __future__ import annotations

import dataclasses
import gc
import shutil
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import optuna
import torch
from optuna.trial import FrozenTrial, TrialState
from transformers import TrainerCallback

from toolkit.config.search_space import Param, trial_config
from toolkit.core.distributed import main_decides, wait_for_everyone
from toolkit.core.log import say, warn
from toolkit.core.run_files import TRIALS_DIR
from toolkit.data.folds import fold_splits
from toolkit.run.assembly import assemble_trainer
from toolkit.run.search.budget import budget_exhausted, durations, finished, trial_overruns
from toolkit.run.search.study import distributions, metric_key
from toolkit.run.stages import Plan, PreparedData, build_model, open_run_dir, plan_run
from toolkit.training.pruning import PruningCallback, should_stop
from toolkit.training.trainer import ToolkitTrainer


@dataclass
class TrialData:
    """What every trial trains on: the prepared splits, or with search.folds one PreparedData
    per fold (prepared once, reused by every trial)."""

    prepared: PreparedData
    folds: list[PreparedData] | None
    compute_metrics: Any


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


def prepare_folds(plan: Plan, prepared: PreparedData) -> list[PreparedData]:
    config = plan.config
    assert config.search.folds is not None, "folds are prepared only when search.folds is set"
    raw = fold_splits(prepared.data, config.search.folds, config.split_seed)
    with plan.args.main_process_first(desc="fold preparation"):
        ready = [plan.task.prepare(fold, prepared.processor, config) for fold in raw]
    return [dataclasses.replace(prepared, splits=splits) for splits in ready]


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
        if data.folds is None:
            budget = BudgetCallback(clock or SearchClock(started, None), trial)
            value, scores, pruned = train_one_split(trial, trial_plan, data, budget)
        else:
            value, scores, pruned = train_folds(trial, trial_plan, data)
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
    if data.folds is not None:
        trial.set_user_attr("folds", len(data.folds))
    if pruned:
        return study_tell(trial, state=TrialState.PRUNED)
    return study_tell(trial, values=value)


def train_one_split(
    trial: optuna.Trial | None, trial_plan: Plan, data: TrialData, *callbacks: TrainerCallback
) -> tuple[float, list[float], bool]:
    """(best validation score, the score of each evaluation, pruned) of one model, reported to
    the pruner at each evaluation."""
    metric = str(trial_plan.args.metric_for_best_model)  # build_training_arguments sets it
    reporter = PruningCallback(trial, metric if metric.startswith("eval_") else f"eval_{metric}")
    trainer = train_model(trial_plan, data.prepared, data.compute_metrics, reporter, *callbacks)
    return best_score(trainer), reporter.scores, reporter.pruned


def train_folds(
    trial: optuna.Trial | None, trial_plan: Plan, data: TrialData
) -> tuple[float, list[float], bool]:
    """(mean of the folds' best validation scores, each fold's, pruned): one model per fold;
    the running mean goes to the pruner after each fold, so a poor trial stops early."""
    scores: list[float] = []
    folds = data.folds or []
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
    best = trial.value if trial.value is not None else (max(scores) if scores else float("nan"))
    if trial.state == TrialState.PRUNED:
        return (
            f"pruned after evaluation {len(scores)} (validation {metric} {scores[-1]:.4f} "
            f"lags the median), {seconds:.0f} s"
        )
    done = f"validation {metric} {best:.4f} after {len(scores)} evaluations, {seconds:.0f} s"
    stopped = trial.user_attrs.get("stopped_for_budget")
    return f"{done}; {stopped}" if stopped else done


def best_score(trainer: Any) -> float:
    """The best validation score of a trial's Trainer (it evaluates every epoch)."""
    if trainer.state.best_metric is None:
        raise RuntimeError("the trial's Trainer never evaluated: no validation score to report")
    return float(trainer.state.best_metric)
