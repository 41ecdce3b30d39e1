"""`ftk search`: hyper-parameter search within a budget, top to bottom.

    search space (config/search_space.py) -> run directory + optuna study (search.db)
    -> data prepared once -> trials, each a Trainer on that data with the trial's values,
       scored on validation, cut short by median pruning at each evaluation
       (search.folds k: k folds of train + validation prepared once, k Trainers per trial,
       scored by their mean, pruned after each fold)
    -> the best trial trained again into the run directory (`fit_and_finish`, as `ftk train`):
       the test split is scored once, for that trial only
    -> search.json + search.png beside it

Under `accelerate launch` every process trains every trial (data-parallel, as `ftk train`); the
main process alone holds the study and decides what runs next and what is pruned, and the
others take its decisions (`main_decides`), so all of them enter and leave each trial together.

The chosen trial is trained again rather than kept from its trial: on one seed and the same
data it is the same run (tests/test_search.py checks that the validation scores match), the
trials leave nothing on disk but the study, and `--resume` needs no model from an earlier
session. It costs one more run of the best trial; the budget reserves it.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import optuna
import torch
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState
from transformers import TrainerCallback

from toolkit.commands.stages import (
    Plan,
    PreparedData,
    RunResult,
    build_model,
    build_run_trainer,
    open_run_dir,
    plan_for_data,
    plan_run,
    prepare_labelled,
)
from toolkit.commands.train import fit_and_finish
from toolkit.config.schema import RunConfig
from toolkit.config.search_space import Param, search_space, trial_config
from toolkit.config.taxonomy import greater_is_better
from toolkit.core.distributed import main_decides, on_main_then_everywhere, wait_for_everyone
from toolkit.core.errors import UserError
from toolkit.core.log import say, warn
from toolkit.core.run_files import HISTORY, SEARCH_DB, SEARCH_JSON, SEARCH_PNG, TRIALS_DIR
from toolkit.data.folds import fold_splits
from toolkit.outputs.run_dir import check_output_dir_free
from toolkit.outputs.search_report import finite, plot_search, write_search_json
from toolkit.training.history import HistoryCallback
from toolkit.training.pruning import PruningCallback, should_stop
from toolkit.training.trainer import ToolkitTrainer

STUDY_NAME = "ftk-search"
SAMPLER_STARTUP_TRIALS = 5  # random trials before TPE models the scores (optuna's default: 10)
T = TypeVar("T")


@dataclass
class SearchResult:
    run: RunResult  # the chosen trial, trained into the run directory
    best_trial: int
    best_params: dict[str, Any]
    trials: list[dict[str, Any]]  # search.json's records (on the main process; [] on others)
    stopped_because: str


def search(
    config: RunConfig,
    budget_s: float | None = None,
    max_trials: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
) -> SearchResult:
    """Search `config`'s space for at most `max_trials` trials (in all, with --resume) and/or
    `budget_s` seconds (this session), then train the best trial into output_dir."""
    started = time.perf_counter()
    space = search_space(config)
    check_limits(budget_s, max_trials)
    run_dir = Path(config.training["output_dir"])
    plan = plan_run(config)  # under accelerate launch: the process group exists from here
    check_plan(plan)
    plan.task.target.compute_metrics(config.metrics, config.trust_metric_code)  # fails fast
    on_main(lambda: check_search_dir(run_dir, config, resume, overwrite))
    prepared = prepare_labelled(plan)  # tokenized once; every trial trains on these splits
    plan, compute_metrics = plan_for_data(plan, prepared.data)
    folds = prepare_folds(plan, prepared) if config.search.folds else None
    # The directory and its study are made once the data and folds are ready: bad data or a
    # fold count too large for it leaves nothing behind (an earlier run is deleted only now).
    study = on_main(lambda: begin_study(run_dir, config, resume))  # None on the other processes
    say("Search space: " + "; ".join(p.describe() for p in space))
    trial_data = TrialData(prepared, folds, compute_metrics)
    stopped = run_trials(study, space, plan, trial_data, budget_s, max_trials)
    say(f"Search stopped: {stopped}")
    number, value, params = main_decides(lambda: chosen_trial(study))
    metric = metric_key(config)
    say(f"Best trial: {number} (validation {metric} {value:.4f}): {params}")
    final_plan = plan_run(trial_config(plan.config, params, str(run_dir)))
    if final_plan.args.should_save:
        shutil.rmtree(run_dir / TRIALS_DIR, ignore_errors=True)  # each trial removed its own
        (run_dir / HISTORY).unlink(missing_ok=True)  # an earlier session's chosen run
    run = fit_and_finish(
        final_plan, prepared, compute_metrics, open_dir=wait_for_everyone, started=started
    )
    records: list[dict[str, Any]] = []
    if study is not None:
        records = trial_records(study)
        write_search_files(run_dir, config, space, study, records, stopped, run)
    return SearchResult(run, number, params, records, stopped)


@dataclass
class TrialData:
    """What every trial trains on: the prepared splits, or with search.folds one PreparedData
    per fold (prepared once, reused by every trial)."""

    prepared: PreparedData
    folds: list[PreparedData] | None
    compute_metrics: Any


def prepare_folds(plan: Plan, prepared: PreparedData) -> list[PreparedData]:
    config = plan.config
    raw = fold_splits(prepared.data, config.search.folds, config.split_seed)
    with plan.args.main_process_first(desc="fold preparation"):
        ready = [plan.task.prepare(fold, prepared.processor, config) for fold in raw]
    return [dataclasses.replace(prepared, splits=splits) for splits in ready]


def on_main(make: Callable[[], T]) -> T | None:
    """`make()` on the main process, None on the others; a UserError it raises, all raise."""
    made: list[T] = []
    on_main_then_everywhere(lambda: made.append(make()))
    return made[0] if made else None


def check_limits(budget_s: float | None, max_trials: int | None) -> None:
    if budget_s is None and max_trials is None:
        raise UserError(
            "ftk search needs a limit: --budget (e.g. 30m, 2h) and/or --trials N. Without "
            "one it would not know when to stop."
        )
    if max_trials is not None and max_trials < 1:
        raise UserError(f"--trials must be at least 1, got {max_trials}.")


def check_plan(plan: Plan) -> None:
    """Trials are scored at the validation evaluations."""
    if plan.args.eval_strategy == "no":
        raise UserError(
            "ftk search scores each trial on the validation split at every evaluation, and "
            "eval_strategy is no. Set eval_strategy: epoch (the default)."
        )


def metric_key(config: RunConfig) -> str:
    return config.metrics[0]


def check_search_dir(run_dir: Path, config: RunConfig, resume: bool, overwrite: bool) -> None:
    """A new search needs a free output_dir (--overwrite: an earlier run's);
    --resume needs the study of the stopped one."""
    if resume:
        if overwrite:
            raise UserError(
                "--resume continues the search in output_dir and --overwrite deletes it; "
                "pass only one of them."
            )
        if not (run_dir / SEARCH_DB).is_file():
            raise UserError(
                f"--resume: output_dir '{run_dir}' holds no {SEARCH_DB}, so there is no search "
                f"to continue. Check --output_dir, or start a new search without --resume."
            )
        return
    check_output_dir_free(run_dir, overwrite, config.local_inputs())


# ----------------------------------------------------------------------------- the study


def begin_study(run_dir: Path, config: RunConfig, resume: bool) -> optuna.Study:
    """A new search: output_dir made afresh (check_search_dir has allowed deleting what is
    there); --resume: the stopped search's study."""
    if not resume:
        if run_dir.is_dir():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
    return open_study(run_dir, config, resume)


def open_study(run_dir: Path, config: RunConfig, resume: bool) -> optuna.Study:
    """The optuna study in run_dir/search.db; a resumed one must come from the same config."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # ftk prints its own trial lines
    seed = config.search.seed if config.search.seed is not None else config.training["seed"]
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=SAMPLER_STARTUP_TRIALS)
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=config.search.startup_trials)
        if config.search.pruner == "median"
        else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(
        storage=f"sqlite:///{(run_dir / SEARCH_DB).resolve()}",
        study_name=STUDY_NAME,
        direction="maximize" if greater_is_better(metric_key(config)) else "minimize",
        sampler=sampler,
        pruner=pruner,
        load_if_exists=resume,
    )
    recipe = comparable(config)
    if resume:
        check_same_config(study.user_attrs.get("config", {}), recipe, run_dir)
        # a resumed sampler must not replay the first session's draws
        sampler.reseed_rng()
    else:
        study.set_user_attr("config", recipe)
    return study


def comparable(config: RunConfig) -> dict[str, Any]:
    """The config as the study stores it (JSON values), without the run directory."""
    recipe = json.loads(json.dumps(config.to_dict(), default=str))
    recipe.pop("output_dir", None)
    return recipe


def check_same_config(saved: dict[str, Any], now: dict[str, Any], run_dir: Path) -> None:
    differences = [
        f"{key}: {saved_value!r} in the search, {now_value!r} now"
        for key, saved_value, now_value in differing(saved, now)
    ]
    if differences:
        shown = "; ".join(differences[:8]) + (" ..." if len(differences) > 8 else "")
        raise UserError(
            f"--resume: the config differs from the one the search in '{run_dir}' started "
            f"with ({shown}). Trials of two configs cannot be compared: resume with the "
            f"same config and overrides, or start a new search in another output_dir."
        )


def differing(saved: Any, now: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, saved value, current value) for every key whose values differ."""
    if isinstance(saved, dict) and isinstance(now, dict):
        return [
            diff
            for key in sorted(set(saved) | set(now), key=str)
            for diff in differing(saved.get(key), now.get(key), f"{prefix}{key}.")
        ]
    return [] if saved == now else [(prefix.rstrip("."), saved, now)]


def distributions(space: list[Param]) -> dict[str, BaseDistribution]:
    def one(param: Param) -> BaseDistribution:
        if param.choices is not None:
            return CategoricalDistribution(param.choices)
        if param.integer:
            return IntDistribution(int(param.low), int(param.high), log=param.log)
        return FloatDistribution(param.low, param.high, log=param.log)

    return {param.name: one(param) for param in space}


# ----------------------------------------------------------------------------- the trials


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
        outcome = run_trial(trial, number, params, plan, data)
        release_accelerator_memory()
        if outcome is not None:
            say(f"Trial {label}: {describe_outcome(outcome, metric)}")


def next_step(
    study: optuna.Study,
    space: list[Param],
    asked: list[optuna.Trial],
    started: float,
    budget_s: float | None,
    max_trials: int | None,
    runs_per_trial: int,
) -> str | tuple[int, dict[str, Any]]:
    """Why the search stops, or the next trial's (number, values): asked of the study, the
    trial appended to `asked`."""
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


def finished(study: optuna.Study) -> list[FrozenTrial]:
    """Trials that ran to their end: complete, pruned, or failed (out of memory)."""
    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    return [
        t for t in study.get_trials(deepcopy=False, states=states) if "duration_s" in t.user_attrs
    ]


def durations(trials: list[FrozenTrial]) -> list[float]:
    """Seconds per finished trial, complete ones only when there are any (a pruned trial's
    shortness says nothing about the next full one)."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE] or trials
    return [t.user_attrs["duration_s"] for t in complete if "duration_s" in t.user_attrs]


# The final run trains the best trial again and adds the overfitting watch, test scoring, the
# baselines and the report: measured at up to 2x a mean trial (docs/experiments.md, "Hyper-
# parameter search"), so it is reserved as the longest complete trial plus this share.
FINAL_RUN_EXTRA = 0.25


def budget_exhausted(
    elapsed: float, trial_seconds: list[float], budget_s: float, runs_per_trial: int = 1
) -> str | None:
    """Why no further trial starts, or None: the next trial (estimated as a mean finished one)
    and the final run of the best one (one run of the longest trial, which trained
    `runs_per_trial` models (folds), plus FINAL_RUN_EXTRA) must still fit."""
    if not trial_seconds:
        return None if elapsed < budget_s else f"the budget ({budget_s:.0f} s) was spent"
    next_trial = sum(trial_seconds) / len(trial_seconds)
    final_run = max(trial_seconds) / runs_per_trial * (1 + FINAL_RUN_EXTRA)
    if elapsed + next_trial + final_run <= budget_s:
        return None
    return (
        f"the budget: {elapsed:.0f} s of {budget_s:.0f} s spent, and another trial (about "
        f"{next_trial:.0f} s) plus the final run of the best one (about {final_run:.0f} s) "
        f"would not fit"
    )


def run_trial(
    trial: optuna.Trial | None, number: int, params: dict[str, Any], plan: Plan, data: TrialData
) -> FrozenTrial | None:
    """Train trial `number` with `params` in its own folder (removed after), reporting to the
    pruner. The main process (which holds `trial`) tells the study it completed or was pruned
    and returns it; the others return None."""
    started = time.perf_counter()
    folder = plan.output_dir / TRIALS_DIR / f"trial-{number:03d}"
    trial_plan = plan_run(trial_config(plan.config, params, str(folder)))
    try:
        if data.folds is None:
            value, scores, pruned = train_one_split(trial, trial_plan, data)
        else:
            value, scores, pruned = train_folds(trial, trial_plan, data)
    except torch.OutOfMemoryError:
        if trial_plan.args.world_size > 1:  # the others wait in a collective call: launch ends
            raise
        # a large batch or model that does not fit says something about those values, not
        # about the search: recorded, and the next trial runs
        warn(f"Trial {number + 1} ran out of memory with {format_params(params)}")
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
    trial: optuna.Trial | None, trial_plan: Plan, data: TrialData
) -> tuple[float, list[float], bool]:
    """(best validation score, the score of each evaluation, pruned) of one model, reported to
    the pruner at each evaluation."""
    metric = trial_plan.args.metric_for_best_model
    reporter = PruningCallback(trial, metric if metric.startswith("eval_") else f"eval_{metric}")
    trainer = train_model(trial_plan, data.prepared, data.compute_metrics, reporter)
    return trainer.state.best_metric, reporter.scores, reporter.pruned


def train_folds(
    trial: optuna.Trial | None, trial_plan: Plan, data: TrialData
) -> tuple[float, list[float], bool]:
    """(mean of the folds' best validation scores, each fold's, pruned): one model per fold;
    the running mean goes to the pruner after each fold, so a poor trial stops early."""
    scores: list[float] = []
    for fold in data.folds:
        trainer = train_model(trial_plan, fold, data.compute_metrics)
        scores.append(float(trainer.state.best_metric))
        del trainer
        release_accelerator_memory()
        mean = sum(scores) / len(scores)
        if should_stop(trial, mean, step=len(scores)) and len(scores) < len(data.folds):
            return mean, scores, True
    return mean, scores, False


def train_model(
    trial_plan: Plan, prepared: PreparedData, compute_metrics: Any, *callbacks: TrainerCallback
) -> ToolkitTrainer:
    """One model of a trial, trained in the trial's folder (emptied first)."""
    model = build_model(trial_plan, prepared.data.label_names)
    open_run_dir(trial_plan, overwrite=True)
    history = HistoryCallback(trial_plan.output_dir / HISTORY)
    trainer = build_run_trainer(trial_plan, model, prepared, compute_metrics, history)
    for callback in callbacks:
        trainer.add_callback(callback)
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


def chosen_trial(study: optuna.Study) -> tuple[int, float, dict[str, Any]]:
    """The best complete trial's number, validation score and values."""
    best = best_trial(study)
    return best.number, best.value, dict(best.params)


def best_trial(study: optuna.Study) -> FrozenTrial:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise UserError(
            "No trial of the search ran to the end (all pruned or stopped), so none can be "
            "chosen. Give a larger --budget or --trials, or set search.pruner: none."
        )
    return study.best_trial


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
    return f"validation {metric} {best:.4f} after {len(scores)} evaluations, {seconds:.0f} s"


# ----------------------------------------------------------------------------- the outputs


def trial_records(study: optuna.Study) -> list[dict[str, Any]]:
    """search.json's record of every trial: values, score, each evaluation, time, state."""
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return [
        {
            "number": t.number,
            "state": t.state.name,  # COMPLETE | PRUNED | FAIL | RUNNING (a stopped session)
            "params": dict(t.params),
            "value": finite(t.value) if t.state == TrialState.COMPLETE else best_seen(t, maximize),
            # each evaluation's score; with search.folds, each fold's best
            "evaluations": t.user_attrs.get("evaluations", []),
            "duration_s": t.user_attrs.get("duration_s"),
            "pruned": t.state == TrialState.PRUNED,
        }
        for t in study.get_trials(deepcopy=False)
    ]


def best_seen(trial: FrozenTrial, maximize: bool) -> float | None:
    """A pruned trial's best evaluation (optuna keeps its last one as its value)."""
    scores = list(trial.intermediate_values.values())
    if not scores:
        return None
    return finite(max(scores) if maximize else min(scores))


IMPORTANCE_MIN_TRIALS = 3  # fewer complete trials tell nothing about importance


def importance_order(study: optuna.Study, space: list[Param]) -> list[str]:
    """Parameter names, the most important first (optuna's default importance evaluator over
    the complete trials: PED-ANOVA in optuna 5, fANOVA in 4); the space's order when there
    are too few trials to tell."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < IMPORTANCE_MIN_TRIALS:
        return [p.name for p in space]
    try:
        ranked = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):
        return [p.name for p in space]
    return list(ranked) + [p.name for p in space if p.name not in ranked]


def write_search_files(
    run_dir: Path,
    config: RunConfig,
    space: list[Param],
    study: optuna.Study,
    records: list[dict[str, Any]],
    stopped: str,
    run: RunResult,
) -> None:
    metric = metric_key(config)
    best = best_trial(study)
    order = importance_order(study, space)
    summary = {
        "metric": f"eval_{metric}",
        "direction": study.direction.name.lower(),
        "best_trial": best.number,
        "best_params": dict(best.params),
        "best_value": finite(best.value),
        "final_run_eval": run.metrics.get(f"eval_{metric}"),
        "final_run_test": run.metrics.get(f"test_{metric}"),
        "stopped_because": stopped,
        "folds": config.search.folds,  # null: one validation split; k: best_value is a k-fold mean
        "space": [p.describe() for p in space],
        "importance_order": order,
    }
    write_search_json(run_dir / SEARCH_JSON, summary, records)
    log_scaled = {p.name for p in space if p.log}
    png = plot_search(run_dir / SEARCH_PNG, records, order, metric, log_scaled, best.number)
    say(
        f"Search: {len(records)} trials in {run_dir / SEARCH_JSON}"
        + (f", plot {png}" if png else "")
    )
