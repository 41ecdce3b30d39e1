"""The model card of a pre-training run: what it learnt from, its loss, how to fine-tune it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from toolkit.config.schema import RunConfig
from toolkit.model.packaged import hub_id_of
from toolkit.outputs.model_card import data_source_text


def masking_line(config: RunConfig) -> str:
    m = config.masking
    if not config.kind.modality.reads_images:  # masked-lm
        return (
            f"{m.mlm_probability:.0%} of tokens selected per batch"
            f"{' (whole words)' if m.whole_word_mask else ''}; blocks of "
            f"{config.data.max_length} tokens"
        )
    return (
        f"{m.mask_ratio:.0%} of each image hidden in squares of "
        f"{m.mask_patch_size or 'one patch'} pixels (SimMIM)"
    )


def write_pretrain_card(
    path: Path, config: RunConfig, pipeline_tag: str, metrics: dict[str, Any], model_name: str
) -> None:
    base = config.model.name_or_path or "model.from_config (trained from scratch)"
    metadata = ModelCardData(
        base_model=hub_id_of(config.model.name_or_path or ""),
        license="apache-2.0",
        tags=["ftk", config.task],
        pipeline_tag=pipeline_tag,
        model_name=model_name,
    )
    column = (
        config.data.image_column if config.kind.modality.reads_images else config.data.text_column
    )
    test = "included" if config.data.pretrain_include_test else "not seen"
    ppl = metrics.get("eval_perplexity")
    results = f"- validation loss: {metrics['eval_loss']:.4f}" + (
        f"\n- validation perplexity: {ppl:.2f}" if ppl is not None else ""
    )
    body = f"""
# {model_name}

Continued pre-training with the `ftk` toolkit: **{config.task}** on unlabelled inputs.

- Base model: `{base}`
- Data: {data_source_text(config.data)}, column `{column}`; labels not used; test inputs {test}
- Masking: {masking_line(config)}

## Results

{results}

## Fine-tune it

```bash
ftk train --config FINETUNE.yaml --model.name_or_path {path.parent}
```

The exact configuration is in `run_config.yaml`; curves in `loss.png`, `learning_rate.png`;
every step in `history.jsonl`.
"""
    ModelCard(f"---\n{metadata.to_yaml()}\n---\n{body}").save(str(path))
