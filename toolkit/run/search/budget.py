"""When a search stops for its --budget: the next trial and the final run of the best one
must still fit in it, estimated from the trials that finished."""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState


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


def passes_budget(
    search_elapsed: float, rest: float, projected: float, budget_s: float
) -> float | None:
    """The final run's reserved seconds (a trial of `projected` seconds, were it the best, plus
    FINAL_RUN_EXTRA) when `rest` seconds more of a trial and that final run would pass the
    budget; None when they fit."""
    final_run = projected * (1 + FINAL_RUN_EXTRA)
    return None if search_elapsed + rest + final_run <= budget_s else final_run


def trial_overruns(
    search_elapsed: float, trial_elapsed: float, progress: float, budget_s: float
) -> str | None:
    """Why a running trial stops at this evaluation, or None. The trial's length is projected
    from its progress (the share of its steps done); the rest of it and the final run of the
    best trial (reserved as one such trial plus FINAL_RUN_EXTRA) must still fit in the budget,
    so a first trial longer than the budget no longer runs to its end."""
    if progress <= 0 or progress >= 1:
        return None
    projected = trial_elapsed / progress
    rest = projected - trial_elapsed
    final_run = passes_budget(search_elapsed, rest, projected, budget_s)
    if final_run is None:
        return None
    return (
        f"stopped here for the budget: {search_elapsed:.0f} s of {budget_s:.0f} s spent, and "
        f"the rest of this trial (about {rest:.0f} s) plus the final run of the best one (about "
        f"{final_run:.0f} s) would not fit"
    )


# A trial's training time (evaluations included) over the tokens its steps read (a training
# example's mean input_ids; an image counts as one), the max_length it read them at and the
# examples an optimizer step took.
SECONDS_PER_TOKEN = "seconds_per_token"
TRIAL_MAX_LENGTH = "max_length"
TRIAL_STEP_EXAMPLES = "examples_per_step"
SKIPPED = "skipped_for_budget"  # why a trial was not started (the key on the optuna trial)


def least_seconds_per_token(
    trials: list[FrozenTrial], max_length: int | None, step_examples: int
) -> float | None:
    """The least time per token read of a finished trial at `max_length` or shorter and
    `step_examples` an optimizer step or more; None when none is. A token costs no less in a
    longer input (attention grows with the length) nor in a smaller step, so a trial's time
    projected from it is at most its real time (building its model and data not counted): a
    trial is only skipped for a time it would at least take."""
    rates = [
        t.user_attrs[SECONDS_PER_TOKEN]
        for t in trials
        if SECONDS_PER_TOKEN in t.user_attrs
        and not_longer(t.user_attrs.get(TRIAL_MAX_LENGTH), max_length)
        and t.user_attrs.get(TRIAL_STEP_EXAMPLES, 0) >= step_examples
    ]
    return min(rates) if rates else None


def not_longer(measured: int | None, wanted: int | None) -> bool:
    """Whether inputs cut at `measured` are no longer than at `wanted` (None: not cut, as
    images: every such trial reads the same inputs)."""
    if measured is None or wanted is None:
        return measured == wanted
    return measured <= wanted


def trial_would_overrun(search_elapsed: float, projected: float, budget_s: float) -> str | None:
    """Why a trial is not started, or None: it (`projected` seconds at the least) and the
    final run of the best one, were it this one, must still fit in the budget."""
    final_run = passes_budget(search_elapsed, projected, projected, budget_s)
    if final_run is None:
        return None
    return (
        f"not run for the budget: {search_elapsed:.0f} s of {budget_s:.0f} s spent, and this "
        f"trial (at least {projected:.0f} s at the finished trials' speed) plus its final run "
        f"(about {final_run:.0f} s) would not fit"
    )


# The sampler is told a trial skipped for the budget was pruned, so it proposes cheaper ones;
# after this many skipped in a row, what is left of the budget fits none it proposes.
MOST_SKIPPED_IN_A_ROW = 10


def skipped_in_a_row(trials: list[FrozenTrial], left_s: float) -> str | None:
    """Why the search stops, or None: the last MOST_SKIPPED_IN_A_ROW trials were skipped."""
    last = trials[-MOST_SKIPPED_IN_A_ROW:]
    if len(last) < MOST_SKIPPED_IN_A_ROW or not all(SKIPPED in t.user_attrs for t in last):
        return None
    return (
        f"the budget: the last {MOST_SKIPPED_IN_A_ROW} trials proposed would not fit in the "
        f"{left_s:.0f} s left"
    )
