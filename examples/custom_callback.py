"""Add your own transformers TrainerCallback to a run: here, one that keeps the validation
accuracy of every epoch and stops once it reaches a target.

    python examples/custom_callback.py [--tiny]
"""

from tiny import parse_args, recipe
from transformers import TrainerCallback

import toolkit


class StopAtAccuracy(TrainerCallback):
    """Records eval_accuracy after each evaluation; ends training once it reaches `target`."""

    def __init__(self, target: float):
        self.target = target
        self.accuracies: list[float] = []

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.accuracies.append(metrics["eval_accuracy"])
        if metrics["eval_accuracy"] >= self.target:
            control.should_training_stop = True


args = parse_args(__doc__)
callback = StopAtAccuracy(target=0.9)
result = toolkit.train(
    recipe(args),
    output_dir=str(args.workdir / "callback"),
    num_train_epochs=10,
    early_stopping={"patience": None},  # our callback decides when to stop
    callbacks=[callback],
    overwrite=True,
)
print(f"validation accuracy at each evaluation: {[round(a, 4) for a in callback.accuracies]}")
print(f"stopped after {result.trainer.state.epoch:g} of 10 epochs")
