"""The benchmark scripts run in a tiny mode, so they cannot rot (no timing is asserted)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import load_benchmark

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--tiny", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.e2e
def test_overhead_benchmark_tiny_mode_reports_a_ratio(tmp_path):
    results = tmp_path / "overhead.jsonl"
    out = run_benchmark(
        "overhead.py",
        "--steps",
        "6",
        "--skip",
        "1",
        "--rounds",
        "1",
        "--bf16",
        "--json",
        str(results),
    )
    match = re.search(r"ftk / bare throughput: median ([0-9.]+)", out)
    assert match and float(match.group(1)) > 0
    assert re.search(r"^\s+1\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+$", out, re.M)
    (row,) = [json.loads(line) for line in results.read_text().splitlines()]
    assert row["recipe"] == "tiny" and row["bf16"] is True and row["device"] == "cpu"
    assert row["ratio"] == pytest.approx(row["ftk"]["samples_per_s"] / row["bare"]["samples_per_s"])


@pytest.mark.e2e
def test_overhead_benchmark_interleaves_both_arms_in_one_process(tmp_path):
    results = tmp_path / "overhead.jsonl"
    out = run_benchmark(
        "overhead.py",
        "--steps",
        "8",
        "--skip",
        "1",
        "--rounds",
        "1",
        "--interleave",
        "2",
        "--json",
        str(results),
    )
    assert re.search(r"^\s+1\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+\s+-\s+-$", out, re.M)  # no startup
    (row,) = [json.loads(line) for line in results.read_text().splitlines()]
    assert row["interleave"] == 2 and row["ftk"]["startup_s"] is None
    assert row["ftk"]["samples_per_s"] > 0 and row["bare"]["samples_per_s"] > 0


def test_overhead_rate_is_robust_to_one_stalled_step():
    """Steady-state rate = batch / trimmed mean step time: one 6 s stall does not move it."""
    overhead = load_benchmark("overhead")
    timing = {"start": -5.0, "step_times": [0.0, 1.0, 2.0, 3.0, 9.0, 10.0, 11.0]}
    summary = overhead.summarise(timing, batch_size=16, skip=1)
    assert summary["samples_per_s"] == 16.0 and summary["startup_s"] == 5.0


@pytest.mark.e2e
def test_padding_benchmark_tiny_mode_reports_both_arms_and_a_ratio():
    out = run_benchmark("padding.py")
    assert re.search(r"fixed padding spends \d+% of its tokens on text", out)
    assert re.search(r"^\s+1 dynamic \+ grouped\s+[0-9.]+\s+[01]\.\d{4}$", out, re.M)
    assert re.search(r"^\s+1 fixed max_length\s+[0-9.]+\s+[01]\.\d{4}$", out, re.M)
    assert re.search(r"epoch time fixed / dynamic \+ grouped: mean [0-9.]+", out)


def test_padding_benchmark_keeps_the_headline_and_first_sentences():
    import random

    padding = load_benchmark("padding")
    text = "Headline here\n\nFirst one. Second one! Third one? Fourth."
    short = [padding.first_sentences(text, random.Random(s), most=3) for s in range(20)]
    assert set(short) == {
        "Headline here",
        "Headline here First one.",
        "Headline here First one. Second one!",
    }


@pytest.mark.e2e
def test_time_to_accuracy_tiny_mode_trains_and_reports_the_first_evaluation():
    import json

    out = run_benchmark("time_to_accuracy.py")
    [result] = json.loads(out.strip().splitlines()[-1])
    assert result["reached"] and result["step"] == 7 and result["epoch"] == 1.0  # 108 / 16
    assert 0 < result["seconds"] < result["train_s"] and not result["estimated"]
    assert result["peak_rss_mb"] > 100


def test_time_to_accuracy_reads_stamped_times_and_estimates_unstamped_ones():
    tta = load_benchmark("time_to_accuracy")
    stamped = [
        {"kind": "groups", "names": [None], "time": 100.0},
        {"kind": "step", "step": 10, "time": 120.0},
        {"kind": "eval", "step": 10, "epoch": 1.0, "eval_accuracy": 0.90, "time": 125.0},
        {"kind": "step", "step": 20, "time": 150.0},
        {"kind": "eval", "step": 20, "epoch": 2.0, "eval_accuracy": 0.96, "time": 155.0},
    ]
    found = tta.time_to_target(stamped, {}, "accuracy", 0.95)
    assert (found["step"], found["seconds"], found["estimated"]) == (20, 55.0, False)
    # Steps stamped, start and evaluations not: start = one step before step 1, end = step time.
    steps_only = [{"kind": "step", "step": s, "time": 100.0 + 2 * s} for s in range(1, 21)] + [
        {"kind": "eval", "step": 20, "eval_accuracy": 0.97}
    ]
    assert tta.time_to_target(steps_only, {}, "accuracy", 0.95)["seconds"] == 40.0
    bare = [{"kind": "step", "step": s} for s in range(1, 41)] + [
        {"kind": "eval", "step": 10, "eval_accuracy": 0.97}
    ]
    found = tta.time_to_target(bare, {"train_runtime": 80.0}, "accuracy", 0.95)
    assert (found["seconds"], found["estimated"]) == (20.0, True)
    missed = tta.time_to_target(bare, {}, "accuracy", 0.99)
    assert not missed["reached"] and missed["best"] == 0.97


@pytest.mark.e2e
def test_flops_benchmark_tiny_mode_prints_counted_flops_and_mfu():
    out = run_benchmark("flops.py")
    assert re.search(r"FLOPs per sample \(counted\): [0-9.]+ GFLOP", out)
    assert float(re.search(r"-> ([0-9.]+) samples/s", out).group(1)) > 0
    assert re.search(r"matmul peak \(256\^2\): [0-9.]+ GFLOP/s; MFU [0-9.]+%", out)


def test_counted_step_flops_match_the_transformer_formula():
    """Forward: 2 FLOPs per weight per token in the linear layers plus 2 x 2 L^2 d for the
    attention scores and their weighted sum; backward twice the forward."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    flops = load_benchmark("flops")
    d, ff, layers, L, labels = 32, 64, 2, 32, 3
    model = BertForSequenceClassification(
        BertConfig(
            vocab_size=100,
            hidden_size=d,
            num_hidden_layers=layers,
            num_attention_heads=2,
            intermediate_size=ff,
            num_labels=labels,
            attn_implementation="sdpa",
        )
    )
    batch, tokens = flops.synthetic_batch(model, 4, L, torch.device("cpu"))
    per_layer = 2 * (4 * d * d + 2 * d * ff) * L + 2 * 2 * L * L * d
    head = 2 * (d * d + d * labels)  # pooler and classifier see the [CLS] token only
    assert tokens == L
    assert flops.step_flops(model, batch) == 4 * 3 * (layers * per_layer + head)


