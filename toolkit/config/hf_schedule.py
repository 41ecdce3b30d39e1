"""transformers' scheduler keys, read as the `schedule` section.

People bring `lr_scheduler_type`, `lr_scheduler_kwargs`, `warmup_ratio` and `warmup_steps` from
the Hugging Face scripts. Each name whose formula the schedule section can state exactly is
translated into it (tests/test_hf_schedule.py checks every step against `get_scheduler`), so
`ftk schedule`, the summary and the plots describe the schedule that runs; one line on stderr
says what it became. A name ftk cannot reproduce step for step is refused with the closest
section keys. As in transformers, a scheduler name without a warm-up key warms up for 0 steps.
"""

from __future__ import annotations

from typing import Any

from toolkit.config.schema import TRAINING_DEFAULTS, WARMUP_KEYS
from toolkit.core.errors import UserError, did_you_mean

HF_SCHEDULE_KEYS = ("lr_scheduler_type", "lr_scheduler_kwargs", "warmup_ratio", "warmup_steps")

# name -> (schedule.decay, the lr_scheduler_kwargs it reads)
SCHEDULERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "linear": ("linear", ()),
    "cosine": ("cosine", ("num_cycles",)),
    "cosine_with_restarts": ("cosine_restarts", ("num_cycles",)),
    "polynomial": ("polynomial", ("lr_end", "power")),
    "constant": ("constant", ()),
    "constant_with_warmup": ("constant", ()),
    "inverse_sqrt": ("inverse_sqrt", ("timescale",)),
    "cosine_with_min_lr": ("cosine", ("num_cycles", "min_lr", "min_lr_rate")),
    "warmup_stable_decay": (
        "wsd",
        ("num_decay_steps", "warmup_type", "decay_type", "min_lr_ratio", "num_cycles"),
    ),
}
REFUSED = {
    "reduce_lr_on_plateau": "it follows the validation metric, not the step; ftk's schedules "
    "are functions of the step (write `schedule.decay`) and early stopping ends a stalled run",
    "cosine_warmup_with_min_lr": "its warm-up and decay are shifted by one step; write "
    "`lr_scheduler_type: cosine_with_min_lr` (or `schedule.decay: cosine` with "
    "`schedule.min_lr_ratio`)",
    "greedy": "it adapts the LR to the loss; write `schedule.decay`",
}
WSD_SHAPES = {"linear": "linear", "cosine": "cosine", "1-sqrt": "sqrt"}


def pop_hf_schedule_keys(raw: dict[str, Any]) -> dict[str, Any]:
    """Remove transformers' scheduler keys from a recipe mapping and return them."""
    return {key: raw.pop(key) for key in HF_SCHEDULE_KEYS if key in raw}


def apply_hf_schedule(
    raw: dict[str, Any], from_file: dict[str, Any], from_command_line: dict[str, Any]
) -> str | None:
    """Write the section keys the transformers keys stand for into raw['schedule']; return the
    line that says so (None when no such key was given).

    From the recipe file, a section key set both ways is an error; from the command line (or a
    keyword override), the transformers keys replace the recipe's schedule, as any
    command-line source replaces the recipe's."""
    given = {**from_file, **from_command_line}
    if not given:
        return None
    settings = schedule_settings(given, learning_rate(raw))
    section = raw.setdefault("schedule", {})
    if not isinstance(section, dict):
        raise UserError(f"Config key 'schedule' must be a mapping of keys, not {section!r}.")
    if from_command_line:
        for key in WARMUP_KEYS:
            section.pop(key, None)  # one warm-up: the one just named
    else:
        named = set(settings) | (set(WARMUP_KEYS) if set(settings) & set(WARMUP_KEYS) else set())
        clash = sorted(named & {k for k, v in section.items() if v is not None})
        if clash:
            raise UserError(
                f"The schedule is given two ways: {', '.join(sorted(from_file))} and "
                f"{', '.join('schedule.' + k for k in clash)}. Keep the `schedule` section "
                f"(ftk's own keys) or transformers' keys, not both."
            )
    section.update(settings)
    given_text = ", ".join(f"{k} {v}" for k, v in given.items())
    return f"{given_text} -> " + ", ".join(f"schedule.{k} {v}" for k, v in settings.items())


