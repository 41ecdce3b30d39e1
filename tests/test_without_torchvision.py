"""torchvision is the optional `image` extra: a text run must work where it is not installed
(`make demo` installs ftk without it), and an image run must say what to install. So are
optuna (`search`) and nlpaug with nltk (`augment`): the core install, without any extra, trains
a text model (tests/test_bad_input_matrix.py has the messages of the features that need one).

The child process hides the packages the way an absent package looks: None in sys.modules makes
`import torchvision` fail and `importlib.util.find_spec` (what transformers asks) return None."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import make_image_folder, write_image_config, write_text_config

EXTRAS = ("torchvision", "optuna", "nlpaug", "nltk")  # image, search, augment

HIDE_AND_RUN = (
    "import runpy, sys\n"
    "hidden = sys.argv[1].split(',')\n"
    "for name in hidden:\n"
    "    sys.modules[name] = None\n"
    "sys.argv = ['ftk', *sys.argv[2:]]\n"
    "try:\n"
    "    runpy.run_module('toolkit', run_name='__main__')\n"
    "finally:\n"
    "    for name in hidden:\n"
    "        loaded = [m for m, v in sys.modules.items() if m.startswith(name + '.') and v]\n"
    "        print(f'{name} modules loaded:', loaded, file=sys.stderr)\n"
)


def ftk_without(hidden: tuple[str, ...], *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", HIDE_AND_RUN, ",".join(hidden), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def ftk_without_torchvision(*args) -> subprocess.CompletedProcess:
    return ftk_without(("torchvision",), *args)


@pytest.mark.e2e
def test_text_training_runs_without_any_extra(tiny_bert, text_data, tmp_path):
    run_dir = tmp_path / "run"
    config = write_text_config(
        tmp_path / "tiny.yaml", tiny_bert, text_data, run_dir, num_train_epochs="2"
    )
    result = ftk_without(EXTRAS, "train", "--config", config)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in EXTRAS:
        assert f"{name} modules loaded: []" in result.stderr
    assert "requires torchvision" not in result.stderr  # transformers' fallback warning
    assert (run_dir / "model.safetensors").is_file()
    assert (run_dir / "metrics.json").is_file()


@pytest.mark.e2e
def test_image_training_without_torchvision_says_what_to_install(tmp_path):
    make_image_folder(tmp_path / "imgs", 4, seed=0)
    run_dir = tmp_path / "run"
    config = write_image_config(
        tmp_path / "images.yaml",
        "{from_config: {model_type: vit, image_size: 16, patch_size: 4, hidden_size: 32, "
        "num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64}}",
        f"{{train_dir: '{tmp_path / 'imgs'}'}}",
        run_dir,
    )
    result = ftk_without_torchvision("train", "--config", config)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "Task 'image-classification' needs torchvision" in result.stderr
    assert 'pip install "ftk-finetune[image]"' in result.stderr
    assert not run_dir.exists()


def test_a_torchvision_built_for_another_torch_is_named_with_the_fix(monkeypatch):
    """PyPI's torchvision beside a CPU-only torch fails on import with a RuntimeError; the
    image task says so instead of a traceback."""
    import builtins

    import pytest

    from toolkit.core.errors import UserError
    from toolkit.tasks import get_task

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "torchvision":
            raise RuntimeError("operator torchvision::nms does not exist")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(UserError) as caught:
        get_task("image-regression")
    message = str(caught.value)
    assert "Task 'image-regression' needs torchvision, and the installed one fails" in message
    assert "operator torchvision::nms does not exist" in message
    assert "a CPU-only torch needs a CPU-only torchvision" in message
