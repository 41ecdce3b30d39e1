"""Padding-free packing against padding: BERT-base masked-LM training steps on one device.

Two arms train on the same texts (random token ids, lengths drawn once, seeded):
  padded  each batch padded to its longest text, with an attention mask (ftk's default);
  packed  transformers' DataCollatorWithFlattening: the batch as one row of all its texts, no
          pad token, position_ids restarting at 0 at each text. From those positions
          transformers (5.x) builds a block-diagonal mask for sdpa and eager attention, and
          flash_attention_2 reads the text boundaries (cu_seq_lens) and does no work across
          texts; so the loss is the padded batch's (--check measures it; the tests run it).

A masked LM, not a classifier: a flattened batch is one row, and a sequence-classification
head pools the first token of each row, so it would see one text per batch. Packing suits
per-token losses (masked LM, token classification), not ftk's text classification.

Tokens/s counts real tokens only (the same in both arms). With sdpa the packed batch's mask is
dense over all its tokens (T x T for T tokens in the batch), so only a varlen kernel
(flash_attention_2, where the flash-attn package is installed) is expected to gain.

    python benchmarks/packing.py --device cuda --attn sdpa --attn flash_attention_2  # gpu.sh
    python benchmarks/packing.py --device cpu --tiny --check                          # tests
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import append_json_line
from flops import time_steps, training_step

BATCH, MAX_LENGTH = 32, 128
MASKED = 0.15  # share of tokens whose label is kept, as BERT's pre-training masks


def text_lengths(count: int, shortest: int, longest: int, seed: int) -> list[int]:
    """Lengths spread like short texts, most well under the longest (exponential, mean a third
    of it, clipped), seeded. At batch 32 and 128 tokens: 1,207 real tokens, padded to 4,096
    (70% padding), the case packing is for."""
    uniform = torch.rand(count, generator=torch.Generator().manual_seed(seed))
    drawn = -torch.log1p(-uniform) * longest / 3
    return [int(min(max(n, shortest), longest)) for n in drawn.tolist()]


def mlm_features(lengths: list[int], vocab_size: int, seed: int) -> list[dict[str, list[int]]]:
    """One feature per text: random ids, labels on MASKED of the tokens. The first token has
    no label in either arm (the flattening collator puts its separator, -100, there)."""
    torch.manual_seed(seed)
    features = []
    for length in lengths:
        ids = torch.randint(5, vocab_size, (length,))
        labels = torch.where(torch.rand(length) < MASKED, ids, torch.full_like(ids, -100))
        labels[0] = -100
        features.append({"input_ids": ids.tolist(), "labels": labels.tolist()})
    return features


def padded_batch(features: list[dict], device: torch.device) -> dict[str, torch.Tensor]:
    longest = max(len(f["input_ids"]) for f in features)

    def pad(key: str, value: int) -> torch.Tensor:
        rows = [f[key] + [value] * (longest - len(f[key])) for f in features]
        return torch.tensor(rows, device=device)

    ids = pad("input_ids", 0)
    mask = torch.tensor(
        [[1] * len(f["input_ids"]) + [0] * (longest - len(f["input_ids"])) for f in features],
        device=device,
    )
    return {"input_ids": ids, "attention_mask": mask, "labels": pad("labels", -100)}


def packed_batch(features: list[dict], device: torch.device, attn: str) -> dict:
    """DataCollatorWithFlattening's batch; a flash kernel also gets the boundaries it reads."""
    from transformers import DataCollatorWithFlattening

    collate = DataCollatorWithFlattening(return_flash_attn_kwargs=attn.startswith("flash"))
    batch = collate(features)
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def build_mlm(attn: str, tiny: bool) -> torch.nn.Module:
    """BERT-base (or a 2-layer BERT) masked LM from its config: random weights, no download."""
    from transformers import BertConfig, BertForMaskedLM

    small = (
        {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2}
        | {"intermediate_size": 64, "vocab_size": 100}
        if tiny
        else {}
    )
    return BertForMaskedLM(BertConfig(attn_implementation=attn, **small))


CPU = torch.device("cpu")


def same_loss(
    attn: str, tiny: bool, features: list[dict], device: torch.device = CPU
) -> tuple[float, float]:
    """(padded loss, packed loss) of one batch through one model, dropout off: in fp32, or in
    bf16 autocast for a flash kernel (it computes in 16 bits only)."""
    torch.manual_seed(0)
    model = build_mlm(attn, tiny).to(device).eval()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=attn.startswith("flash"))
    with torch.no_grad(), autocast:
        padded = model(**padded_batch(features, device)).loss.item()
        packed = model(**packed_batch(features, device, attn)).loss.item()
    return padded, packed


def check(attns: list[str], tiny: bool, device: torch.device) -> None:
    """Exit unless each attention gives the packed batch the padded batch's loss."""
    features = mlm_features(text_lengths(6, 4, 24, seed=1), 100 if tiny else 30522, seed=1)
    for attn in attns:
        padded, packed = same_loss(attn, tiny, features, device)
        print(f"check {attn}: padded loss {padded:.6f}, packed loss {packed:.6f}")
        tolerance = 1e-2 if attn.startswith("flash") else 1e-4
        if abs(padded - packed) > tolerance * max(1.0, abs(padded)):
            sys.exit(f"packed loss {packed} differs from padded loss {padded} ({attn})")


def measure(arm: str, attn: str, device: torch.device, args: argparse.Namespace) -> dict:
    """Median step time of one arm, training in bf16 autocast as `bf16: true` does."""
    torch.manual_seed(0)
    model = build_mlm(attn, args.tiny).to(device).train()
    batch_size, longest = (4, 16) if args.tiny else (BATCH, MAX_LENGTH)
    lengths = text_lengths(batch_size, max(2, longest // 16), longest, seed=0)
    features = mlm_features(lengths, model.config.vocab_size, seed=0)
    batch = (
        padded_batch(features, device) if arm == "padded" else packed_batch(features, device, attn)
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device.type == "cuda")
    autocast = torch.autocast(device.type, dtype=torch.bfloat16)
    seconds = time_steps(training_step(model, batch, optimizer, autocast), args.steps, 2, device)
    tokens = sum(len(f["input_ids"]) for f in features)
    return {
        "arm": arm,
        "attn": attn,
        "batch": batch_size,
        "tokens": tokens,
        "row_tokens": int(batch["input_ids"].numel()),  # padded: batch x longest
        "step_s": seconds,
        "tokens_per_s": tokens / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--attn", action="append", help="attention implementation(s); default sdpa (repeatable)"
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--tiny", action="store_true", help="a 2-layer BERT, batch 4: seconds")
    parser.add_argument("--check", action="store_true", help="packed loss = padded loss first")
    parser.add_argument("--json", type=Path, help="append one JSON line per result here")
    args = parser.parse_args()
    device, attns = torch.device(args.device), args.attn or ["sdpa"]
    if args.tiny:
        args.steps = 2
    if args.check:
        check(attns, args.tiny, device)
    print(
        f"{'arm':<7} {'attn':<18} {'batch':>5} {'tokens':>6} {'in rows':>7} {'step ms':>8} "
        f"{'tokens/s':>10}"
    )
    for attn in attns:
        for arm in ("padded", "packed"):
            result = measure(arm, attn, device, args)
            print(
                f"{arm:<7} {attn:<18} {result['batch']:>5} {result['tokens']:>6} "
                f"{result['row_tokens']:>7} {result['step_s'] * 1e3:>8.1f} "
                f"{result['tokens_per_s']:>10.0f}",
                flush=True,
            )
            if args.json:
                append_json_line(args.json, result)


if __name__ == "__main__":
    main()