def learning_rate(raw: dict[str, Any]) -> float:
    try:
        return float(raw.get("learning_rate", TRAINING_DEFAULTS["learning_rate"]))
    except (TypeError, ValueError):
        return TRAINING_DEFAULTS["learning_rate"]  # the config check names the bad value


def schedule_settings(given: dict[str, Any], peak_lr: float) -> dict[str, Any]:
    """The schedule-section keys for transformers' keys in `given`."""
    settings = warmup_settings(given)
    name = given.get("lr_scheduler_type")
    if name is None:
        if given.get("lr_scheduler_kwargs"):
            raise UserError("lr_scheduler_kwargs needs lr_scheduler_type beside it.")
        return settings
    name = str(name)
    if name in REFUSED:
        raise UserError(f"lr_scheduler_type '{name}' is not supported: {REFUSED[name]}.")
    if name not in SCHEDULERS:
        names = [*SCHEDULERS, *REFUSED]
        raise UserError(
            f"lr_scheduler_type '{name}' is not a transformers scheduler name; the ones ftk "
            f"reads: {', '.join(SCHEDULERS)}.{did_you_mean(name, names)}"
        )
    decay, readable = SCHEDULERS[name]
    kwargs = scheduler_kwargs(given.get("lr_scheduler_kwargs"), name, readable)
    if "warmup_steps" not in settings and "warmup_fraction" not in settings:
        settings["warmup_steps"] = 0  # transformers' default: no warm-up
    if name == "constant" and settings.get("warmup_steps") != 0:
        raise UserError(
            "lr_scheduler_type 'constant' has no warm-up in transformers (it ignores "
            "warmup_ratio and warmup_steps); write lr_scheduler_type constant_with_warmup."
        )
    shape = {"warmup_shape": "linear", "warmup_start_ratio": 0.0}
    return {"decay": decay, **settings, **shape, **decay_settings(name, kwargs, peak_lr, settings)}


def warmup_settings(given: dict[str, Any]) -> dict[str, Any]:
    """warmup_ratio -> warmup_fraction; warmup_steps >= 1 -> steps, a float below 1 -> fraction
    (transformers 5 reads it so)."""
    if "warmup_ratio" in given and "warmup_steps" in given:
        raise UserError("warmup_ratio and warmup_steps both give the warm-up; keep one.")
    if "warmup_ratio" in given:
        return {"warmup_fraction": number(given["warmup_ratio"], "warmup_ratio")}
    if "warmup_steps" in given:
        steps = number(given["warmup_steps"], "warmup_steps")
        if 0 < steps < 1:
            return {"warmup_fraction": steps}
        if steps != int(steps):
            raise UserError(
                f"warmup_steps is {steps}: a step count (a whole number), or a fraction of "
                f"training below 1."
            )
        return {"warmup_steps": int(steps)}
    return {}