@pytest.mark.e2e
def test_gpu_throughput_script_runs_on_cpu_in_tiny_mode(tmp_path):
    import json

    results = tmp_path / "gpu.jsonl"
    out = run_benchmark(
        "gpu_throughput.py", "--device", "cpu", "--modes", "fp32,bf16", "--json", str(results)
    )
    assert "float32 matmul peak" in out and "bfloat16 matmul peak" in out
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["model"], r["mode"]) for r in rows] == [
        ("bert-base", "fp32"),
        ("bert-base", "bf16"),
        ("vit-b16", "fp32"),
        ("vit-b16", "bf16"),
    ]
    # FLOPs do not depend on the precision; ViT: (32/16)^2 patches + [CLS] = 5 tokens.
    assert rows[0]["flops_per_step"] == rows[1]["flops_per_step"] > 0
    assert rows[2]["tokens"] == 5 and all(r["samples_per_s"] > 0 and r["mfu"] > 0 for r in rows)


@pytest.mark.e2e
@pytest.mark.slow
def test_gpu_throughput_script_compiles_on_cpu_in_tiny_mode():
    out = run_benchmark(
        "gpu_throughput.py", "--device", "cpu", "--model", "vit-b16", "--modes", "bf16-compile"
    )
    assert re.search(r"^vit-b16\s+bf16-compile\s+4\s+[0-9.]+", out, re.M)


@pytest.mark.e2e
def test_gpu_script_is_valid_bash_and_runs_all_three_modes_then_packing():
    script = (ROOT / "benchmarks" / "gpu.sh").read_text()
    assert subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "gpu.sh")]).returncode == 0
    assert "--modes fp32,bf16,bf16-compile" in script and "--model bert-base" in script
    assert "benchmarks/packing.py --device cuda --check" in script


