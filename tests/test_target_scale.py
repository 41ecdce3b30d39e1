"""model.target_scaling: a regression head whose last layer trains in standardised units and is
folded into a plain Linear whenever its weights are saved (toolkit/model/target_scale.py). A
tiny model with a hand-set mean and std; no training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

MEAN, STD = 50.0, 10.0


def tiny_regressor(folder, model_type: str = "bert"):
    """A seeded tiny one-output model (problem_type regression) and some input ids."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    torch.manual_seed(0)
    config = AutoConfig.for_model(
        model_type,
        vocab_size=50,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=40,
        num_labels=1,
        problem_type="regression",
    )
    model = AutoModelForSequenceClassification.from_config(config).eval()
    ids = torch.randint(5, 50, (4, 7))
    return model, ids


def outputs(model, ids) -> np.ndarray:
    with torch.no_grad():
        return model(input_ids=ids).logits[:, 0].float().numpy()


def scaled(model, how="standardise"):
    from toolkit.model.target_scale import TargetScale, scale_head

    return scale_head(model, TargetScale(how, MEAN, STD if how == "standardise" else 1.0))


@pytest.mark.parametrize(
    ("model_type", "layer"), [("bert", "classifier"), ("roberta", "classifier.out_proj")]
)
def test_the_scaled_head_predicts_mean_plus_std_times_the_layer(tmp_path, model_type, layer):
    """Same weights, same inputs: the scaled head's output is MEAN + STD x the plain head's,
    and the layer it scales is the head's last one (RoBERTa's head has two Linears)."""
    model, ids = tiny_regressor(tmp_path, model_type)
    plain = outputs(model, ids)
    assert scaled(model) == layer
    assert outputs(model, ids) == pytest.approx(MEAN + STD * plain, abs=1e-4)


def test_the_saved_model_predicts_user_units_without_ftk(tmp_path):
    """save_pretrained folds the scale in (W' = STD W, b' = STD b + MEAN): a plain
    from_pretrained model predicts what the scaled one predicts, in the target's units."""
    from transformers import AutoModelForSequenceClassification

    model, ids = tiny_regressor(tmp_path)
    scaled(model)
    layer = model.classifier
    expected = outputs(model, ids)
    model.save_pretrained(tmp_path / "saved")
    plain = AutoModelForSequenceClassification.from_pretrained(tmp_path / "saved").eval()
    assert type(plain.classifier) is torch.nn.Linear
    assert outputs(plain, ids) == pytest.approx(expected, abs=1e-4)
    assert plain.classifier.bias.item() == pytest.approx(STD * layer.bias.item() + MEAN)
    # the layer itself still holds the standardised weights the optimizer trains
    assert plain.classifier.weight.detach() == pytest.approx(STD * layer.weight.detach())


def test_folded_weights_load_back_standardised_and_the_given_dict_is_untouched(tmp_path):
    """A checkpoint (folded) read into a scaled model, as a resumed run and the best-epoch
    reload do: the standardised weights come back and predictions agree."""
    model, ids = tiny_regressor(tmp_path)
    scaled(model)
    weight, bias = model.classifier.weight.detach().clone(), model.classifier.bias.detach().clone()
    folded = model.state_dict()
    saved = {k: v.clone() for k, v in folded.items()}

    again, _ = tiny_regressor(tmp_path)
    torch.manual_seed(1)
    torch.nn.init.normal_(again.classifier.weight)  # some other head, overwritten by the load
    scaled(again)
    again.load_state_dict(folded, strict=True)
    assert torch.allclose(again.classifier.weight, weight, atol=1e-6)
    assert torch.allclose(again.classifier.bias, bias, atol=1e-5)
    assert all(torch.equal(folded[k], saved[k]) for k in saved)
    assert outputs(again, ids) == pytest.approx(outputs(model, ids), abs=1e-4)


def test_the_mean_arm_shifts_only(tmp_path):
    model, ids = tiny_regressor(tmp_path)
    plain = outputs(model, ids)
    scaled(model, "mean")
    assert outputs(model, ids) == pytest.approx(MEAN + plain, abs=1e-4)


def test_target_scale_comes_from_the_targets():
    from toolkit.model.target_scale import TargetScale

    targets = [40.0, 50.0, 60.0, 50.0]
    scale = TargetScale.of(targets, "standardise")
    assert (scale.mean, scale.std) == pytest.approx((50.0, float(np.std(targets))))
    assert TargetScale.of(targets, "mean") == TargetScale("mean", 50.0, 1.0)
    assert TargetScale.of(targets, "none") is None
    # constant targets: nothing to divide by, the mean still applies
    assert TargetScale.of([3.0, 3.0], "standardise") == TargetScale("standardise", 3.0, 1.0)


def test_lora_keeps_the_scaled_head_trained_in_full_and_saves_it_folded(tmp_path):
    """Under LoRA the head is a module trained in full (modules_to_save): the merged model at
    the run's top level and the adapter in adapter/ both predict the target's units."""
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    from toolkit.config.schema import PeftConfig
    from toolkit.model.lora import save_lora_run, wrap_with_lora

    model, ids = tiny_regressor(tmp_path)
    base = tmp_path / "base"
    model.save_pretrained(base)  # the checkpoint the adapter applies to (an unscaled head)
    scaled(model)
    wrapped = wrap_with_lora(model, PeftConfig(method="lora"))
    head = wrapped.base_model.model.classifier.modules_to_save["default"]
    with torch.no_grad():  # as if trained: LoRA's B away from zero, the head moved
        for name, param in wrapped.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.1)
        head.bias.add_(0.5)
    expected = outputs(wrapped.eval(), ids)  # eval: no dropout on LoRA's inputs
    assert float(np.mean(expected)) == pytest.approx(MEAN, abs=3 * STD)
    save_lora_run(wrapped, None, tmp_path / "run")

    merged = AutoModelForSequenceClassification.from_pretrained(tmp_path / "run").eval()
    assert outputs(merged, ids) == pytest.approx(expected, abs=1e-4)
    plain = AutoModelForSequenceClassification.from_pretrained(base)
    adapter = PeftModel.from_pretrained(plain, tmp_path / "run" / "adapter").eval()
    assert outputs(adapter, ids) == pytest.approx(expected, abs=1e-4)


