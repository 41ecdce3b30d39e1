"""Model-building switches that every task shares (toolkit/models.py)."""

from __future__ import annotations

import json
import logging

import pytest
from helpers import TINY_VIT_SIZES

from toolkit.config.load import load_config
from toolkit.core.errors import UserError
from toolkit.tasks import image_classification, masked_image_modeling, text_classification


def recipe(tmp_path, task: str, model: str, attention: str | None):
    line = f", attn_implementation: {attention}" if attention else ""
    (tmp_path / "c.yaml").write_text(f"task: {task}\nmodel: {{{model}{line}}}\n")
    return load_config(tmp_path / "c.yaml")


@pytest.mark.parametrize("attention,expected", [(None, "sdpa"), ("eager", "eager")])
def test_attention_kernel_of_a_checkpoint(tiny_bert, tmp_path, attention, expected):
    config = recipe(tmp_path, "text-classification", f"name_or_path: '{tiny_bert}'", attention)
    model = text_classification.load_model(config, ["a", "b"])
    assert model.config._attn_implementation == expected


@pytest.mark.parametrize("task", [image_classification, masked_image_modeling])
def test_attention_kernel_of_a_model_from_sizes(tmp_path, task):
    sizes = {**TINY_VIT_SIZES, "encoder_stride": TINY_VIT_SIZES["patch_size"]}
    config = recipe(
        tmp_path,
        task.__name__.rsplit(".", 1)[1].replace("_", "-"),
        f"from_config: {json.dumps(sizes)}",
        "eager",
    )
    model = (
        task.load_model(config, ["a", "b"])
        if task is image_classification
        else task.load_model(config)
    )
    assert model.config._attn_implementation == "eager"


def test_unknown_attention_kernel_is_named(tmp_path):
    with pytest.raises(UserError) as error:
        recipe(tmp_path, "text-classification", "name_or_path: x", "flash")
    assert "model.attn_implementation" in str(error.value) and "'sdpa'" in str(error.value)


@pytest.mark.parametrize("task", ["image-classification", "masked-image-modeling"])
@pytest.mark.parametrize(
    "sizes,named",
    [
        ({"model_type": "vitt", "image_size": 16}, ["model_type 'vitt'", "vit"]),
        ({"model_type": "vit", "hiden_size": 32}, ["hiden_size", "hidden_size"]),
        ({"image_size": 16}, ["needs a model_type"]),  # caught as the config loads
    ],
)
def test_model_from_sizes_with_a_bad_key(tmp_path, task, sizes, named):
    """A typo in model.from_config is named (with the likely intended key), never ignored."""
    from toolkit.tasks import get_task

    with pytest.raises(UserError) as error:
        config = recipe(tmp_path, task, f"from_config: {json.dumps(sizes)}", None)
        get_task(task).load_processor(config)
    for part in named:
        assert part in str(error.value), (part, str(error.value))


def test_a_deit_from_sizes_gets_the_plain_classifier(tmp_path):
    """transformers maps deit to two image classifiers and picks one by config.architectures,
    which a config built from sizes lacks: the model must still build (the one without the
    distillation teacher), not fail with a TypeError."""
    sizes = {**TINY_VIT_SIZES, "model_type": "deit"}
    config = recipe(tmp_path, "image-classification", f"from_config: {json.dumps(sizes)}", None)
    model = image_classification.load_model(config, ["a", "b", "c"])
    assert type(model).__name__ == "DeiTForImageClassification"
    assert model.config.num_labels == 3


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture()
def transformers_records():
    """What transformers' loading logger passes on to its handlers, at transformers' default
    verbosity (warnings), whatever an earlier test in the process set."""
    import transformers

    before = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_warning()
    collect = Collect()
    logger = logging.getLogger("transformers.modeling_utils")
    logger.addHandler(collect)
    yield collect.messages
    logger.removeHandler(collect)
    transformers.logging.set_verbosity(before)


def test_the_load_report_is_ftks_one_line(tiny_bert, tmp_path, capsys, transformers_records):
    """A masked-LM checkpoint into a classifier: the new head and the unused pre-training head
    in ftk's line, and transformers' table (colour codes in a log file) held back."""
    from transformers import BertConfig, BertForMaskedLM

    BertForMaskedLM(BertConfig.from_pretrained(tiny_bert)).save_pretrained(tmp_path / "mlm")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        if (tiny_bert / name).exists():
            (tmp_path / "mlm" / name).write_bytes((tiny_bert / name).read_bytes())
    config = recipe(tmp_path, "text-classification", f"name_or_path: '{tmp_path / 'mlm'}'", None)
    text_classification.load_model(config, ["a", "b"])
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "tensors from the checkpoint" in line]
    assert "new (random): bert.pooler, classifier.bias, classifier.weight" in line, line
    assert line.endswith("; unused from the checkpoint: cls.predictions"), line
    assert not [m for m in transformers_records if "LOAD REPORT" in m]


@pytest.mark.parametrize("verbosity", ["warning", "error"])
def test_a_failed_load_carries_the_report_it_points_at(tmp_path, transformers_records, verbosity):
    """With model.ignore_mismatched_sizes off, transformers refuses a head of another shape
    and points at "the above report": the error carries it, without colour codes, also where
    transformers is set to say errors only."""
    import transformers
    from transformers import ViTConfig, ViTForImageClassification

    before = transformers.logging.get_verbosity()
    getattr(transformers.logging, f"set_verbosity_{verbosity}")()

    sizes = {k: v for k, v in TINY_VIT_SIZES.items() if k != "model_type"}
    ViTForImageClassification(ViTConfig(**sizes, num_labels=3)).save_pretrained(tmp_path / "v")
    model = f"name_or_path: '{tmp_path / 'v'}', ignore_mismatched_sizes: false"
    config = recipe(tmp_path, "image-classification", model, None)
    with pytest.raises(UserError) as caught:
        image_classification.load_model(config, ["a", "b"])
    transformers.logging.set_verbosity(before)
    said = str(caught.value)
    assert "look at the above report" in said and "LOAD REPORT" in said
    assert "classifier.weight" in said and "MISMATCH" in said and "\x1b[" not in said
