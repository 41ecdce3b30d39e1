"""`ftk pretrain`: continued pre-training (masked-lm / masked-image-modeling) into a run
directory laid out like a fine-tuning run. The run is run/pretraining.py's, which
`ftk train --pretrain` (commands/train.py) also makes, as its first stage.
"""

from __future__ import annotations

from toolkit.config.schema import RunConfig
from toolkit.run.pretraining import run_pretraining
from toolkit.run.stages import RunResult


def pretrain(config: RunConfig, overwrite: bool = False) -> RunResult:
    """Pre-train as `config` says (task masked-lm or masked-image-modeling); returns the run
    directory, its metrics and the Trainer."""
    return run_pretraining(config, overwrite)
