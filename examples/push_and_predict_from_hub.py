"""The Hub round trip: train, push the run (model, card, run_config.yaml) to a model repo, then
label texts with the repo id alone, as anyone who downloads it would.

    hf auth login   # or HF_TOKEN=...
    python examples/push_and_predict_from_hub.py --repo-id YOU/ftk-example [--tiny]

Any Hub-compatible server works through huggingface_hub's own setting: HF_ENDPOINT=URL (the
test runs this example against the loopback Hub of tests/hub_server.py).
"""

import argparse
from pathlib import Path

from tiny import recipe

import toolkit

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--repo-id", required=True, help="the model repo to create or update")
parser.add_argument("--tiny", action="store_true", help="a tiny model and data (tests)")
parser.add_argument("--workdir", type=Path, default=Path("runs/examples"))
args = parser.parse_args()

result = toolkit.train(recipe(args), output_dir=str(args.workdir / "to-push"), overwrite=True)
url = toolkit.push(result.run_dir, args.repo_id, private=True)
print(f"pushed to {url}")

texts = ["the team won the cup after a late goal", "the bank said profit rose on a new deal"]
from_hub = toolkit.predict(args.repo_id, texts)  # downloaded (and cached) by huggingface_hub
from_disk = toolkit.predict(result.run_dir, texts)
for hub_row, disk_row in zip(from_hub, from_disk, strict=True):
    print(f"{hub_row['pred_label']:>10} {hub_row['pred_score']:.4f}  {hub_row['text']}")
    assert (hub_row["pred_label"], round(hub_row["pred_score"], 4)) == (
        disk_row["pred_label"],
        round(disk_row["pred_score"], 4),
    ), "the pushed model predicts what the local run does"
