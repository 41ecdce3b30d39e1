"""Train, then label new texts and score new labelled data with the finished run, in one script.

python examples/train_then_predict.py [--tiny]
"""

from tiny import parse_args, recipe

import toolkit

args = parse_args(__doc__)
result = toolkit.train(recipe(args), output_dir=str(args.workdir / "predict"), overwrite=True)

texts = ["the team won the cup after a late goal", "the bank said profit rose on a new deal"]
for row in toolkit.predict(result.run_dir, texts, top_k=2):  # one dict per text
    label, score, runner_up = row["pred_label"], row["pred_score"], row["pred_label_2"]
    print(f"{label:>10} {score:.3f} (then {runner_up})  {row['text']}")

# The run's own test file, scored again through `evaluate`: the same accuracy as at the end of
# training. A run on a packaged data set has no file, so it is scored on the texts above.
test_file = recipe(args)["data"].get("test_file")
if test_file:
    metrics = toolkit.evaluate(result.run_dir, test_file)
    print(f"accuracy on {test_file}: {metrics['accuracy']:.4f}")
    print(f"at training's end:       {result.metrics['test_accuracy']:.4f}")
