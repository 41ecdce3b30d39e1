"""Fine-tune from a recipe written as a Python dict, and read the result.

python examples/train_from_dict.py          # MiniLM on BBC News, one epoch
python examples/train_from_dict.py --tiny   # seconds: a tiny model on synthetic texts
"""

from tiny import parse_args, recipe

import toolkit

args = parse_args(__doc__)
result = toolkit.train(
    recipe(args),  # the same keys as a YAML recipe
    output_dir=str(args.workdir / "from-dict"),  # keyword overrides, as `--key value`
    early_stopping={"patience": 1},  # a section as a dict: its other keys stay
    overwrite=True,  # replace an earlier run of this example
)
print(f"run directory: {result.run_dir}")
print(f"test accuracy: {result.metrics['test_accuracy']:.4f}")
print(f"verdict:       {result.verdict.text if result.verdict else 'no test split'}")
