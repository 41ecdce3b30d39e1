"""Loading checkpoints safely: clear errors for bad paths, safetensors unless told otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from toolkit.config.schema import ModelConfig
from toolkit.core.errors import UserError
from toolkit.core.log import say
from toolkit.model.load_report import held_load_report
from toolkit.model.packaged import resolve_model_path
from toolkit.model.remote_code import custom_code_needed
from toolkit.model.transfer import check_encoder_loaded, describe_new_weights

if TYPE_CHECKING:
    from transformers import PreTrainedModel


def checkpoint_location(cfg: ModelConfig) -> str:
    """The folder or Hub id to load from, checked so that typos fail before any download."""
    if not cfg.name_or_path:
        raise UserError(
            "model.name_or_path is not set: give a Hub id (e.g. "
            "bert-base-uncased) or the folder of a checkpoint."
        )
    location = resolve_model_path(cfg.name_or_path)
    path = Path(location)
    looks_local = (
        path.is_absolute() or location.startswith(".") or path.exists() or location.count("/") > 1
    )
    if looks_local:
        if not path.exists():
            raise UserError(
                f"model.name_or_path '{cfg.name_or_path}' does not exist. Give an "
                f"existing checkpoint folder or a Hub id like 'org/model'."
            )
        if not (path / "config.json").is_file():
            raise UserError(
                f"model.name_or_path '{cfg.name_or_path}' holds no model: there is no "
                f"config.json in it. Point it at a folder written by "
                f"save_pretrained (or a finished ftk run directory)."
            )
        if not cfg.allow_pickle and not any(path.glob("*.safetensors")) and any(path.glob("*.bin")):
            raise UserError(
                f"model.name_or_path '{cfg.name_or_path}' has only pickled .bin "
                f"weights, which can run code when loaded. Convert them to "
                f"safetensors, or set model.allow_pickle: true if you trust them."
            )
        refusal = custom_code_refusal(cfg, location)
        if refusal is not None:  # before any data is read for the model
            raise refusal
    return location


def custom_code_refusal(cfg: ModelConfig, location: str) -> UserError | None:
    """The error naming model.trust_remote_code when loading `location` would run code
    shipped with it and the config does not allow that; else None."""
    why = None if cfg.trust_remote_code else custom_code_needed(location, cfg.revision)
    if not why:
        return None
    return UserError(
        f"model.name_or_path '{cfg.name_or_path}' needs code that is not part of "
        f"transformers to load: {why}. ftk runs such code only when told to: if you "
        f"trust it, set model.trust_remote_code: true (--model.trust_remote_code true); "
        f"else use a checkpoint of a model type transformers ships."
    )


def pretrained_kwargs(cfg: ModelConfig) -> dict[str, Any]:
    """Keyword arguments shared by every from_pretrained call of a run."""
    kwargs: dict[str, Any] = {"trust_remote_code": cfg.trust_remote_code}
    if cfg.revision:
        kwargs["revision"] = cfg.revision
    return kwargs


def model_kwargs(cfg: ModelConfig) -> dict[str, Any]:
    """Keyword arguments for building a model (from a checkpoint or from a config), not for
    tokenizers or processors."""
    return {"attn_implementation": cfg.attn_implementation} if cfg.attn_implementation else {}


def load_failure(cfg: ModelConfig, what: str, exc: Exception) -> UserError:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # a Hub checkpoint's config.json is known only once the failed load has fetched it
    return custom_code_refusal(cfg, resolve_model_path(cfg.name_or_path or "")) or UserError(
        f"Could not load the {what} from model.name_or_path '{cfg.name_or_path}': "
        f"{first_line}. Check the Hub id (and network) or the folder."
    )


def load_checkpoint_model(
    model_class: Any, cfg: ModelConfig, what: str, **kwargs: Any
) -> PreTrainedModel:
    """`model_class.from_pretrained(model.name_or_path)` with the run's safety settings.

    Every task loads its checkpoint through here, so each one fails the same clear way when the
    checkpoint leaves an encoder tensor missing or mis-shaped (a pre-training output of another
    architecture, say: the pre-training would silently be lost) and prints which tensors, the
    new heads, start from random values. `kwargs` go to from_pretrained (labels, config)."""
    location = checkpoint_location(cfg)
    try:
        with held_load_report() as report:  # ftk's own line below says what it says
            model, info = model_class.from_pretrained(
                location,
                output_loading_info=True,
                use_safetensors=None if cfg.allow_pickle else True,
                **kwargs,
                **model_kwargs(cfg),
                **pretrained_kwargs(cfg),
            )
    # RuntimeError: tensors of shapes that cannot load; ImportError: a missing flash-attn
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        failure = load_failure(cfg, what, exc)
        if report.text:  # the table the error points at ("look at the above report")
            raise UserError(f"{failure} transformers' report:\n{report.text}") from None
        raise failure from None
    check_encoder_loaded(model, info, cfg.name_or_path or "")  # set: checkpoint_location
    say(describe_new_weights(model, info))
    # LoRA trains these in full (model/lora.head_modules): frozen, they would stay random
    model.ftk_new_tensors = tuple(info.get("missing_keys", []))
    return model


def load_tokenizer(cfg: ModelConfig) -> PreTrainedTokenizerBase:
    """The checkpoint's tokenizer, with the run's safety settings; a clear error if it fails."""
    location = checkpoint_location(cfg)
    try:
        return AutoTokenizer.from_pretrained(location, **pretrained_kwargs(cfg))
    except (OSError, ValueError) as exc:
        raise load_failure(cfg, "tokenizer", exc) from None