def test_target_scaling_is_refused_for_a_task_without_numbers(tmp_path, capsys):
    from helpers import expect_user_error

    err = expect_user_error(["train", "--model.target_scaling", "mean", "--print-config"], capsys)
    assert "model.target_scaling" in err and "text-classification" in err


# ----------------------------------------------------------------------------- end to end


def targets_near_fifty(n: int, seed: int) -> list[tuple[str, str]]:
    """make_regression_texts' texts with their targets (0 to 2.5 in steps of 0.5, mean about
    1.25) moved to 50 + 12 (t - 1.25): mean about 50, std about 10, as ratings on a 0-100
    scale would be."""
    from helpers import make_regression_texts

    return [
        (text, f"{50 + 12 * (float(t) - 1.25):.2f}") for text, t in make_regression_texts(n, seed)
    ]


@pytest.fixture(scope="module")
def run_near_fifty(tiny_bert, tmp_path_factory):
    """The tiny recipe's 8 epochs (112 optimizer steps) of a tiny BERT: too few for a head
    that starts at 0 to reach a target of 50 and its spread of 10 (measured: the old head
    predicted 10.0 for every test text, std 0.00, and the diagnosis said 'not learned';
    standardised, mean 49.0 and std 9.1 against the targets' 50 and 10.6, pearson 0.97)."""
    from helpers import ftk, write_csv, write_text_config

    folder = tmp_path_factory.mktemp("near-fifty")
    data = {
        "train": write_csv(folder / "train.csv", targets_near_fifty(120, seed=1)),
        "test": write_csv(folder / "test.csv", targets_near_fifty(40, seed=2)),
    }
    run_dir = folder / "run"
    config = write_text_config(folder / "r.yaml", tiny_bert, data, run_dir, task="text-regression")
    ftk(
        "train",
        "--config",
        config,
        "--baseline.enabled",
        "false",
        "--early_stopping.patience",
        "null",
    )
    return run_dir, data


def metrics_and_training_targets(run_dir):
    """metrics.json, and the run's training targets as ftk splits them (validation held out)."""
    import json

    from toolkit.config.load import load_config
    from toolkit.run.stages import load_labelled_data
    from toolkit.tasks import get_task

    config = load_config(run_dir / "run_config.yaml")
    train = load_labelled_data(config, get_task(config.task)).splits["train"]["label"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return metrics, np.asarray(train, dtype=np.float64)


@pytest.mark.e2e
def test_predictions_are_in_the_targets_units_and_spread(run_near_fifty):
    run_dir, _ = run_near_fifty
    metrics, train = metrics_and_training_targets(run_dir)
    saved = metrics["test_predictions"]
    predicted, true = np.asarray(saved["predicted"]), np.asarray(saved["true"])
    assert abs(predicted.mean() - true.mean()) < 0.3 * true.std()
    assert predicted.std() > 0.5 * true.std(), (predicted.std(), true.std())
    assert metrics["test_pearson"] > 0.7
    assert metrics["test_loss"] == pytest.approx(metrics["test_rmse"] ** 2, rel=1e-4)
    scaling = metrics["target_scaling"]  # from the training split only
    assert scaling["how"] == "standardise"
    assert (scaling["mean"], scaling["std"]) == pytest.approx((train.mean(), train.std()))


@pytest.mark.e2e
def test_pipeline_reads_the_saved_model_in_the_targets_units(run_near_fifty):
    """The saved weights carry the scale: transformers alone gives what `ftk predict` gives."""
    import csv

    from transformers import pipeline

    from toolkit.cli import main

    run_dir, data = run_near_fifty
    out = run_dir.parent / "predictions.csv"
    assert main(["predict", str(run_dir), "--input", str(data["test"]), "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    predicted = [float(r["pred_value"]) for r in rows]
    regressor = pipeline("text-classification", model=str(run_dir), function_to_apply="none")
    scores = [o["score"] for o in regressor([r["text"] for r in rows])]
    assert scores == pytest.approx(predicted, abs=1e-4)
    assert np.mean(scores) == pytest.approx(50, abs=5)


@pytest.mark.e2e
def test_the_loss_and_the_diagnosis_prior_share_the_targets_units(run_near_fifty):
    """The loss is the mean squared error in the target's units and the diagnosis's prior the
    targets' variance: a head that starts at the mean starts near that prior (not at 50^2),
    and a run that learned is not called 'not learned'."""
    from helpers import history_rows

    from toolkit.tasks.targets import NUMBERS

    run_dir, _ = run_near_fifty
    metrics, train = metrics_and_training_targets(run_dir)
    prior = NUMBERS.prior_loss(list(train), [])
    assert prior == pytest.approx(train.var())
    first = history_rows(run_dir, "train")[0]["loss"]
    assert 0.5 * prior < first < 3 * prior, (first, prior)
    assert "not_learned" not in [finding["rule"] for finding in metrics["diagnosis"]]
