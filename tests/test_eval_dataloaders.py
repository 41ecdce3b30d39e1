"""Evaluating on another dataset must not silently reuse the validation DataLoader."""

from __future__ import annotations

import datasets

from toolkit.config.schema import RunConfig
from toolkit.training.arguments import build_training_arguments
from toolkit.training.history import HistoryCallback
from toolkit.training.trainer import build_trainer


def test_other_dataset_gets_its_own_loader_with_persistent_workers(tiny_bert, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert, num_labels=2)

    def split(texts: list[str]) -> datasets.Dataset:
        return datasets.Dataset.from_dict({**tokenizer(texts), "labels": [0] * len(texts)})

    validation, sample = split(["goal match"] * 3), split(["market profit"] * 5)
    config = RunConfig()
    config.training = {
        **config.training,
        "output_dir": str(tmp_path),
        "use_cpu": True,
        "dataloader_num_workers": 1,
        "dataloader_persistent_workers": True,
        "report_to": "none",
    }
    config.early_stopping.patience = None
    args = build_training_arguments(config)
    trainer = build_trainer(
        config.schedule,
        config.early_stopping,
        model,
        args,
        {"train": validation, "validation": validation},
        tokenizer,
        None,
        None,
        HistoryCallback(tmp_path / "h.jsonl"),
    )
    first = trainer.get_eval_dataloader()
    assert trainer.get_eval_dataloader() is first, "the validation loader stays cached"
    assert len(trainer.get_eval_dataloader(sample).dataset) == len(sample) == 5
    assert len(trainer.get_eval_dataloader().dataset) == 3
