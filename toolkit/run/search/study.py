"""The optuna study of a search (output_dir/search.db): made for a new search, reopened for
--resume (only from the same config), and asked for the best complete trial."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

from toolkit.config.compare import comparable, describe_differences, differing
from toolkit.config.schema import RunConfig
from toolkit.config.search_space import Param
from toolkit.config.taxonomy import greater_is_better
from toolkit.core.errors import UserError
from toolkit.core.run_files import SEARCH_DB

STUDY_NAME = "ftk-search"
SAMPLER_STARTUP_TRIALS = 5  # random trials before TPE models the scores (optuna's default: 10)


def metric_key(config: RunConfig) -> str:
    return config.metrics[0]


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


def check_same_config(saved: dict[str, Any], now: dict[str, Any], run_dir: Path) -> None:
    differences = differing(saved, now)
    if differences:
        shown = describe_differences(differences, "in the search", "now")
        raise UserError(
            f"--resume: the config differs from the one the search in '{run_dir}' started "
            f"with ({shown}). Trials of two configs cannot be compared: resume with the "
            f"same config and overrides, or start a new search in another output_dir."
        )


def distributions(space: list[Param]) -> dict[str, BaseDistribution]:
    def one(param: Param) -> BaseDistribution:
        if param.choices is not None:
            return CategoricalDistribution(param.choices)
        assert param.low is not None and param.high is not None, "a range has both ends"
        if param.integer:
            return IntDistribution(int(param.low), int(param.high), log=param.log)
        return FloatDistribution(param.low, param.high, log=param.log)

    return {param.name: one(param) for param in space}


def chosen_trial(study: optuna.Study | None) -> tuple[int, float, dict[str, Any]]:
    """The best complete trial's number, validation score and values (asked on the main
    process, which holds the study)."""
    assert study is not None, "only the main process holds the study"
    best = best_trial(study)
    assert best.value is not None, "a complete trial has its score"
    return best.number, best.value, dict(best.params)


def best_trial(study: optuna.Study) -> FrozenTrial:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise UserError(
            "No trial of the search ran to the end (all pruned or stopped), so none can be "
            "chosen. Give a larger --budget or --trials, or set search.pruner: none."
        )
    return study.best_trial
