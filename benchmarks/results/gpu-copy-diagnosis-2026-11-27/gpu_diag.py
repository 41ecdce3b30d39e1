"""GPU diagnosis: why ftk/bare was 0.90 in fp32 and 1.27 in bf16 (one-off; BENCHMARKS.md sec. 1).

Bare-loop variants (blocking / non-blocking copy, fp32 / bf16) in one process, then `ftk train`
in-process with accelerator_config.non_blocking false / true, a torch.profiler table of six
steps for some. Ran on an H100 as `STEPS=80 bash run.sh` (the .txt files beside this are its
output); `DEV=cpu SIZE=tiny STEPS=40 bash run.sh` checks it on a CPU in a minute (there the bare
process segfaults at exit after printing its results, in torch 2.14's profiler teardown).
"""
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / "benchmarks"))
import os

import overhead
import torch

STEPS, SKIP, BATCH = int(os.environ.get("STEPS", 100)), 20, 32
DEV = os.environ.get("DEV", "cuda")
SIZE = os.environ.get("SIZE", "bert-base")
PROF_AT = STEPS * 6 // 10

def sync():
    if DEV == "cuda":
        torch.cuda.synchronize()


def rate(times):
    return overhead.summarise({"start": 0, "step_times": times}, BATCH, SKIP)["samples_per_s"]


def profile_table(prof, title):
    print(f"--- {title}: top CUDA kernels")
    print(prof.key_averages().table(sort_by="cuda_time_total" if DEV == "cuda" else "cpu_time_total", row_limit=12, max_name_column_width=60))
    print(f"--- {title}: top CPU ops (self)")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=60))


def make_profiler():
    from torch.profiler import ProfilerActivity, profile
    return profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if DEV == "cuda" else []))


def bare_setup(recipe):
    from torch.utils.data import DataLoader
    from toolkit.commands.stages import build_model, plan_run, prepare_labelled
    from toolkit.config.load import load_config
    overrides = overhead.common_overrides(STEPS, BATCH, DEV, False)
    plan = plan_run(load_config(recipe, overrides))
    prepared = prepare_labelled(plan)
    train = prepared.splits["train"]
    model = build_model(plan, prepared.data.label_names).to(DEV).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    loader = DataLoader(train, batch_size=BATCH, shuffle=True, collate_fn=prepared.collator,
                        pin_memory=DEV == "cuda")
    return model, opt, loader


def bare(setup, bf16, non_blocking, fresh_autocast, do_profile):
    model, opt, loader = setup
    ac = torch.autocast(DEV, dtype=torch.bfloat16, enabled=bf16)
    times, prof = [], None
    for i, batch in enumerate(loader):
        if i == STEPS:
            break
        if do_profile and i == PROF_AT:
            prof = make_profiler(); prof.start()
        batch = {k: v.to(DEV, non_blocking=non_blocking) for k, v in batch.items()}
        ctx = torch.autocast(DEV, dtype=torch.bfloat16, enabled=bf16) if fresh_autocast else ac
        with ctx:
            loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); opt.zero_grad(set_to_none=True)
        times.append(time.time())
        if prof is not None and i == PROF_AT + 5:
            sync(); prof.stop(); profile_table(prof, "bare bf16" if bf16 else "bare fp32"); prof = None
    print(f"RESULT bare bf16={bf16} non_blocking={non_blocking} fresh_autocast={fresh_autocast}: "
          f"{rate(times[:PROF_AT]):.1f} samples/s", flush=True)


def ftk(recipe, bf16, non_blocking, do_profile):
    from transformers import TrainerCallback

    import toolkit.commands.train as train_command
    state = {}

    class Prof(TrainerCallback):
        def on_step_begin(self, args, s, control, **kw):
            if s.global_step == PROF_AT and do_profile:
                state["p"] = make_profiler(); state["p"].start()

        def on_step_end(self, args, s, control, **kw):
            if s.global_step == PROF_AT + 6 and "p" in state:
                sync(); state["p"].stop()
                profile_table(state["p"], f"ftk bf16={bf16} nb={non_blocking}")
    orig = train_command.build_run_trainer
    def build(*a, **k):
        t = orig(*a, **k); t.add_callback(Prof()); return t
    train_command.build_run_trainer = build
    out = Path(tempfile.mkdtemp()) / "run"
    from toolkit.cli import main
    sys.argv = ["ftk", "train", "--config", str(recipe), "--output_dir", str(out),
                "--baseline.enabled", "false", "--accelerator_config",
                "{non_blocking: %s}" % str(non_blocking).lower()] + \
        overhead.common_overrides(STEPS, BATCH, DEV, bf16)
    try:
        main()
    except SystemExit:
        pass
    rows = [json.loads(l) for l in (out / "history.jsonl").read_text().splitlines()]
    times = [r["time"] for r in rows if r["kind"] == "step"]
    print(f"RESULT ftk bf16={bf16} non_blocking={non_blocking}: {rate(times[:PROF_AT]):.1f} samples/s",
          flush=True)


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "make":
        print(overhead.SYNTHETIC[SIZE](Path(sys.argv[2]), STEPS * BATCH))
    elif what == "bare":
        setup = bare_setup(Path(sys.argv[2]))
        for bf16 in (False, True):
            for nb in (True, False):
                bare(setup, bf16, nb, False, do_profile=(nb and bf16 and sys.argv[3] == "1"))
    else:
        ftk(Path(sys.argv[2]), sys.argv[3] == "bf16", sys.argv[4] == "1", sys.argv[5] == "1")
