"""Tiny random checkpoints of the encoder families users bring, saved the way the Hub stores
them: the family's own pre-training (or bare) model class and its OWN tokenizer class or image
processor, in a folder that the real `from_pretrained` path loads.

Every text checkpoint has hidden size 32 and 2 layers, and a vocabulary of at most a few hundred
entries that holds every word the tests write (`WORDS`) whole, so no test text is unknown.
The vocabularies are built the way each family's are, only small: WordPiece (BERT, DistilBERT,
ELECTRA, MPNet), byte-level BPE trained with `tokenizers` (RoBERTa from vocab.json/merges.txt;
ModernBERT as a generic PreTrainedTokenizerFast over tokenizer.json, as its Hub repos ship it),
Unigram pieces behind a Metaspace pre-tokenizer (DeBERTa-v3, XLM-RoBERTa, ALBERT: what their
SentencePiece models are, written as a `tokenizers` object since sentencepiece is not needed).
Every image checkpoint reads 32 x 32 pixels, has 2 layers or 2 stages and a 5-label head (DINOv2:
the bare model, as facebook/dinov2-* ships), with the processor class and settings its Hub repos
use (bicubic resizes and centre crops included), scaled to 32 pixels.

`FAMILIES` maps each family name to its `Family`; `family.save(folder)` writes the checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from helpers import FILLER, REPEATED_SENTENCES, TOPIC_WORDS
from tagging_helpers import AMBIGUOUS, PEOPLE, PLACES
from tagging_helpers import FILLER as TAGGING_FILLER

HIDDEN, LAYERS, HEADS, FFN = 32, 2, 2, 64
MAX_POSITIONS = 128
IMAGE_SIZE = 32
CHECKPOINT_LABELS = 5  # the saved image heads' size: never the size of a test's label set

# Every word a matrix test writes: topic texts, tagged sentences, the pre-training corpus.
WORDS = sorted(
    {w for words in TOPIC_WORDS.values() for w in words}
    | set(FILLER)
    | {w for group in (PEOPLE, PLACES) for name in group for w in name}
    | {w for words, _ in AMBIGUOUS for w in words}
    | set(TAGGING_FILLER)
    | {w for sentence in REPEATED_SENTENCES for w in sentence.split()}
)


@dataclass(frozen=True)
class Family:
    name: str
    modality: str  # "text" or "image"
    save: Callable[[Path], Path]  # writes the checkpoint into the folder, returns it
    # names one layer (block) of the encoder: `bert.encoder.layer.N.`, `distilbert.transformer
    # .layer.N.`, `vit.layers.N.` (transformers 5), `model.layers.N.` (ModernBERT)
    block: str = r"\.layers?\.\d+\."
    blocks: int = LAYERS  # how many the checkpoint has


# ----------------------------------------------------------------------------- vocabularies


def wordpiece_vocab(specials: list[str]) -> dict[str, int]:
    """Special tokens, every test word whole, then the letters alone and as ##pieces, so a word
    outside WORDS still splits into known pieces instead of [UNK]."""
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    tokens = [*specials, *WORDS, *letters, *(f"##{c}" for c in letters)]
    return {token: i for i, token in enumerate(dict.fromkeys(tokens))}


def unigram_tokenizer(specials: list[str], unk: str, template: str, lowercase: bool = False):
    """A SentencePiece-style Unigram model (what DeBERTa-v3, XLM-R and ALBERT ship) as a
    `tokenizers` object: '▁word' for every test word, likelier than its letters, so a known
    word is one piece and another word falls into letters. `template`: where the special
    tokens go around one text, e.g. "[CLS] $A [SEP]" (a family class given a `tokenizers`
    object keeps that object's post-processor, and ALBERT's would otherwise add none)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces = [(token, 0.0) for token in specials]
    pieces += [(f"▁{word}", -2.0) for word in WORDS]
    pieces += [("▁", -3.0)] + [(c, -5.0) for c in letters] + [(f"▁{c}", -5.5) for c in letters]
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=specials.index(unk), byte_fallback=False))
    steps = [normalizers.Replace(Regex(" {2,}"), " ")]
    tokenizer.normalizer = normalizers.Sequence(
        [*steps, normalizers.Lowercase()] if lowercase else steps
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.post_processor = special_tokens_around(tokenizer, template)
    return tokenizer


def special_tokens_around(tokenizer, template: str):
    """A post-processor putting the special tokens of `template` ("[CLS] $A [SEP]") around
    one text, and around a pair as the family does: "[CLS] A [SEP] B [SEP]" for BERT-style
    templates, "<s> A </s> </s> B </s>" for RoBERTa-style ones."""
    from tokenizers import processors

    first, _, last = template.split()
    pair = f"{template} $B:1 {last}:1" if first == "[CLS]" else f"{template} {last} $B {last}"
    return processors.TemplateProcessing(
        single=template,
        pair=pair,
        special_tokens=[(token, tokenizer.token_to_id(token)) for token in (first, last)],
    )


def byte_level_bpe(specials: list[str]):
    """A byte-level BPE (GPT-2 style: RoBERTa, ModernBERT) trained by `tokenizers` on the test
    words in running text, so each one, after a space ('Ġword') or not, is a single piece."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=700,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    running_text = [" ".join(WORDS), *(f"{w} {w}" for w in WORDS)] * 4
    tokenizer.train_from_iterator(running_text, trainer)
    return tokenizer


# ----------------------------------------------------------------------------- text families


def text_sizes() -> dict[str, int]:
    return {
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": FFN,
        "max_position_embeddings": MAX_POSITIONS,
    }


def save_text(folder: Path, model, tokenizer) -> Path:
    tokenizer.model_max_length = MAX_POSITIONS - 4  # RoBERTa-style positions start after pad
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def seeded(build: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """The same random weights every session, whatever was drawn before."""

    def save(folder: Path) -> Path:
        import torch

        torch.manual_seed(0)
        return build(folder)

    return save


@seeded
def save_bert(folder: Path) -> Path:
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    vocab = wordpiece_vocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    model = BertForMaskedLM(BertConfig(vocab_size=len(vocab), **text_sizes()))
    return save_text(folder, model, BertTokenizerFast(vocab=vocab))


@seeded
def save_distilbert(folder: Path) -> Path:
    from transformers import DistilBertConfig, DistilBertForMaskedLM, DistilBertTokenizerFast

    vocab = wordpiece_vocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    config = DistilBertConfig(
        vocab_size=len(vocab),
        dim=HIDDEN,
        n_layers=LAYERS,
        n_heads=HEADS,
        hidden_dim=FFN,
        max_position_embeddings=MAX_POSITIONS,
    )
    return save_text(folder, DistilBertForMaskedLM(config), DistilBertTokenizerFast(vocab=vocab))


@seeded
def save_electra(folder: Path) -> Path:
    """The discriminator, as google/electra-*-discriminator ships it."""
    from transformers import ElectraConfig, ElectraForPreTraining, ElectraTokenizerFast

    vocab = wordpiece_vocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    config = ElectraConfig(vocab_size=len(vocab), embedding_size=HIDDEN, **text_sizes())
    return save_text(folder, ElectraForPreTraining(config), ElectraTokenizerFast(vocab=vocab))


@seeded
def save_mpnet(folder: Path) -> Path:
    from transformers import MPNetConfig, MPNetForMaskedLM, MPNetTokenizerFast

    vocab = wordpiece_vocab(["<s>", "<pad>", "</s>", "[UNK]", "<mask>"])
    config = MPNetConfig(vocab_size=len(vocab), pad_token_id=1, **text_sizes())
    return save_text(folder, MPNetForMaskedLM(config), MPNetTokenizerFast(vocab=vocab))


@seeded
def save_roberta(folder: Path) -> Path:
    """vocab.json + merges.txt written by `tokenizers`, read by RobertaTokenizerFast."""
    from transformers import RobertaConfig, RobertaForMaskedLM, RobertaTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe_files = folder / "bpe"
    bpe_files.mkdir(parents=True)
    byte_level_bpe(specials).model.save(str(bpe_files))
    vocab = json.loads((bpe_files / "vocab.json").read_text())
    tokenizer = RobertaTokenizerFast(
        vocab=str(bpe_files / "vocab.json"), merges=str(bpe_files / "merges.txt")
    )
    config = RobertaConfig(vocab_size=len(vocab), pad_token_id=1, type_vocab_size=1, **text_sizes())
    save_text(folder, RobertaForMaskedLM(config), tokenizer)
    for name in ("vocab.json", "merges.txt"):
        (bpe_files / name).unlink()
    bpe_files.rmdir()
    return folder


@seeded
def save_modernbert(folder: Path) -> Path:
    """A generic PreTrainedTokenizerFast over a byte-level BPE with ModernBERT's [CLS] X [SEP]
    template, as answerdotai/ModernBERT-* ship it."""
    from transformers import ModernBertConfig, ModernBertForMaskedLM, PreTrainedTokenizerFast

    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    bpe = byte_level_bpe(specials)
    bpe.post_processor = special_tokens_around(bpe, "[CLS] $A [SEP]")
    cls, sep = bpe.token_to_id("[CLS]"), bpe.token_to_id("[SEP]")
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
    )
    config = ModernBertConfig(
        vocab_size=bpe.get_vocab_size(),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=MAX_POSITIONS,
        local_attention=16,
        pad_token_id=bpe.token_to_id("[PAD]"),
        cls_token_id=cls,
        sep_token_id=sep,
        bos_token_id=cls,
        eos_token_id=sep,
    )
    return save_text(folder, ModernBertForMaskedLM(config), tokenizer)


@seeded
def save_deberta_v3(folder: Path) -> Path:
    """DeBERTa-v2 code with microsoft/deberta-v3-* settings: relative attention in 256
    log buckets over shared keys, no absolute positions, a Unigram vocabulary."""
    from transformers import DebertaV2Config, DebertaV2ForMaskedLM, DebertaV2TokenizerFast

    specials = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]
    unigram = unigram_tokenizer(specials, "[UNK]", "[CLS] $A [SEP]")
    tokenizer = DebertaV2TokenizerFast(
        tokenizer_object=unigram,
        bos_token="[CLS]",
        eos_token="[SEP]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        unk_token="[UNK]",
        pad_token="[PAD]",
        mask_token="[MASK]",
    )
    config = DebertaV2Config(
        vocab_size=unigram.get_vocab_size(),
        relative_attention=True,
        position_buckets=256,
        max_relative_positions=-1,
        norm_rel_ebd="layer_norm",
        share_att_key=True,
        pos_att_type=["p2c", "c2p"],
        position_biased_input=False,
        type_vocab_size=0,
        pad_token_id=0,
        **text_sizes(),
    )
    return save_text(folder, DebertaV2ForMaskedLM(config), tokenizer)


@seeded
def save_xlm_roberta(folder: Path) -> Path:
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    unigram = unigram_tokenizer(specials, "<unk>", "<s> $A </s>")
    tokenizer = XLMRobertaTokenizerFast(tokenizer_object=unigram)
    config = XLMRobertaConfig(
        vocab_size=unigram.get_vocab_size(), pad_token_id=1, type_vocab_size=1, **text_sizes()
    )
    return save_text(folder, XLMRobertaForMaskedLM(config), tokenizer)


@seeded
def save_albert(folder: Path) -> Path:
    """ALBERT's one set of layer weights, shared by both layers (the family's design)."""
    from transformers import AlbertConfig, AlbertForMaskedLM, AlbertTokenizerFast

    specials = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    unigram = unigram_tokenizer(specials, "<unk>", "[CLS] $A [SEP]", lowercase=True)
    tokenizer = AlbertTokenizerFast(tokenizer_object=unigram)
    config = AlbertConfig(vocab_size=unigram.get_vocab_size(), embedding_size=16, **text_sizes())
    return save_text(folder, AlbertForMaskedLM(config), tokenizer)


# ----------------------------------------------------------------------------- image families

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
BICUBIC = 3  # PIL.Image.Resampling.BICUBIC, as the Hub's processor configs write it
SQUARE = {"height": IMAGE_SIZE, "width": IMAGE_SIZE}


def head_of_another_size() -> dict:
    names = {i: f"imagenet_{i}" for i in range(CHECKPOINT_LABELS)}
    return {"id2label": names, "label2id": {v: k for k, v in names.items()}}


def vit_sizes() -> dict[str, int]:
    """encoder_stride: the upsampling of a masked-image model's decoder, the patch size (as in
    google/vit-base-patch16-224's config)."""
    return {
        "image_size": IMAGE_SIZE,
        "patch_size": 8,
        "encoder_stride": 8,
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": FFN,
    }


