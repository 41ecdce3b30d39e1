"""The stages a command is built from, below the commands and above the stage packages
(data, model, training, advice, outputs) they call; commands/ holds only the short command
functions that run them in order.

    stages.py       plan, data, model, schedule, run directory, save: one call each
    assembly.py     the run's Trainer: run directory, history, Trainer, callbacks
    fine_tuning.py  from prepared data to a finished fine-tuning run (fit_and_finish)
    diagnosis.py    the finished run's diagnosis and verdict
    outputs.py      the finished run's files, then the push
    pretraining.py  continued pre-training (`ftk pretrain`, the first stage of `--pretrain`)
    search/         `ftk search`'s study, budget, trials and records
"""