@pytest.mark.e2e
def test_time_to_accuracy_reads_a_run_directory_and_a_time_log(tmp_path):
    import json

    run = tmp_path / "run"
    run.mkdir()
    (run / "run_config.yaml").write_text("data: {builtin: fashion-mnist}\n")
    (run / "metrics.json").write_text(
        json.dumps({"train_runtime": 90.0, "eval_accuracy": 0.86, "test_accuracy": 0.85})
    )
    rows = [
        {"kind": "groups", "names": [None], "time": 10.0},
        {"kind": "eval", "step": 5, "epoch": 1.0, "eval_accuracy": 0.84, "time": 40.0},
        {"kind": "eval", "step": 10, "epoch": 2.0, "eval_accuracy": 0.86, "time": 70.0},
    ]
    (run / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    log = tmp_path / "time.log"
    log.write_text("\tMaximum resident set size (kbytes): 2097152\n")
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "time_to_accuracy.py"),
        str(run),
        "--time-log",
        str(log),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    [result] = json.loads(out.strip().splitlines()[-1])
    assert (result["target"], result["step"], result["seconds"]) == (0.85, 10, 60.0)
    assert result["peak_rss_mb"] == 2048.0
    lower = subprocess.run(
        [*command, "--target", "0.8"], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(lower.strip().splitlines()[-1])[0]["seconds"] == 30.0


@pytest.mark.e2e
def test_cpu_bf16_benchmark_tiny_mode_trains_both_precisions_and_rescores_in_fp32(tmp_path):
    out = tmp_path / "bf16.json"
    stdout = run_benchmark("cpu_bf16.py", "--json", str(out))
    assert "bf16/fp32" in stdout
    figures = json.loads(out.read_text())
    arms = {row["arm"]: row for row in figures["rows"]}
    assert arms["fp32"]["mixed_precision"] == "no" and arms["bf16"]["mixed_precision"] == "bf16"
    # the bf16 run's reported test scores are fp32 ones: `ftk evaluate` gets the same
    bf16 = arms["bf16"]
    assert bf16["fp32_reeval"]["accuracy"] == pytest.approx(bf16["test"]["accuracy"])
    assert figures["summary"]["steps_per_s"]["bf16/fp32"] > 0


@pytest.mark.e2e
def test_overfitting_sample_benchmark_capped_scores_are_the_prefix_of_the_full(tmp_path):
    results = tmp_path / "overfitting_sample.json"
    out = run_benchmark("overfitting_sample.py", "--json", str(results))
    result = json.loads(results.read_text())
    bench = load_benchmark("overfitting_sample")
    assert (result["full"], result["capped"]) == (100, 30)
    number = r" +-?[0-9.]+"
    table = re.findall(
        rf"^ *[0-9.]+({number}){{2}} \|({number}){{4}} \|({number}){{4}}$", out, re.M
    )
    assert len(table) == len(result["evaluations"]) == 3  # one printed row per evaluation
    for evaluation, row in zip(result["evaluations"], result["per_example"], strict=True):
        losses, correct = row["losses"], row["correct"]
        assert len(losses) == 100
        # the capped sample is the first 30 of the full one, scored once
        assert evaluation["capped"]["loss"] == pytest.approx(sum(losses[:30]) / 30)
        assert evaluation["capped"]["accuracy"] == pytest.approx(sum(correct[:30]) / 30)
        assert evaluation["full"]["loss"] == pytest.approx(sum(losses) / 100)
        # per-example cross-entropy agrees with the Trainer's own loss on the sample
        assert evaluation["full"]["loss"] == pytest.approx(evaluation["trainer_sample_loss"], 1e-5)
        gap = evaluation["validation"]["loss"] - evaluation["capped"]["loss"]
        assert evaluation["capped"]["loss_gap"] == pytest.approx(gap)
        # a prefix as long as the sample, or longer, is the full sample
        for n in (100, 1000):
            assert bench.prefix_scores(losses, correct, n) == pytest.approx(
                {k: evaluation["full"][k] for k in ("loss", "accuracy")}
            )
    onset = re.search(
        r"Overfitting onset \(patience 2\): full sample (.+), capped sample (.+)", out
    )
    assert onset and (onset.group(2).endswith(": same")) == (
        result["onset"]["full"] == result["onset"]["capped"]
    )
    assert re.search(r"Scoring / training per example: [0-9.]+ \(the cost model", out)
    assert result["cost"]["seconds"]["full_sample"] > 0


def test_overfitting_sample_benchmark_per_example_scores_and_onset():
    bench = load_benchmark("overfitting_sample")
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    losses, correct = bench.per_example_scores(logits, np.array([0, 0, 0]))
    assert losses == pytest.approx([math.log(1 + math.exp(-2)), math.log(1 + math.e), 0.04858735])
    assert correct.tolist() == [1.0, 0.0, 1.0]
    rows = [  # validation loss rises from the 2nd evaluation; the first 2 examples' loss falls
        {
            "epoch": float(i + 1),
            "validation": {"loss": v, "accuracy": 0.8},
            "losses": [t, t, 1.0, 1.0 + i],  # the last example gets worse: the full mean rises
            "correct": [1.0, 1.0, 0.0, 0.0],
            "trainer_sample_loss": 0.0,
            "seconds": {},
        }
        for i, (v, t) in enumerate([(0.5, 0.4), (0.6, 0.3), (0.7, 0.2)])
    ]
    summary = bench.summarise(rows, capped=2, patience=2)
    assert summary["onset"] == {"full": None, "capped": 2}
    assert summary["evaluations"][0]["capped"]["accuracy_gap_points"] == pytest.approx(20.0)


@pytest.mark.e2e
def test_demo_recipe_benchmark_tiny_mode_trains_every_arm(tmp_path):
    out = tmp_path / "demo.json"
    stdout = run_benchmark("demo_recipe.py", "--json", str(out))
    figures = json.loads(out.read_text())
    assert [row["arm"] for row in figures["rows"]] == ["tokens64", "tokens96-2ep"]
    for row in figures["rows"]:
        assert row["train_s"] > 0 and 0 <= row["test_accuracy"] <= 1 and row["best_epoch"]
    assert "tokens96-2ep: median train" in stdout


@pytest.mark.e2e
def test_streaming_benchmark_tiny_mode_reaches_its_last_step_and_reports_its_figures():
    """benchmarks/streaming.py --tiny: 2,000 rows written, streamed by a tiny BERT for 6 steps;
    its JSON line has every figure BENCHMARKS.md section 15 reports."""
    out = run_benchmark("streaming.py", "--rows", "2000", "--steps", "6", "--eval-steps", "3")
    line = json.loads(out.strip().splitlines()[-1])
    assert line["rows"] == 2000 and line["reached_last_step"] and line["last_step"] == 6
    assert 0 < line["first_step_s"] <= line["total_wall_s"]
    assert line["peak_rss_mb"] > 0 and line["write_s"] >= 0 and line["file_mb"] >= 0
    assert line["baseline"] is None  # --tiny switches the baselines off


def test_gpu_launch_script_names_each_shipped_config_it_runs(tmp_path):
    """The dry run builds the tiny recipe and prints the three commands; each one's config
    exists (the real run needs a GPU: benchmarks/gpu_launch.sh)."""
    import os
    import shlex

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_launch.sh"), "--dry-run", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    commands = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    assert set(commands) == {"plain-bf16", "fsdp-1", "zero2-1"}
    for form in ("fsdp-1", "zero2-1"):
        words = shlex.split(commands[form])
        assert Path(words[words.index("--config_file") + 1]).is_file()
    assert (tmp_path / "tiny.yaml").is_file()


def json_lines_of(script: str, *args: str) -> list[dict]:
    """The JSON lines a benchmark prints, run as written (no --tiny)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.slow
def test_the_scale_and_overlap_benchmarks_run_on_small_data():
    """benchmarks/scale.py (a CSV and an image folder) and benchmarks/overlap_memory.py at a few
    hundred rows: every run reports its figures, and the overlap check's two methods agree on
    what they found."""
    lines = json_lines_of("scale.py", "--rows", "400", "--images", "200")
    for data in ("csv", "images"):
        runs = {line.get("run") for line in lines if "cpu_s" in line and line["data"] == data}
        assert runs == {"plain", "ftk", "rerun"}, data
    ratios = [line for line in lines if "rerun_over_ftk_cpu" in line]
    assert [(line["data"], line["rows"]) for line in ratios] == [("csv", 400), ("images", 200)]
    assert all(line["rerun_over_ftk_cpu"] > 0 for line in ratios)
    sets, hashes = json_lines_of("overlap_memory.py", "--rows", "2000")
    assert sets["said"][0].startswith("40 of the 200 test")
    assert [s[:10] for s in sets["said"]] == [s[:10] for s in hashes["said"]]


def test_packed_batch_scores_the_padded_batchs_loss_and_attends_within_each_text():
    """benchmarks/packing.py's correctness check on CPU: a flattened batch (one row, position_ids
    restarting per text) gives the padded batch's masked-LM loss under sdpa and eager, since
    transformers masks attention to each text from the positions; the same row without them
    (one long text, attending across texts) does not, so the check can fail."""
    import torch

    packing = load_benchmark("packing")
    features = packing.mlm_features(packing.text_lengths(6, 4, 24, seed=1), 100, seed=1)
    assert len({len(f["input_ids"]) for f in features}) > 1, "lengths differ: padding happens"
    for attn in ("sdpa", "eager"):
        padded, packed = packing.same_loss(attn, True, features)
        assert packed == pytest.approx(padded, rel=1e-5), attn
    torch.manual_seed(0)
    model = packing.build_mlm("sdpa", tiny=True).eval()
    row = packing.packed_batch(features, torch.device("cpu"), "sdpa")
    with torch.no_grad():
        across = model(input_ids=row["input_ids"], labels=row["labels"]).loss.item()
    assert across != pytest.approx(padded, rel=1e-3)


@pytest.mark.e2e
def test_packing_benchmark_checks_the_loss_then_times_both_arms_on_cpu(tmp_path):
    results = tmp_path / "packing.jsonl"
    out = run_benchmark("packing.py", "--device", "cpu", "--check", "--json", str(results))
    padded, packed = re.search(
        r"check sdpa: padded loss ([0-9.]+), packed loss ([0-9.]+)", out
    ).groups()
    assert padded == packed
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["arm"], r["attn"]) for r in rows] == [("padded", "sdpa"), ("packed", "sdpa")]
    assert rows[0]["tokens"] == rows[1]["tokens"] == rows[1]["row_tokens"] < rows[0]["row_tokens"]
    assert all(r["tokens_per_s"] > 0 for r in rows)


def test_gpu_all_dry_run_names_each_part_and_its_table_reads_their_results(tmp_path):
    """benchmarks/gpu_all.py needs a GPU to run; here its dry run names every part (each
    script exists) and its table reads each part's result files as the parts write them."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_all.py"), "--dry-run", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    commands = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert set(commands) == {"throughput", "launch", "stock"}
    for command in commands.values():
        assert (ROOT / next(w for w in command.split() if w.startswith("benchmarks/"))).is_file()

    table = load_benchmark("gpu_all")
    row = {"model": "bert-base", "mode": "bf16", "batch": 32, "mfu": 0.095, "samples_per_s": 900}
    (tmp_path / "gpu.jsonl").write_text(json.dumps(row) + "\n")
    packed = {"arm": "packed", "attn": "sdpa", "tokens_per_s": 51234.5}
    (tmp_path / "packing.jsonl").write_text(json.dumps(packed) + "\n")
    (tmp_path / "launch").mkdir()
    (tmp_path / "launch" / "table.md").write_text(
        "| form | exit | seconds | final eval_loss | model.safetensors |\n|---|---|---|---|---|\n"
        "| fsdp-1 | 0 | 41 | 0.6931 | yes |\n"
    )
    arm = {"wall_s": 80.0, "train_s": 60.0, "test_accuracy": 0.97}
    (tmp_path / "stock.json").write_text(json.dumps({"medians": {"stock": arm, "ftk": arm}}))
    assert table.throughput_rows(tmp_path) == [
        ("bert-base bf16 batch 32", "MFU 9.5%, 900 samples/s"),
        ("bert-base MLM packed sdpa", "51234 tokens/s"),
    ]
    assert table.launch_rows(tmp_path) == [
        ("fsdp-1", "exit 0, 41 s, eval_loss 0.6931, model saved yes")
    ]
    assert [form for form, _ in table.stock_rows(tmp_path)] == [
        "stock Trainer, pad to max_length, bf16",
        "ftk train, bf16",
    ]
    assert table.stock_rows(tmp_path)[0][1] == "80 s wall, 60 s training, test accuracy 0.9700"
