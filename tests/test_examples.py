"""Every script in examples/ runs, in its --tiny mode, as a user would run it (a subprocess from
another folder), and does what its docstring says; a new example without a test here fails."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hub_server import HubServer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TOKEN = "hf_example_token_9d1e"


def run_example(name: str, tmp_path: Path, *args: str, env: dict | None = None) -> str:
    """`python examples/NAME.py --tiny --workdir TMP ARGS` from tmp_path; its stdout."""
    command = [sys.executable, str(EXAMPLES / name), "--tiny", "--workdir", str(tmp_path), *args]
    return run(command, tmp_path, env)


def run(command: list[str], cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=600, env=env or os.environ.copy()
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done.stdout


def metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def test_every_example_has_a_test():
    tested = set(re.findall(r'"(\w+\.py)"', Path(__file__).read_text()))
    scripts = {p.name for p in EXAMPLES.glob("*.py")} - {"tiny.py"}
    assert scripts and scripts <= tested, scripts - tested


@pytest.mark.e2e
def test_train_from_dict(tmp_path):
    out = run_example("train_from_dict.py", tmp_path)
    run_dir = tmp_path / "from-dict"
    accuracy = metrics(run_dir)["test_accuracy"]
    assert f"test accuracy: {accuracy:.4f}" in out and accuracy >= 0.8
    saved = yaml.safe_load((run_dir / "run_config.yaml").read_text())
    assert saved["early_stopping"]["patience"] == 1, "the section override reached the run"
    assert "verdict:" in out and "no test split" not in out


@pytest.mark.e2e
def test_train_then_predict(tmp_path):
    out = run_example("train_then_predict.py", tmp_path)
    lines = out.splitlines()
    predicted = [line.split()[0] for line in lines if "(then " in line]
    assert predicted == ["sport", "business"], out
    scored = re.search(r"accuracy on .*: ([\d.]+)\nat training's end: +([\d.]+)", out)
    assert scored and scored.group(1) == scored.group(2), out


@pytest.mark.e2e
def test_custom_callback_stops_the_run(tmp_path):
    out = run_example("custom_callback.py", tmp_path)
    seen = json.loads(re.search(r"each evaluation: (\[.*\])", out).group(1))
    stopped = float(re.search(r"stopped after ([\d.]+) of 10 epochs", out).group(1))
    assert stopped < 10 and max(seen) >= 0.9, "it stopped because the target was reached"
    assert all(a < 0.9 for a in seen[: int(stopped) - 1]), "and not before"


@pytest.mark.e2e
def test_pretrain_then_finetune(tmp_path):
    out = run_example("pretrain_then_finetune.py", tmp_path)
    pretrained, finetuned = tmp_path / "pretrained", tmp_path / "finetuned"
    assert "eval_perplexity" in metrics(pretrained) or "eval_loss" in metrics(pretrained)
    base = yaml.safe_load((finetuned / "run_config.yaml").read_text())["model"]["name_or_path"]
    assert Path(base) == pretrained and f"from the pre-trained encoder in {pretrained}" in out
    assert "test_accuracy" in metrics(finetuned)


@pytest.mark.e2e
def test_multi_process_under_accelerate_launch(tmp_path):
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home")}  # no user accelerate config
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "1"]
    launch += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    script = [str(EXAMPLES / "multi_process.py"), "--tiny", "--workdir", str(tmp_path)]
    out = run([*launch, *script], tmp_path, env)
    accuracy = metrics(tmp_path / "multi-process")["test_accuracy"]
    assert "processes: 1" in out and f"test accuracy: {accuracy:.4f}" in out


@pytest.mark.e2e
def test_push_and_predict_from_hub(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    with HubServer({TOKEN: "me"}) as hub:
        env.update(
            HF_ENDPOINT=hub.url,
            HF_TOKEN=TOKEN,
            HF_HUB_DISABLE_XET="1",
            HF_HOME=str(tmp_path / "hf-home"),
            HF_DATASETS_OFFLINE="1",
        )
        out = run_example("push_and_predict_from_hub.py", tmp_path, "--repo-id", "me/ex", env=env)
        pushed = hub.repos["me/ex"]
    assert pushed.private and {"model.safetensors", "README.md", "run_config.yaml"} <= set(
        pushed.files
    )
    assert f"pushed to {hub.url}/me/ex" in out
    labels = [line.split()[0] for line in out.splitlines()[-2:]]
    assert labels == ["sport", "business"], out
