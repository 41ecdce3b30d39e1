"""A finished search's record: search.json (every trial, the best, the final run's scores,
the parameters by importance) and search.png beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from toolkit.config.schema import RunConfig
from toolkit.config.search_space import Param
from toolkit.core.log import say
from toolkit.core.run_files import SEARCH_JSON, SEARCH_PNG
from toolkit.outputs.search_report import finite, plot_search, write_search_json
from toolkit.run.search.budget import SECONDS_PER_TOKEN, SKIPPED
from toolkit.run.search.study import best_trial, metric_key
from toolkit.run.stages import RunResult


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
            # by the pruner; a trial stopped or skipped for the budget is PRUNED too, not a
            # candidate
            "pruned": t.state == TrialState.PRUNED
            and not {"stopped_for_budget", SKIPPED} & set(t.user_attrs),
            # why a trial ended before its last epoch for the budget (None: it did not)
            "stopped_for_budget": t.user_attrs.get("stopped_for_budget"),
            # why a trial was not started, projected not to fit (None: it was)
            "skipped_for_budget": t.user_attrs.get(SKIPPED),
            # its training time per token read (what skips a trial projected not to fit)
            "seconds_per_token": t.user_attrs.get(SECONDS_PER_TOKEN),
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
