"""`ftk search`: hyper-parameter search within a budget, top to bottom.

    search space (config/search_space.py) -> run directory + optuna study (search.db)
    -> data prepared once -> the space's data-dependent `auto` resolved (max_length around
       the run's data.max_length as derived, class_weights on uneven classes), printed
    -> trials, each a Trainer on that data with the trial's values (another max_length: the
       splits tokenized again at it, once per length), scored on validation, cut short by
       median pruning at each evaluation
       (search.folds k: k folds of train + validation prepared once, k Trainers per trial,
       scored by their mean, pruned after each fold)
    -> the best trial trained again into the run directory (`fit_and_finish`, as `ftk train`):
       the test split is scored once, for that trial only
    -> search.json + search.png beside it

The stages are run/search/ (study, budget, trials, records) and run/fine_tuning.py.

The chosen trial is trained again rather than kept from its trial: on one seed and the same
data it is the same run (tests/test_search.py checks that the validation scores match), the
trials leave nothing on disk but the study, and `--resume` needs no model from an earlier
session. It costs one more run of the best trial; the budget reserves it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from toolkit.config.schema import RunConfig
from toolkit.config.search_space import search_space, trial_config
from toolkit.config.streaming import SEARCH_ON_A_STREAM, refuse_streamed
from toolkit.core.distributed import main_decides, on_main_then_everywhere, wait_for_everyone
from toolkit.core.errors import UserError
from toolkit.core.extras import require_extra
from toolkit.core.launch import check_launch
from toolkit.core.log import say
from toolkit.core.run_files import HISTORY, SEARCH_DB, TRIALS_DIR
from toolkit.core.run_lock import run_lock
from toolkit.outputs.run_dir import check_output_dir_free
from toolkit.run.fine_tuning import fit_and_finish
from toolkit.run.stages import Plan, RunResult, plan_for_data, plan_run, prepare_labelled

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
    require_extra("search", "ftk search")  # optuna: before anything is read or written
    refuse_streamed(config, "ftk search", SEARCH_ON_A_STREAM)
    run_dir = Path(config.training["output_dir"])
    check_launch()  # a launch that started fewer processes than asked: before anything else
    with run_lock(run_dir):  # one run (or search) per output_dir
        return search_unlocked(config, budget_s, max_trials, resume, overwrite)


def search_unlocked(
    config: RunConfig,
    budget_s: float | None,
    max_trials: int | None,
    resume: bool,
    overwrite: bool,
) -> SearchResult:
    # run/search/ imports optuna, the `search` extra: only once search() has found it
    from toolkit.run.search.records import trial_records, write_search_files
    from toolkit.run.search.study import begin_study, chosen_trial, metric_key
    from toolkit.run.search.trials import data_facts, inputs_for, run_trials, trial_data

    started = time.perf_counter()
    search_space(config)  # every setting checked before the data loads (its auto: below)
    check_limits(budget_s, max_trials)
    run_dir = Path(config.training["output_dir"])
    plan = plan_run(config)  # under accelerate launch: the process group exists from here
    check_plan(plan)
    plan.target.compute_metrics(config.metrics, config.trust_metric_code)  # fails fast
    on_main(lambda: check_search_dir(run_dir, config, resume, overwrite))
    prepared = prepare_labelled(plan)  # tokenized once; every trial trains on these splits
    plan, compute_metrics = plan_for_data(plan, prepared)
    # the data may put another metric first (macro-F1 on uneven classes): from here on the
    # search scores, names and records the trials by the plan's metrics, not the recipe's
    config = plan.config
    # the space of the values the run uses (data.max_length and the epochs as derived for the
    # data, not the placeholders before it) and of the data's facts (uneven classes)
    space = search_space(config, data_facts(plan, prepared))
    data = trial_data(plan, prepared, compute_metrics)  # with search.folds, the folds
    # The directory and its study are made once the data and folds are ready: bad data or a
    # fold count too large for it leaves nothing behind (an earlier run is deleted only now).
    study = on_main(lambda: begin_study(run_dir, config, resume))  # None on the other processes
    say("Search space: " + "; ".join(p.describe() for p in space))
    stopped = run_trials(study, space, plan, data, budget_s, max_trials)
    say(f"Search stopped: {stopped}")
    number, value, params = main_decides(lambda: chosen_trial(study))
    metric = metric_key(config)
    say(f"Best trial: {number} (validation {metric} {value:.4f}): {params}")
    final_plan = plan_run(trial_config(plan.config, params, str(run_dir)))
    final_plan.chosen_by_folds = config.search.folds  # its diagnosis offers no k-fold search
    if final_plan.args.should_save:
        shutil.rmtree(run_dir / TRIALS_DIR, ignore_errors=True)  # each trial removed its own
        (run_dir / HISTORY).unlink(missing_ok=True)  # an earlier session's chosen run
    # the chosen trial's data: tokenized at its max_length, weighted by its class_weights
    chosen_data, _ = inputs_for(final_plan, data)  # (the trial ran at them: kept)
    run = fit_and_finish(
        final_plan, chosen_data, compute_metrics, open_dir=wait_for_everyone, started=started
    )
    records: list[dict[str, Any]] = []
    if study is not None:
        records = trial_records(study)
        write_search_files(run_dir, config, space, study, records, stopped, run)
    return SearchResult(run, number, params, records, stopped)


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
