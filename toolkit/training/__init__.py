"""The training stage: TrainingArguments, the Trainer subclass and its callbacks, the
schedule, resuming, scoring the kept model."""
