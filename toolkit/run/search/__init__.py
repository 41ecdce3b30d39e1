"""`ftk search`'s stage: hyper-parameter trials within a budget, on data prepared once.

    study.py    the optuna study in search.db (created, or resumed from the same config)
    budget.py   whether another trial and the final run of the best one still fit
    trials.py   the trials: each a Trainer on the prepared data (or k folds of it) with the
                trial's values, scored on validation, pruned at each evaluation
    records.py  search.json and search.png: every trial, the best, the parameters' importance

commands/search.py wires them: data once, the trials, then the best trial trained again into the
run directory (run/fine_tuning.py, as `ftk train`).
"""