def number(value: Any, key: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UserError(f"Config key '{key}' must be a number, not {value!r}.") from None


def scheduler_kwargs(kwargs: Any, name: str, readable: tuple[str, ...]) -> dict[str, Any]:
    if kwargs is None:
        return {}
    if not isinstance(kwargs, dict):
        raise UserError(f"lr_scheduler_kwargs must be a mapping, not {kwargs!r}.")
    unknown = sorted(set(kwargs) - set(readable))
    if unknown:
        takes = ", ".join(readable) if readable else "none"
        raise UserError(
            f"lr_scheduler_kwargs {', '.join(unknown)} is not read for lr_scheduler_type "
            f"'{name}' (it takes: {takes})."
        )
    return kwargs


def decay_settings(
    name: str, kwargs: dict[str, Any], peak_lr: float, warmup: dict[str, Any]
) -> dict[str, Any]:
    """The decay keys of scheduler `name` with its kwargs (transformers' defaults otherwise)."""
    if name in ("cosine", "cosine_with_min_lr", "warmup_stable_decay"):
        half_cosine_only(kwargs, name)
    if name == "cosine_with_restarts":
        cycles = kwargs.get("num_cycles", 1)
        if cycles != int(cycles) or cycles < 1:
            raise UserError(
                f"lr_scheduler_kwargs num_cycles is {cycles}: ftk's cosine_restarts runs a "
                f"whole number of cycles (at least 1)."
            )
        return {"cycles": int(cycles), "restart_decay": 1.0, "min_lr_ratio": 0.0}
    if name == "polynomial":
        lr_end = number(kwargs.get("lr_end", 1e-7), "lr_scheduler_kwargs.lr_end")
        if lr_end >= peak_lr:
            raise UserError(f"lr_scheduler_kwargs lr_end ({lr_end}) must be below {peak_lr}.")
        power = number(kwargs.get("power", 1.0), "lr_scheduler_kwargs.power")
        return {"power": power, "min_lr_ratio": lr_end / peak_lr}
    if name == "inverse_sqrt":
        # transformers: timescale = warm-up steps, or 10,000 when there is no warm-up
        timescale = kwargs.get("timescale")
        no_warmup = warmup.get("warmup_steps") == 0 or warmup.get("warmup_fraction") == 0
        if timescale is None and no_warmup:
            timescale = 10_000
        return {"timescale": timescale}
    if name == "cosine_with_min_lr":
        return {"min_lr_ratio": min_lr_ratio(kwargs, peak_lr)}
    if name == "warmup_stable_decay":
        return wsd_settings(kwargs)
    return {"min_lr_ratio": 0.0}


def half_cosine_only(kwargs: dict[str, Any], name: str) -> None:
    if kwargs.get("num_cycles", 0.5) != 0.5:
        raise UserError(
            f"lr_scheduler_kwargs num_cycles {kwargs['num_cycles']} for '{name}': ftk's "
            f"cosine falls once from the peak to the floor (num_cycles 0.5); for restarts "
            f"write lr_scheduler_type cosine_with_restarts."
        )


def min_lr_ratio(kwargs: dict[str, Any], peak_lr: float) -> float:
    if ("min_lr" in kwargs) == ("min_lr_rate" in kwargs):
        raise UserError(
            "lr_scheduler_type 'cosine_with_min_lr' needs exactly one of min_lr and "
            "min_lr_rate in lr_scheduler_kwargs."
        )
    if "min_lr_rate" in kwargs:
        return number(kwargs["min_lr_rate"], "lr_scheduler_kwargs.min_lr_rate")
    return number(kwargs["min_lr"], "lr_scheduler_kwargs.min_lr") / peak_lr


def wsd_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    if "num_decay_steps" not in kwargs:
        raise UserError(
            "lr_scheduler_type 'warmup_stable_decay' needs lr_scheduler_kwargs num_decay_steps "
            "(or write schedule.decay wsd with schedule.decay_fraction)."
        )
    warmup_type = kwargs.get("warmup_type", "linear")
    if warmup_type not in ("linear", "cosine"):
        raise UserError(
            f"lr_scheduler_kwargs warmup_type '{warmup_type}' is not one ftk runs: linear or "
            f"cosine (schedule.warmup_shape)."
        )
    decay_type = kwargs.get("decay_type", "cosine")
    if decay_type not in WSD_SHAPES:
        raise UserError(f"lr_scheduler_kwargs decay_type '{decay_type}': linear, cosine or 1-sqrt.")
    floor = number(kwargs.get("min_lr_ratio", 0.0), "lr_scheduler_kwargs.min_lr_ratio")
    return {
        "decay_steps": int(number(kwargs["num_decay_steps"], "num_decay_steps")),
        "decay_shape": WSD_SHAPES[decay_type],
        "warmup_shape": warmup_type,
        "min_lr_ratio": floor,
        "warmup_start_ratio": floor,  # transformers' wsd warms up from the floor
    }