def save_image(folder: Path, model, processor) -> Path:
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@seeded
def save_vit(folder: Path) -> Path:
    """google/vit-base-patch16-224: a square bilinear resize, mean and std 0.5."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    model = ViTForImageClassification(ViTConfig(**vit_sizes(), **head_of_another_size()))
    processor = ViTImageProcessor(size=SQUARE, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    return save_image(folder, model, processor)


@seeded
def save_deit(folder: Path) -> Path:
    """facebook/deit-*-patch16-224: bicubic resize to 256/224 of the size, then a centre crop."""
    from transformers import DeiTConfig, DeiTForImageClassification, DeiTImageProcessor

    model = DeiTForImageClassification(DeiTConfig(**vit_sizes(), **head_of_another_size()))
    processor = DeiTImageProcessor(
        size={"height": 36, "width": 36},
        crop_size=SQUARE,
        resample=BICUBIC,
        image_mean=IMAGENET_MEAN,
        image_std=IMAGENET_STD,
    )
    return save_image(folder, model, processor)


@seeded
def save_beit(folder: Path) -> Path:
    """microsoft/beit-base-patch16-224: relative position bias in every layer, mean pooling,
    a square resize without crop, mean and std 0.5."""
    from transformers import BeitConfig, BeitForImageClassification, BeitImageProcessor

    config = BeitConfig(
        **vit_sizes(),
        use_relative_position_bias=True,
        use_mean_pooling=True,
        **head_of_another_size(),
    )
    processor = BeitImageProcessor(
        size=SQUARE, do_center_crop=False, image_mean=[0.5] * 3, image_std=[0.5] * 3
    )
    return save_image(folder, BeitForImageClassification(config), processor)


@seeded
def save_swin(folder: Path) -> Path:
    """microsoft/swin-tiny-patch4-window7-224, 2 stages of 2 blocks: ViT's processor class with
    a bicubic resize and ImageNet statistics, as the Hub repo has it."""
    from transformers import SwinConfig, SwinForImageClassification, ViTImageProcessor

    config = SwinConfig(
        image_size=IMAGE_SIZE,
        patch_size=4,
        embed_dim=16,
        depths=[2, 2],
        num_heads=[2, 2],
        window_size=4,
        encoder_stride=8,  # what the 2 stages shrink the image by (4 x 4 patches, then 2 x 2)
        **head_of_another_size(),
    )
    processor = ViTImageProcessor(
        size=SQUARE, resample=BICUBIC, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD
    )
    return save_image(folder, SwinForImageClassification(config), processor)


@seeded
def save_convnext(folder: Path) -> Path:
    """facebook/convnext-tiny-224, 2 stages of 2 blocks: shortest edge resized to size/crop_pct,
    then centre-cropped, bicubic."""
    from transformers import ConvNextConfig, ConvNextForImageClassification, ConvNextImageProcessor

    config = ConvNextConfig(
        num_stages=2, hidden_sizes=[16, HIDDEN], depths=[2, 2], **head_of_another_size()
    )
    processor = ConvNextImageProcessor(
        size={"shortest_edge": IMAGE_SIZE},
        crop_pct=0.875,
        resample=BICUBIC,
        image_mean=IMAGENET_MEAN,
        image_std=IMAGENET_STD,
    )
    return save_image(folder, ConvNextForImageClassification(config), processor)


@seeded
def save_dinov2(folder: Path) -> Path:
    """facebook/dinov2-small: the bare encoder (no head) and BitImageProcessor, shortest edge
    resized to 256/224 of the size, then centre-cropped, bicubic."""
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    sizes = {k: v for k, v in vit_sizes().items() if k != "intermediate_size"}
    config = Dinov2Config(**sizes, mlp_ratio=FFN // HIDDEN)  # DINOv2 sizes its MLP by a ratio
    processor = BitImageProcessor(
        size={"shortest_edge": 36},
        crop_size=SQUARE,
        do_center_crop=True,
        resample=BICUBIC,
        image_mean=IMAGENET_MEAN,
        image_std=IMAGENET_STD,
    )
    return save_image(folder, Dinov2Model(config), processor)


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family("bert", "text", save_bert),
        Family("roberta", "text", save_roberta),
        Family("deberta-v3", "text", save_deberta_v3),
        Family("modernbert", "text", save_modernbert),
        Family("distilbert", "text", save_distilbert),
        Family("electra", "text", save_electra),
        Family("xlm-roberta", "text", save_xlm_roberta),
        Family("albert", "text", save_albert, block=r"\.albert_layers\.\d+\.", blocks=1),
        Family("mpnet", "text", save_mpnet),
        Family("vit", "image", save_vit),
        Family("deit", "image", save_deit),
        Family("beit", "image", save_beit),
        Family("swin", "image", save_swin, block=r"\.layers\.\d+\.blocks\.\d+\.", blocks=4),
        Family("convnext", "image", save_convnext, block=r"\.stages\.\d+\.layers\.\d+\.", blocks=4),
        Family("dinov2", "image", save_dinov2),
    )
}
TEXT_FAMILIES = [name for name, family in FAMILIES.items() if family.modality == "text"]
IMAGE_FAMILIES = [name for name, family in FAMILIES.items() if family.modality == "image"]
