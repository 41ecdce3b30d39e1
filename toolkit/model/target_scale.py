"""A regression head that trains on standardised targets and predicts in the target's units.

A new head's last layer starts with small weights and a zero bias, so it first predicts about 0
with a spread far below the targets': on a target of mean 2.7 the first steps are spent
reaching the mean, and AdamW moves each weight by about the learning rate per step, so a spread
of several units takes many steps to grow. `model.target_scaling` changes what the layer's
weights mean instead of the targets:

    standardise   output = mean + std * (W x + b): W and b train in standardised units (the
                  training split's mean and std), as if the targets had been standardised
    mean          output = mean + (W x + b): the head starts at the training mean

Everything that reads the model (the loss, the metrics, `ftk predict`) sees the target's units
because the layer's output is in them. Whatever saves its weights (checkpoints, the final
model, a LoRA adapter's head, the merged LoRA model) gets them folded into a plain Linear,
W' = std W and b' = std b + mean, so `transformers.pipeline` and `from_pretrained` predict in
the target's units with no ftk code; loading such weights back into the layer unfolds them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from toolkit.core.errors import UserError

Scaling = Literal["standardise", "mean", "none"]
# What build_model leaves on a regression model: its TargetScale (None: the head as built).
TARGET_SCALE_ATTR = "ftk_target_scale"


@dataclass(frozen=True)
class TargetScale:
    """The regression head's output is mean + std * (its last layer's own output)."""

    how: Scaling
    mean: float  # of the training split's targets
    std: float  # of the training split's targets (1.0 when only the mean is used)

    @classmethod
    def of(cls, targets: Any, how: Scaling) -> TargetScale | None:
        """The scale `how` asks for, from the training targets (None: the head as built)."""
        if how == "none":
            return None
        values = np.asarray(targets, dtype=np.float64)
        spread = float(values.std())
        # constant targets have no spread to standardise by: the mean alone still helps
        std = spread if how == "standardise" and spread > 0 else 1.0
        return cls(how, float(values.mean()), std)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self, layer: str) -> str:
        if self.how == "standardise":
            return (
                f"Regression head: '{layer}' trains on standardised targets (training mean "
                f"{self.mean:.4g}, std {self.std:.4g}) and predicts in the target's units "
                f"(the scale is folded into its weights when saved)"
            )
        return f"Regression head: '{layer}' starts at the training mean {self.mean:.4g}"


class ScaledLinear(nn.Linear):
    """A Linear layer whose output is shifted and scaled: mean + std * (W x + b). Its
    parameters stay in standardised units (what the optimizer and weight decay see); its state
    dict holds them folded, W' = std W and b' = std b + mean, which a plain Linear reads."""

    def __init__(self, layer: nn.Linear, scale: TargetScale):
        super().__init__(
            layer.in_features,
            layer.out_features,
            bias=True,
            device=layer.weight.device,
            dtype=layer.weight.dtype,
        )
        with torch.no_grad():
            self.weight.copy_(layer.weight)
            self.bias.copy_(layer.bias)
        self.mean, self.std = scale.mean, scale.std

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        # in float32: under bf16 autocast a target of 50 would be read to the nearest 0.25
        return super().forward(inputs).float() * self.std + self.mean

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "weight"] = self.weight.detach() * self.std
        destination[prefix + "bias"] = self.bias.detach() * self.std + self.mean

    def _load_from_state_dict(
        self, state_dict: Any, prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        # unfolded in a copy of this layer's entries: the caller's dict stays as it was
        own = {k: v for k, v in state_dict.items() if k.startswith(prefix)}
        for name, shift in (("weight", 0.0), ("bias", self.mean)):
            if prefix + name in own:
                own[prefix + name] = (own[prefix + name] - shift) / self.std
        super()._load_from_state_dict(own, prefix, *args, **kwargs)


def output_layer(model: nn.Module) -> str:
    """The name of the head's last Linear: the last Linear outside the encoder with one output
    per label (a regression head has one)."""
    prefix = getattr(model, "base_model_prefix", "")
    outputs = getattr(model.config, "num_labels", 1)
    found = [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        and module.out_features == outputs
        and not (prefix and name.startswith(prefix + "."))
    ]
    if not found or getattr(model.get_submodule(found[-1]), "bias", None) is None:
        raise UserError(
            f"model.target_scaling found no output layer with a bias in "
            f"{type(model).__name__}'s head to shift to the targets' mean; set "
            f"model.target_scaling: none to train the head as the model builds it."
        )
    return found[-1]


def scale_head(model: nn.Module, scale: TargetScale) -> str:
    """Replace the head's last Linear with a ScaledLinear (in place); returns its name."""
    name = output_layer(model)
    parent, _, child = name.rpartition(".")
    layer = model.get_submodule(name)
    assert isinstance(layer, nn.Linear)  # output_layer finds Linear layers only
    setattr(model.get_submodule(parent), child, ScaledLinear(layer, scale))
    return name


def target_scale_of(model: Any) -> TargetScale | None:
    """The scale build_model gave the model's head (None: none, or not a regression model)."""
    scale = getattr(model, TARGET_SCALE_ATTR, None)
    return scale if isinstance(scale, TargetScale) else None
