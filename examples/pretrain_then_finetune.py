"""Continued pre-training (masked language modelling) on your own texts, then fine-tuning the
result: the texts of the training split, never the test split's.

    python examples/pretrain_then_finetune.py [--tiny]
"""

import yaml
from tiny import parse_args, recipe

import toolkit

args = parse_args(__doc__)
finetune = recipe(args)
pretrain = {
    "task": "masked-lm",
    "model": finetune["model"],  # the same checkpoint ...
    "data": {**finetune["data"], "group_texts": True},  # ... and data (its labels are ignored)
    "masking": {"mlm_probability": 0.15},
    "learning_rate": finetune["learning_rate"],
    "num_train_epochs": 1 if not args.tiny else 3,
    "output_dir": str(args.workdir / "pretrained"),
}
# `pretrain=` runs the pre-training first (or reuses a finished one with the same recipe),
# then fine-tunes the pre-trained encoder with a new classification head.
result = toolkit.train(
    finetune, output_dir=str(args.workdir / "finetuned"), pretrain=pretrain, overwrite=True
)
base = yaml.safe_load((result.run_dir / "run_config.yaml").read_text())["model"]["name_or_path"]
print(f"fine-tuned run: {result.run_dir}, from the pre-trained encoder in {base}")
print(f"test accuracy:  {result.metrics['test_accuracy']:.4f}")
