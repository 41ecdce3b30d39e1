"""Continued pre-training: masked LM and masked image modelling, and fine-tuning from them."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys

import pytest
import torch
from helpers import (
    REPEATED_SENTENCES,
    TINY_VIT_SIZES,
    bare_trainer,
    expect_user_error,
    history_rows,
    make_texts,
    write_csv,
    write_mim_config,
    write_mlm_config,
    write_pattern_images,
    write_text_config,
)
from safetensors.torch import load_file

from toolkit.config.load import load_config


def cli(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "toolkit", *args], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def encoder_tensors(state: dict, prefix: str) -> dict:
    """The encoder's tensors of a state dict or a saved file, by their in-memory names: some
    transformers releases (5.3) save LayerNorm weights as the legacy gamma/beta, which
    from_pretrained renames on load."""
    legacy = {".LayerNorm.gamma": ".LayerNorm.weight", ".LayerNorm.beta": ".LayerNorm.bias"}

    def in_memory(key: str) -> str:
        for old, new in legacy.items():
            key = key.removesuffix(old) + new if key.endswith(old) else key
        return key

    return {
        in_memory(k): v for k, v in state.items() if k.startswith(prefix) and ".pooler." not in k
    }


# ----------------------------------------------------------------------------- text chain


@pytest.fixture(scope="module")
def chain(tiny_bert, tmp_path_factory):
    """`ftk train --pretrain` run twice: the second run must reuse the first pre-training."""
    folder = tmp_path_factory.mktemp("chain")
    corpus = write_csv(
        folder / "corpus.csv", [(REPEATED_SENTENCES[i % 3],) for i in range(90)], header=("text",)
    )
    pretrain = write_mlm_config(folder / "mlm.yaml", tiny_bert, corpus, folder / "pretrained")
    data = {
        "train": write_csv(folder / "train.csv", make_texts(20, seed=1)),
        "test": write_csv(folder / "test.csv", make_texts(5, seed=2)),
    }
    finetune = write_text_config(folder / "cls.yaml", tiny_bert, data, folder / "run1")
    common = [
        "--pretrain",
        str(pretrain),
        "--num_train_epochs",
        "1",
        "--early_stopping.patience",
        "null",
    ]
    first = cli("train", "--config", str(finetune), *common)
    files = sorted((folder / "pretrained").iterdir())
    stamps = {f.name: f.stat().st_mtime_ns for f in files}
    second = cli("train", "--config", str(finetune), *common, "--output_dir", str(folder / "run2"))
    return {
        "folder": folder,
        "pretrained": folder / "pretrained",
        "first": first,
        "second": second,
        "stamps": stamps,
        "finetune": finetune,
        "data": data,
    }


@pytest.mark.e2e
def test_chain_pretrains_then_finetunes(chain):
    out = chain["first"].stdout
    assert "Stage 1 of 2: pre-training (masked-lm)" in out
    assert "Stage 2 of 2: fine-tuning (text-classification)" in out
    assert out.index("Stage 1 of 2") < out.index("Stage 2 of 2")
    run_config = load_config(chain["folder"] / "run1" / "run_config.yaml")
    assert run_config.model.name_or_path == str(chain["pretrained"])
    assert json.loads((chain["folder"] / "run1" / "metrics.json").read_text())["test_accuracy"] >= 0


@pytest.mark.e2e
def test_chain_rerun_reuses_finished_pretraining(chain):
    out = chain["second"].stdout
    assert "Reusing the finished pre-training" in out and "Stage 1 of 2" not in out
    now = {f.name: f.stat().st_mtime_ns for f in chain["pretrained"].iterdir()}
    assert now == chain["stamps"], "the pre-training output must not be rewritten"
    assert (chain["folder"] / "run2" / "model.safetensors").is_file()


@pytest.mark.e2e
def test_pretraining_run_directory(chain):
    run_dir = chain["pretrained"]
    for name in [
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "run_config.yaml",
        "metrics.json",
        "history.jsonl",
        "loss.png",
        "learning_rate.png",
        "README.md",
    ]:
        assert (run_dir / name).is_file(), name
    assert not list(run_dir.glob("checkpoint-*"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["eval_perplexity"] == pytest.approx(math.exp(metrics["eval_loss"]))
    evals = history_rows(run_dir, "eval")
    assert all(r["eval_perplexity"] == pytest.approx(math.exp(r["eval_loss"])) for r in evals)
    card = (run_dir / "README.md").read_text()
    assert "masked-lm" in card and "fill-mask" in card and "20% of tokens" in card


@pytest.mark.e2e
def test_mlm_loss_falls_on_repetitive_corpus(chain):
    run_dir = chain["pretrained"]
    losses = [r["loss"] for r in history_rows(run_dir, "train")]
    assert len(losses) >= 20
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last < 0.75 * first, (first, last)
    evals = [r["eval_loss"] for r in history_rows(run_dir, "eval")]
    assert evals[-1] < evals[0]
    # Validation masks are drawn once, so the kept (best) epoch reproduces its logged loss.
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["eval_loss"] == pytest.approx(min(evals), rel=1e-4)


@pytest.mark.e2e
def test_pretrain_saves_the_model_on_every_process(
    tiny_bert, repetitive_corpus, tmp_path, monkeypatch
):
    """FSDP and DeepSpeed gather the weights inside save_model, so every process must enter it
    (pretrain used to call it on the main process only, and hang or save a shard). Here the
    Trainer answers as a non-main process would; the main-process-only writing still happens,
    through the barrier that every command shares."""
    from toolkit.commands.pretrain import pretrain
    from toolkit.training.trainer import ToolkitTrainer

    entered = []
    real_save = ToolkitTrainer.save_model

    def recording_save(self, *args, **kwargs):
        if not kwargs.get("_internal_call"):  # the Trainer's own checkpoint saves aside
            entered.append(self.is_world_process_zero())
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(ToolkitTrainer, "save_model", recording_save)
    monkeypatch.setattr(ToolkitTrainer, "is_world_process_zero", lambda self: False)
    recipe = write_mlm_config(
        tmp_path / "mlm.yaml", tiny_bert, repetitive_corpus, tmp_path / "out", num_train_epochs=1
    )
    run_dir = pretrain(load_config(recipe)).run_dir
    assert entered == [False], "save_model must run on a non-main process too"
    assert (run_dir / "model.safetensors").is_file() and (run_dir / "README.md").is_file()


def test_mlm_head_is_new_and_encoder_is_the_checkpoints(tiny_bert, tmp_path):
    """A BertModel checkpoint (no MLM head, like the packaged MiniLM) gets a head; its encoder
    tensors arrive unchanged."""
    from toolkit.tasks import masked_lm

    config = load_config(
        write_mlm_config(tmp_path / "c.yaml", tiny_bert, tmp_path / "x.csv", tmp_path / "out")
    )
    model = masked_lm.load_model(config)
    saved = load_file(str(tiny_bert / "model.safetensors"))
    encoder = model.bert.state_dict()
    compared = [k for k in saved if not k.startswith("pooler.")]
    assert len(compared) > 30
    for key in compared:
        assert torch.equal(encoder[key], saved[key]), key
    assert any(k.startswith("cls.predictions") for k in model.state_dict())


@pytest.mark.e2e
def test_finetuning_starts_from_every_pretrained_encoder_tensor(chain):
    """At step 0 of `ftk train` from a pre-training output, the encoder equals the saved one."""
    from transformers import TrainerCallback

    from toolkit.commands.train import train

    seen = {}

    class AtStart(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):
            seen.update({k: v.detach().clone() for k, v in model.state_dict().items()})

    config = load_config(
        chain["finetune"],
        [
            "--model.name_or_path",
            str(chain["pretrained"]),
            "--max_steps",
            "1",
            "--schedule.warmup_fraction",
            "0",  # one step at warm-up's LR 0 would be refused as a run that cannot train
            "--output_dir",
            str(chain["folder"] / "probe"),
            "--early_stopping.patience",
            "null",
        ],
    )
    train(config, callbacks=[AtStart()])
    pretrained = encoder_tensors(load_file(str(chain["pretrained"] / "model.safetensors")), "bert.")
    assert len(pretrained) > 30
    for key, tensor in pretrained.items():
        assert torch.equal(seen[key], tensor), key
    assert "classifier.weight" in seen  # the new head


# ----------------------------------------------------------------------------- images


@pytest.fixture(scope="module")
def mim_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mim")
    images = write_pattern_images(folder / "images.parquet")
    config = write_mim_config(folder / "mim.yaml", images, folder / "out")
    result = cli("pretrain", "--config", str(config))
    return {"folder": folder, "out": folder / "out", "images": images, "result": result}


@pytest.mark.e2e
def test_mim_loss_falls_on_pattern_images(mim_run):
    losses = [r["loss"] for r in history_rows(mim_run["out"], "train")]
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.6 * first, (first, last)
    for name in [
        "model.safetensors",
        "preprocessor_config.json",
        "run_config.yaml",
        "metrics.json",
        "loss.png",
        "README.md",
    ]:
        assert (mim_run["out"] / name).is_file(), name
    assert "Unlabelled data: train 108, validation 12" in mim_run["result"].stdout


@pytest.mark.e2e
def test_mim_output_transfers_to_an_image_classifier(mim_run):
    """ViTForImageClassification built on the MIM output: every encoder tensor loads."""
    from transformers import ViTForImageClassification, ViTForMaskedImageModeling

    from toolkit.model.transfer import check_encoder_loaded

    model, info = ViTForImageClassification.from_pretrained(
        mim_run["out"], num_labels=3, output_loading_info=True
    )
    check_encoder_loaded(model, info, str(mim_run["out"]))  # raises on a missing encoder key
    assert set(info["missing_keys"]) == {"classifier.weight", "classifier.bias"}
    mim = ViTForMaskedImageModeling.from_pretrained(mim_run["out"])
    ours, theirs = model.vit.state_dict(), mim.vit.state_dict()
    compared = [k for k in ours if k != "embeddings.mask_token"]
    assert len(compared) > 20
    for key in compared:
        assert torch.equal(ours[key], theirs[key]), key


@pytest.mark.e2e
def test_mim_from_a_checkpoint_continues_from_its_weights(mim_run, tmp_path):
    from transformers import ViTForMaskedImageModeling

    from toolkit.tasks import masked_image_modeling

    config = load_config(
        write_mim_config(tmp_path / "c.yaml", mim_run["images"], tmp_path / "o"),
        ["--model.from_config", "null", "--model.name_or_path", str(mim_run["out"])],
    )
    model = masked_image_modeling.load_model(config)
    saved = ViTForMaskedImageModeling.from_pretrained(mim_run["out"])
    for key, tensor in saved.state_dict().items():
        assert torch.equal(model.state_dict()[key], tensor), key


def test_mask_generator_hides_the_ratio_in_squares():
    from toolkit.tasks.masked_image_modeling import MaskGenerator

    torch.manual_seed(0)
    masks = MaskGenerator(image_size=16, patch_size=4, mask_patch_size=8, ratio=0.5)(64)
    assert masks.shape == (64, 16) and masks.dtype == torch.bool
    assert (masks.sum(1) == 8).all()  # 2 of the 4 squares of 2x2 patches
    grid = masks.view(64, 4, 4)
    squares = grid.view(64, 2, 2, 2, 2)  # (batch, square row, patch row, square col, patch col)
    assert (squares.all(dim=(2, 4)) | ~squares.any(dim=(2, 4))).all(), "squares mask whole"
    assert masks.float().mean(0).min() > 0.3 and masks.float().mean(0).max() < 0.7  # random place


@pytest.mark.e2e
def test_best_checkpoint_reload_keeps_renamed_vit_tensors(tmp_path):
    """Trainer's own best-model reload drops ViT's renamed encoder tensors; ours must not."""
    from transformers import ViTConfig, ViTForMaskedImageModeling

    config = ViTConfig(
        **{k: v for k, v in TINY_VIT_SIZES.items() if k != "model_type"}, encoder_stride=4
    )
    torch.manual_seed(0)
    best = ViTForMaskedImageModeling(config)
    best.save_pretrained(tmp_path / "checkpoint-1")
    torch.manual_seed(1)
    model = ViTForMaskedImageModeling(config)
    trainer = bare_trainer(model, tmp_path / "o")
    trainer.state.best_model_checkpoint = str(tmp_path / "checkpoint-1")
    trainer._load_best_model()
    for key, tensor in best.state_dict().items():
        assert torch.equal(model.state_dict()[key], tensor), key


# ----------------------------------------------------------------------------- bad input


def test_unlabelled_text_source_without_text_column(tiny_bert, tmp_path, capsys):
    corpus = write_csv(tmp_path / "c.csv", [("a b c",)], header=("body",))
    config = write_mlm_config(tmp_path / "c.yaml", tiny_bert, corpus, tmp_path / "o")
    err = expect_user_error(["pretrain", "--config", str(config)], capsys)
    assert "no column 'text'" in err and "its columns are body" in err
    assert "data.text_column" in err


def test_unlabelled_image_source_without_image_column(tmp_path, capsys):
    images = write_pattern_images(tmp_path / "i.parquet", n=6, column="picture")
    config = write_mim_config(tmp_path / "c.yaml", images, tmp_path / "o")
    err = expect_user_error(["pretrain", "--config", str(config)], capsys)
    assert "no column 'image'" in err and "picture" in err and "data.image_column" in err


@pytest.mark.parametrize(
    "key,value",
    [
        ("masking.mask_ratio", "1.5"),
        ("masking.mask_ratio", "0"),
        ("masking.mlm_probability", "1"),
        ("masking.mlm_probability", "-0.1"),
    ],
)
def test_masking_fraction_outside_open_interval(tmp_path, key, value, capsys):
    config = write_mim_config(tmp_path / "c.yaml", tmp_path / "i.parquet", tmp_path / "o")
    err = expect_user_error(["pretrain", "--config", str(config), f"--{key}", value], capsys)
    assert f"'{key}'" in err and "between 0 and 1" in err


def test_mask_patch_size_not_a_multiple_of_patch_size(tmp_path, capsys):
    images = write_pattern_images(tmp_path / "i.parquet", n=6)
    config = write_mim_config(tmp_path / "c.yaml", images, tmp_path / "o")
    err = expect_user_error(
        ["pretrain", "--config", str(config), "--masking.mask_patch_size", "6"], capsys
    )
    assert "mask_patch_size is 6" in err and "patch size 4" in err


def test_pretrain_refuses_a_classification_recipe(tiny_bert, text_data, tmp_path, capsys):
    config = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "o")
    err = expect_user_error(["pretrain", "--config", str(config)], capsys)
    assert "ftk train" in err and "text-classification" in err


def test_chain_with_other_architecture_fails_before_pretraining(
    tiny_bert, text_data, tmp_path, capsys
):
    """The fine-tuning recipe names a model of another size: stop before the slow stage."""
    from transformers import BertConfig, BertModel

    other = tmp_path / "wider"
    BertModel(
        BertConfig(
            vocab_size=48,
            hidden_size=48,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
        )
    ).save_pretrained(other)
    finetune = write_text_config(tmp_path / "c.yaml", other, text_data, tmp_path / "run")
    pretrain = write_mlm_config(
        tmp_path / "p.yaml", tiny_bert, text_data["train"], tmp_path / "pre"
    )
    err = expect_user_error(
        ["train", "--config", str(finetune), "--pretrain", str(pretrain)], capsys
    )
    assert "hidden_size: 32 vs 48" in err and "p.yaml" in err and "c.yaml" in err
    assert not (tmp_path / "pre").exists()


@pytest.mark.e2e
def test_image_classifier_from_a_mim_output_that_does_not_fit(mim_run, tmp_path):
    """The image task checks its checkpoint's encoder like the text task: a ViT whose config
    promises 3 layers but whose weights hold 2 is refused, naming the missing tensors."""
    from toolkit.config.load import load_config
    from toolkit.core.errors import UserError
    from toolkit.tasks import image_classification

    broken = tmp_path / "broken"
    shutil.copytree(mim_run["out"], broken)
    settings = json.loads((broken / "config.json").read_text())
    settings["num_hidden_layers"] = 3
    (broken / "config.json").write_text(json.dumps(settings))
    (tmp_path / "c.yaml").write_text(
        f"task: image-classification\nmodel: {{name_or_path: '{broken}'}}\n"
    )
    with pytest.raises(UserError) as error:
        image_classification.load_model(load_config(tmp_path / "c.yaml"), ["a", "b", "c"])
    assert "encoder tensors are missing" in str(error.value)
    # the third layer's tensors are named (transformers 5 calls them vit.layers.2.*)
    assert re.search(r"vit\.(encoder\.layer|layers)\.2\.", str(error.value))
    assert str(broken) in str(error.value)


@pytest.mark.e2e
def test_finetuning_from_output_that_does_not_fit(chain, tmp_path, capsys):
    """config.json promises 3 layers, the weights hold 2: the missing encoder keys are named."""
    broken = tmp_path / "broken"
    shutil.copytree(chain["pretrained"], broken)
    settings = json.loads((broken / "config.json").read_text())
    settings["num_hidden_layers"] = 3
    (broken / "config.json").write_text(json.dumps(settings))
    # A real process: transformers' loggers, set up by in-process runs of earlier tests,
    # may still point at a stream pytest has closed.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "toolkit",
            "train",
            "--config",
            str(chain["finetune"]),
            "--model.name_or_path",
            str(broken),
            "--output_dir",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    err = result.stderr
    assert result.returncode == 2 and "Traceback" not in err, err[-2000:]
    assert "encoder tensors are missing" in err and "bert.encoder.layer.2." in err
    assert str(broken) in err


@pytest.mark.e2e
def test_model_of_another_type_than_the_task_needs(mim_run, tmp_path, capsys):
    """A ViT pre-training output given to masked-lm: named, not a traceback."""
    config = write_mlm_config(
        tmp_path / "c.yaml", mim_run["out"], tmp_path / "x.csv", tmp_path / "o"
    )
    err = expect_user_error(["pretrain", "--config", str(config)], capsys)
    assert str(mim_run["out"]) in err


def test_whole_word_masking_hides_every_piece_of_a_word(tmp_path):
    """'markets' is two WordPiece tokens (market, ##s): they are masked together or not at all,
    in the freshly masked training blocks and in the once-masked validation blocks."""
    import datasets
    from transformers import BertTokenizerFast

    from toolkit.tasks import masked_lm

    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "the",
        "market",
        "##s",
        "rose",
        "fell",
        "and",
        "bank",
    ]
    tokenizer = BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, model_max_length=64)
    texts = ["the markets rose and the bank fell", "markets fell and markets rose"] * 20
    config = load_config(
        write_mlm_config(tmp_path / "c.yaml", tmp_path, tmp_path / "x.csv", tmp_path / "o"),
        ["--masking.whole_word_mask", "true", "--masking.mlm_probability", "0.4"],
    )
    splits = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"text": texts}),
            "validation": datasets.Dataset.from_dict({"text": texts}),
        }
    )
    prepared = masked_lm.prepare(splits, tokenizer, config)
    collate = masked_lm.collator(tokenizer, config)
    market, piece = tokenizer.convert_tokens_to_ids(["market", "##s"])
    pairs = 0
    for split in ("train", "validation"):
        rows = [prepared[split][i] for i in range(len(prepared[split]))]
        batch = collate(rows)
        labels = batch["labels"]
        masked = labels != -100
        # Whole-word masking always writes [MASK] (no random tokens), so the text is
        # the label where masked and the input elsewhere.
        truth = torch.where(masked, labels, batch["input_ids"])
        for row in range(len(rows)):
            ids = truth[row].tolist()
            for i in range(len(ids) - 1):
                if ids[i] == market and ids[i + 1] == piece:
                    pairs += 1
                    assert masked[row, i] == masked[row, i + 1], (split, row, i)
        assert 0.2 < masked.float().mean() < 0.6
    assert pairs > 20


def test_unlabelled_data_keeps_test_inputs_out_unless_asked(tiny_bert, text_data, tmp_path):
    from toolkit.data.load import load_data
    from toolkit.data.unlabelled import load_unlabelled

    config = load_config(
        write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "o")
    )
    labelled = load_data(config.data, ["text"], seed=42).splits
    plain = load_unlabelled(config.data, "text", "data.text_column", seed=42)
    assert plain["train"].column_names == ["text"]
    assert list(plain["train"]["text"]) == list(labelled["train"]["text"])  # fine-tuning hold-out
    assert list(plain["validation"]["text"]) == list(labelled["validation"]["text"])
    config.data.pretrain_include_test = True
    more = load_unlabelled(config.data, "text", "data.text_column", seed=42)
    assert list(more["train"]["text"]) == list(plain["train"]["text"]) + list(
        labelled["test"]["text"]
    )
