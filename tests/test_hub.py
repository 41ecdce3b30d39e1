"""`ftk push` and `push_to_hub: true`: the real huggingface_hub client against a Hub-compatible
server on 127.0.0.1 (tests/hub_server.py), including the git-LFS upload path."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import make_texts, with_shipped_code, write_csv, write_text_config
from hub_server import HubServer

TOKEN = "hf_testtoken_4f9c2b7e1d"  # what the server accepts for user "me"


def hub_env(tmp_path: Path, endpoint: str, token: str | None = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HUB_DISABLE_XET="1",
        HF_HOME=str(tmp_path / "hf-home"),
        HF_DATASETS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    if token is not None:
        env["HF_TOKEN"] = token
    return env


def ftk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "toolkit", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_bert) -> Path:
    """A finished run directory as run.train leaves it (model, tokenizer, config, card, ...)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from toolkit.config.load import load_config
    from toolkit.outputs.model_card import write_model_card
    from toolkit.outputs.run_dir import write_run_files

    folder = tmp_path_factory.mktemp("push")
    run = folder / "tiny-run"
    data = {"train": folder / "train.csv", "test": folder / "test.csv"}
    config = load_config(write_text_config(folder / "tiny.yaml", tiny_bert, data, run))
    config.model.name_or_path = "google-bert/bert-base-uncased"  # as a Hub-based run would say
    labels = ["business", "sport", "tech"]
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_bert,
        num_labels=3,
        id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)},
    )
    model.save_pretrained(run)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(run)
    metrics = {
        "eval_loss": 0.5,
        "eval_accuracy": 0.8,
        "eval_f1_macro": 0.75,
        "test_loss": 0.6,
        "test_accuracy": 0.7,
        "test_f1_macro": 0.65,
    }
    (run / "history.jsonl").write_text(json.dumps({"kind": "step", "step": 1, "lr": [0.1]}) + "\n")
    write_run_files(run, config, metrics)
    history = [
        {"kind": "train", "step": 2, "loss": 1.2},
        {"kind": "eval", "step": 2, "epoch": 1.0, "eval_loss": 0.7, "eval_accuracy": 0.6},
        {"kind": "train", "step": 4, "loss": 0.9},
        {"kind": "eval", "step": 4, "epoch": 2.0, "eval_loss": 0.5, "eval_accuracy": 0.8},
        {"kind": "eval", "step": 4, "epoch": 2.0, "eval_loss": 0.5, "eval_accuracy": 0.8},
    ]
    write_model_card(
        run / "README.md",
        config,
        "text-classification",
        metrics,
        labels,
        model_name=run.name,
        history=history,
    )
    (run / "checkpoint-3").mkdir()
    (run / "checkpoint-3" / "optimizer.pt").write_bytes(b"x" * 2000)
    return run


def uploaded_files(run: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(run)): p.read_bytes()
        for p in run.rglob("*")
        if p.is_file() and "checkpoint-" not in str(p.relative_to(run))
    }


def assert_uploaded_as_the_run(files: dict[str, bytes], run: Path) -> None:
    """Every run file but checkpoints, byte for byte, except that the two files that quote the
    run's inputs (the card and run_config.yaml) name local paths by their last part."""
    local = uploaded_files(run)
    quoting = ("README.md", "run_config.yaml")
    assert set(files) == set(local), "every run file, no checkpoint"
    assert all(files[name] == local[name] for name in local if name not in quoting)
    for name in quoting:
        uploaded, here = files[name].decode(), local[name].decode()
        assert str(run.parent) in here and str(run.parent) not in uploaded, name


def assert_token_nowhere(token: str, *texts: str, folders: tuple[Path, ...] = ()) -> None:
    for text in texts:
        assert token not in text
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert token.encode() not in path.read_bytes(), path


@pytest.mark.e2e
def test_push_uploads_the_run_byte_for_byte(run_dir, tmp_path):
    with HubServer({TOKEN: "me"}, lfs_threshold=4096) as hub:
        done = ftk(
            "push",
            str(run_dir),
            "--repo-id",
            "me/tiny-run",
            "--private",
            env=hub_env(tmp_path, hub.url),
        )
        assert done.returncode == 0, done.stderr[-3000:]
        repo = hub.repos["me/tiny-run"]
        calls = [(method, path.split("?")[0]) for method, path, _ in hub.requests]

    assert repo.private and repo.commits == 1
    assert_uploaded_as_the_run(repo.files, run_dir)
    assert "name local paths by their last part" in done.stdout
    assert {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "README.md",
        "run_config.yaml",
        "metrics.json",
        "history.jsonl",
        "learning_rate.png",
    } <= set(repo.files)
    # The large weights went through git-LFS (batch, PUT, verify); small files inline.
    assert ("POST", "/me/tiny-run.git/info/lfs/objects/batch") in calls
    assert sum(method == "PUT" and path.startswith("/lfs/") for method, path in calls) >= 1
    assert ("POST", "/lfs/verify") in calls
    assert ("POST", "/api/validate-yaml") in calls and not hub.yaml_checked[-1]["errors"]
    # Sent only as the Authorization header; never shown, never stored.
    sent = [h.get("authorization") for m, p, h in hub.requests if p.startswith("/api/")]
    assert sent and all(value == f"Bearer {TOKEN}" for value in sent)
    assert_token_nowhere(TOKEN, done.stdout, done.stderr, folders=(run_dir, tmp_path))
    assert all(TOKEN.encode() not in content for content in repo.files.values())
    assert "Pushed" in done.stdout and "me/tiny-run" in done.stdout
    # the uploaded card's usage snippet names the repo; the local card keeps the placeholder
    assert 'model="me/tiny-run"' in repo.files["README.md"].decode()
    assert 'model="PATH_OR_REPO_ID"' in (run_dir / "README.md").read_text()


def test_card_metadata_parses_as_hub_metadata(run_dir):
    from huggingface_hub import ModelCard

    card = ModelCard((run_dir / "README.md").read_text())
    data = card.data
    assert data.base_model == "google-bert/bert-base-uncased"
    # a Hub base model whose card is not in the cache: "unknown", never a guess
    assert data.license == "unknown" and data.library_name == "transformers"
    text = card.text
    assert "| 1.00 | 2 | 1.2000 | 0.7000 | 0.6000 | - |" in text  # per evaluation, once each
    assert text.count("| 2.00 | 4 |") == 1
    assert "- transformers " in text and "- torch " in text  # framework versions
    from toolkit import __version__

    assert f"- ftk-finetune {__version__}\n" in text  # the running code's, by its distribution
    assert data.pipeline_tag == "text-classification" and "ftk" in data.tags
    assert data.metrics == ["accuracy", "f1"]
    results = {(r.metric_type, r.metric_name): r for r in data.eval_results}
    assert results[("accuracy", "accuracy")].metric_value == 0.7
    assert results[("f1", "f1_macro")].metric_args == {"average": "macro"}
    assert results[("f1", "f1_macro")].dataset_split == "test"


def card_for(tmp_path: Path, data: dict) -> Path:
    """A model card written for a config whose data section is `data` (test metrics only)."""
    from toolkit.config.load import config_from_raw
    from toolkit.outputs.model_card import write_model_card

    raw = {"model": {"name_or_path": "google-bert/bert-base-uncased"}, "data": data}
    config = config_from_raw(raw, [], None)
    config.metrics = ["accuracy", "f1_macro"]
    metrics = {"test_loss": 0.6, "test_accuracy": 0.7, "test_f1_macro": 0.65}
    path = tmp_path / "README.md"
    write_model_card(path, config, "text-classification", metrics, ["a", "b"], "tiny")
    return path


def checked_hub_metadata(card: Path) -> tuple[dict, list]:
    """The card's YAML as huggingface_hub reads it, passed through its offline checks: the
    metadata parses, ModelCardData accepts it with metadata errors raised (not ignored), and the
    model-index converts to EvalResults and back to exactly what was written."""
    from huggingface_hub import ModelCardData, metadata_load
    from huggingface_hub.repocard_data import (
        eval_results_to_model_index,
        model_index_to_eval_results,
    )

    meta = metadata_load(card)
    assert meta is not None, "a YAML block"
    data = ModelCardData(ignore_metadata_errors=False, **meta)
    name, results = model_index_to_eval_results(meta["model-index"])
    assert name == data.model_name == "tiny" and len(results) == 2
    assert eval_results_to_model_index(name, results) == meta["model-index"]
    return meta, results


def test_card_names_the_hub_data_sets_config_and_revision(tmp_path):
    data = {"hub_id": "fancyzhx/ag_news", "hub_config": "default", "hub_revision": "v1.2"}
    meta, results = checked_hub_metadata(card_for(tmp_path, data))
    assert meta["datasets"] == ["fancyzhx/ag_news"]  # the Hub's spec: dataset ids only
    dataset = meta["model-index"][0]["results"][0]["dataset"]
    assert dataset == {
        "type": "fancyzhx/ag_news",
        "name": "fancyzhx/ag_news",
        "config": "default",
        "split": "test",
        "revision": "v1.2",
    }
    for result in results:
        assert (result.dataset_config, result.dataset_revision) == ("default", "v1.2")
    text = (tmp_path / "README.md").read_text()
    assert "Hub data set `fancyzhx/ag_news` (config `default`) at revision `v1.2`" in text


def test_card_of_local_files_names_no_config_or_revision(tmp_path):
    meta, results = checked_hub_metadata(card_for(tmp_path, {"train_file": "train.csv"}))
    assert "datasets" not in meta
    dataset = meta["model-index"][0]["results"][0]["dataset"]
    assert dataset == {"type": "custom", "name": "custom", "split": "test"}
    assert all(r.dataset_config is None and r.dataset_revision is None for r in results)


def test_hub_revision_reaches_load_dataset(monkeypatch):
    import datasets

    from toolkit.config.schema import DataConfig
    from toolkit.data import sources

    calls = []

    def fake_load_dataset(*args, **kwargs):
        calls.append((args, kwargs))
        return datasets.DatasetDict(train=datasets.Dataset.from_dict({"text": ["a"]}))

    monkeypatch.setattr(sources.datasets, "load_dataset", fake_load_dataset)
    cfg = DataConfig(hub_id="me/set", hub_config="en", hub_revision="abc123")
    assert list(sources.load_hub(cfg)) == ["train"]
    assert calls == [(("me/set", "en"), {"revision": "abc123"})]


def test_card_licence_comes_from_the_base_models_card_or_the_config():
    from toolkit.config.schema import ModelConfig
    from toolkit.outputs.model_card import card_licence

    assert card_licence(ModelConfig(name_or_path="builtin:all-MiniLM-L6-v2")) == "apache-2.0"
    assert (
        card_licence(ModelConfig(name_or_path="builtin:all-MiniLM-L6-v2", license="mit")) == "mit"
    )
    assert card_licence(ModelConfig(from_config={"model_type": "vit"})) == "unknown"


@pytest.mark.e2e
def test_rejected_token(run_dir, tmp_path):
    wrong = "hf_wrong_token_0000"
    with HubServer({TOKEN: "me"}) as hub:
        done = ftk("push", str(run_dir), "--repo-id", "me/x", env=hub_env(tmp_path, hub.url, wrong))
        assert not hub.repos
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "rejected the token (HTTP 401" in done.stderr and "HF_TOKEN" in done.stderr
    assert_token_nowhere(wrong, done.stdout, done.stderr)


@pytest.mark.e2e
def test_repo_owned_by_someone_else(run_dir, tmp_path):
    from hub_server import Repo

    with HubServer({TOKEN: "me"}) as hub:
        hub.repos["other/model"] = Repo(owner="other", files={"README.md": b"theirs"})
        done = ftk("push", str(run_dir), "--repo-id", "other/model", env=hub_env(tmp_path, hub.url))
        assert hub.repos["other/model"].files == {"README.md": b"theirs"}
        denied = ftk(
            "push", str(run_dir), "--repo-id", "someorg/new", env=hub_env(tmp_path, hub.url)
        )
    for result in (done, denied):
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "(HTTP 403)" in result.stderr and "belongs to someone else" in result.stderr
        assert_token_nowhere(TOKEN, result.stdout, result.stderr)


@pytest.mark.e2e
def test_server_down(run_dir, tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = ftk(
        "push", str(run_dir), "--repo-id", "me/x", env=hub_env(tmp_path, f"http://127.0.0.1:{port}")
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "Could not reach the Hub" in done.stderr and "unreachable" in done.stderr


@pytest.mark.e2e
def test_no_token(run_dir, tmp_path):
    done = ftk(
        "push",
        str(run_dir),
        "--repo-id",
        "me/x",
        env=hub_env(tmp_path, "http://127.0.0.1:9", token=None),
    )
    assert done.returncode == 2 and "No Hugging Face token found" in done.stderr


@pytest.mark.e2e
def test_push_of_a_directory_that_is_not_a_run(tmp_path):
    done = ftk(
        "push", str(tmp_path), "--repo-id", "me/x", env=hub_env(tmp_path, "http://127.0.0.1:9")
    )
    assert done.returncode == 2 and "not a finished ftk run directory" in done.stderr


@pytest.mark.e2e
def test_config_checks(tmp_path, tiny_bert, text_data, capsys):
    from toolkit.cli import main

    config = write_text_config(tmp_path / "c.yaml", tiny_bert, text_data, tmp_path / "run")
    assert main(["train", "--config", str(config), "--push_to_hub", "--print-config"]) == 2
    assert "needs hub_model_id" in capsys.readouterr().err
    assert main(["train", "--config", str(config), "--hub_token", "hf_x", "--print-config"]) == 2
    assert "never sit in a config file" in capsys.readouterr().err


@pytest.mark.e2e
def test_train_with_push_to_hub_pushes_once_at_the_end(tiny_bert, tmp_path):
    data = {
        "train": write_csv(tmp_path / "train.csv", make_texts(10, seed=1)),
        "test": write_csv(tmp_path / "test.csv", make_texts(4, seed=2)),
    }
    run = tmp_path / "run"
    config = write_text_config(
        tmp_path / "c.yaml",
        tiny_bert,
        data,
        run,
        num_train_epochs=2,
        push_to_hub="true",
        hub_model_id="me/trained",
    )
    with HubServer({TOKEN: "me"}, lfs_threshold=4096) as hub:
        done = ftk("train", "--config", str(config), env=hub_env(tmp_path, hub.url))
        assert done.returncode == 0, done.stderr[-3000:]
        repo = hub.repos["me/trained"]
    assert repo.commits == 1, "one push of the finished run; the Trainer pushed nothing itself"
    assert_uploaded_as_the_run(repo.files, run)
    assert not any(name.startswith("checkpoint-") for name in repo.files)
    saved = yaml.safe_load((run / "run_config.yaml").read_text())
    assert saved["push_to_hub"] is True and saved["hub_model_id"] == "me/trained"
    assert_token_nowhere(TOKEN, done.stdout, done.stderr, folders=(run,))


@pytest.mark.e2e
def test_train_with_push_to_hub_checks_the_token_before_training(tiny_bert, text_data, tmp_path):
    config = write_text_config(
        tmp_path / "c.yaml",
        tiny_bert,
        text_data,
        tmp_path / "run",
        push_to_hub="true",
        hub_model_id="me/trained",
    )
    with HubServer({TOKEN: "me"}) as hub:
        done = ftk("train", "--config", str(config), env=hub_env(tmp_path, hub.url, "hf_bad"))
    assert done.returncode == 2 and "rejected the token" in done.stderr
    assert not (tmp_path / "run").exists(), "no training started"


# ----------------------------------------------------------------------------- download:
# `ftk predict` / `ftk evaluate` on a Hub repo id, through snapshot_download from the server


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def local_predictions(run: Path, text: str, out: Path, *extra: str) -> list[dict]:
    """`ftk predict RUN --text TEXT` on a local folder, in-process (the same CLI code)."""
    from toolkit.cli import main

    assert main(["predict", str(run), "--text", text, "--top-k", "3", "--output", str(out)]) == 0
    return read_jsonl(out)


def assert_same_predictions(got: list[dict], expected: list[dict]) -> None:
    assert len(got) == len(expected) == 1
    for key, value in expected[0].items():
        if key.startswith("pred_score"):
            assert got[0][key] == pytest.approx(value, abs=1e-5), key
        else:
            assert got[0][key] == value, key


def fetched(hub: HubServer, method: str) -> set[str]:
    """The files a client asked the server for with `method` at /{repo}/resolve/{rev}/."""
    return {
        p.split("/resolve/")[1].split("/", 1)[1]
        for m, p, _ in hub.requests
        if m == method and "/resolve/" in p
    }


@pytest.mark.e2e
def test_predict_and_evaluate_a_pushed_run_by_repo_id_then_offline(run_dir, tmp_path):
    """`ftk push`, then the repo id works like the run folder: same labels and scores, same
    accuracy; the download takes what inference reads (weights through the LFS path) and no
    plots or history; with the server gone, HF_HUB_OFFLINE=1 reads the cached copy."""
    text = "goal match team win"
    table = write_csv(tmp_path / "labelled.csv", make_texts(4, seed=3))
    env = hub_env(tmp_path, "")
    with HubServer({TOKEN: "me"}, lfs_threshold=4096) as hub:
        env["HF_ENDPOINT"] = hub.url
        pushed = ftk("push", str(run_dir), "--repo-id", "me/tiny-run", env=env)
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        hub.requests.clear()
        out = tmp_path / "hub.jsonl"
        done = ftk(
            "predict", "me/tiny-run", "--text", text, "--top-k", "3", "--output", str(out), env=env
        )
        assert done.returncode == 0, done.stderr[-3000:]
        got = fetched(hub, "GET")
        lfs = hub.repos["me/tiny-run"].files["model.safetensors"]
    assert_same_predictions(read_jsonl(out), local_predictions(run_dir, text, tmp_path / "l.jsonl"))
    assert {"model.safetensors", "config.json", "tokenizer.json", "run_config.yaml"} <= got
    assert not {"loss.png", "learning_rate.png", "history.jsonl"} & got, "only what inference reads"
    assert len(lfs) >= 4096, "the weights went up, and came down, as an LFS file"

    env["HF_HUB_OFFLINE"] = "1"  # the server is gone: the cache answers
    offline = ftk(
        "evaluate",
        "me/tiny-run",
        "--data",
        str(table),
        "--output",
        str(tmp_path / "h.json"),
        env=env,
    )
    assert offline.returncode == 0, offline.stderr[-3000:]
    from toolkit.cli import main

    assert (
        main(["evaluate", str(run_dir), "--data", str(table), "--output", str(tmp_path / "l.json")])
        == 0
    )
    hub_metrics = json.loads((tmp_path / "h.json").read_text())
    local_metrics = json.loads((tmp_path / "l.json").read_text())
    assert hub_metrics["examples"] == local_metrics["examples"] == 12
    assert hub_metrics["accuracy"] == local_metrics["accuracy"]
    assert hub_metrics["loss"] == pytest.approx(local_metrics["loss"], abs=1e-5)


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def plain_classifier(tiny_bert: Path, folder: Path, seed: int, labels: list[str]) -> Path:
    """save_pretrained of a tiny BertForSequenceClassification: no run_config.yaml."""
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(seed)
    model = BertForSequenceClassification.from_pretrained(
        tiny_bert,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)},
    )
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(folder)
    return folder


@pytest.mark.e2e
def test_a_plain_checkpoint_repo_at_each_revision(tiny_bert, tmp_path):
    """Two commits of a plain transformers classifier: the first commit's id gives the first
    model, no --revision gives the second, each scored as its local folder is."""
    from hub_server import Repo

    first = plain_classifier(tiny_bert, tmp_path / "first", 0, ["negative", "positive"])
    second = plain_classifier(tiny_bert, tmp_path / "second", 1, ["no", "yes"])
    text = "bank shares profit"
    env = hub_env(tmp_path, "")
    with HubServer({TOKEN: "me"}, lfs_threshold=4096) as hub:
        env["HF_ENDPOINT"] = hub.url
        repo = hub.repos["me/plain"] = Repo(owner="me")
        old = repo.commit_files(folder_files(first))
        repo.commit_files(folder_files(second))
        outs = {name: tmp_path / f"{name}.jsonl" for name in ("old", "new")}
        runs = [
            ("--revision", old, "--output", str(outs["old"])),
            ("--output", str(outs["new"])),
        ]
        done = [
            ftk("predict", "me/plain", "--text", text, "--top-k", "3", *a, env=env) for a in runs
        ]
    for result in done:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Hub repo 'me/plain'" in result.stderr and "not an ftk run" in result.stderr
    assert f"at revision '{old}'" in done[0].stderr
    old_rows, new_rows = read_jsonl(outs["old"]), read_jsonl(outs["new"])
    assert old_rows[0]["pred_label"] in {"negative", "positive"}
    assert new_rows[0]["pred_label"] in {"no", "yes"}
    assert_same_predictions(old_rows, local_predictions(first, text, tmp_path / "a.jsonl"))
    assert_same_predictions(new_rows, local_predictions(second, text, tmp_path / "b.jsonl"))


@pytest.mark.e2e
def test_hub_repo_errors_name_the_repo_and_the_fix(tiny_bert, tmp_path):
    """Each way a download fails: exit 2, one message naming the repo and what to do, no
    traceback. The cases run side by side (each a fresh `python -m toolkit`)."""
    from concurrent.futures import ThreadPoolExecutor

    from hub_server import Repo

    plain = folder_files(plain_classifier(tiny_bert, tmp_path / "plain", 0, ["neg", "pos"]))
    wrong = "hf_wrong_token_0000"
    table = write_csv(tmp_path / "l.csv", [("bank", "neg")])
    with HubServer({TOKEN: "me"}) as hub:
        hub.repos["me/plain"] = Repo(owner="me", files=plain)
        hub.repos["me/secret"] = Repo(owner="me", private=True, files=plain)
        hub.repos["other/gated"] = Repo(owner="other", gated=True, files=plain)
        hub.repos["me/pickled"] = Repo(
            owner="me", files={"config.json": plain["config.json"], "pytorch_model.bin": b"x" * 64}
        )
        hub.repos["me/encoder"] = Repo(owner="me", files=folder_files(tiny_bert))
        hub.repos["me/dataset"] = Repo(owner="me", files={"data.csv": b"text,label\na,b\n"})
        online = hub_env(tmp_path, hub.url, token=None)
        cases = {  # name: (arguments, environment changes, what the message must say)
            "missing": (
                ["me/missing"],
                {},
                ["neither a folder here nor a model repo", "hf auth login"],
            ),
            "private, no token": (["me/secret"], {}, ["private or gated", "HF_TOKEN"]),
            "missing, with token": (["me/missing"], {"HF_TOKEN": TOKEN}, ["has no access to it"]),
            "gated, no token": (["other/gated"], {}, ["'other/gated' is gated", "HF_TOKEN"]),
            "gated, not granted": (
                ["other/gated"],
                {"HF_TOKEN": TOKEN},
                ["is gated", f"{hub.url}/other/gated"],
            ),
            "token rejected": (["me/plain"], {"HF_TOKEN": wrong}, ["rejected the token (HTTP 401"]),
            "unknown revision": (["me/plain", "--revision", "v9"], {}, ["has no revision 'v9'"]),
            "pickled weights only": (["me/pickled"], {}, ["has no safetensors weights"]),
            "no classification head": (
                ["me/encoder"],
                {},
                ["Hub repo 'me/encoder' is neither", "BertModel"],
            ),
            "no model at all": (["me/dataset"], {}, ["'me/dataset' holds no config.json"]),
            "offline, not cached": (
                ["me/plain"],
                {"HF_HUB_OFFLINE": "1"},
                ["HF_HUB_OFFLINE is set"],
            ),
        }

        def attempt(args: list[str], changes: dict[str, str]) -> subprocess.CompletedProcess:
            command = ["predict", args[0], "--text", "a", *args[1:]]
            if args[0] == "me/plain" and "--revision" in args:  # evaluate shares the loading
                command = ["evaluate", args[0], "--data", str(table), *args[1:]]
            return ftk(*command, env={**online, **changes})

        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = {name: pool.submit(attempt, a, c) for name, (a, c, _) in cases.items()}
            results = {name: future.result() for name, future in futures.items()}
    for name, (_, _, says) in cases.items():
        done = results[name]
        assert done.returncode == 2, (name, done.stderr[-2000:])
        assert "Traceback" not in done.stderr, (name, done.stderr[-2000:])
        message = done.stderr[done.stderr.rindex("error: ") :]
        assert all(part in message for part in says), (name, message)
        assert wrong not in done.stderr + done.stdout and TOKEN not in done.stderr + done.stdout


def test_push_sends_the_model_repo_files_only_and_says_what_stays(run_dir, tmp_path):
    """A run folder seeded with a token in .env, a dotfile, a link to a file outside the run,
    notes and a trial folder: only the model repo's files go up, each left-out file is named
    with why, and --include adds what the user names."""
    import shutil

    seeded = tmp_path / "seeded"
    shutil.copytree(run_dir, seeded)
    (seeded / ".env").write_text(f"HF_TOKEN={TOKEN}\n")
    (seeded / ".cache").mkdir()
    (seeded / ".cache" / "x.json").write_text("{}")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the run")
    (seeded / "linked.json").symlink_to(secret)
    (seeded / "notes").mkdir()
    (seeded / "notes" / "todo.md").write_text("private notes")
    (seeded / "trials").mkdir()
    (seeded / "trials" / "trial-000.json").write_text("{}")
    (seeded / "checkpoint-2").mkdir()
    (seeded / "checkpoint-2" / "model.safetensors").write_bytes(b"0")
    dry = ftk("push", str(seeded), "--repo-id", "me/x", "--dry-run", env=hub_env(tmp_path, ""))
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "Would upload" in dry.stdout and ".env (a dotfile: never sent)" in dry.stdout
    assert "linked.json (a link: never sent)" in dry.stdout
    assert "notes/todo.md (not a model repo file" in dry.stdout
    with HubServer({TOKEN: "me"}) as hub:
        done = ftk(
            "push",
            str(seeded),
            "--repo-id",
            "me/seeded",
            "--include",
            "notes/*.md",
            env=hub_env(tmp_path, hub.url),
        )
        assert done.returncode == 0, done.stderr[-3000:]
        files = hub.repos["me/seeded"].files
    assert set(files) == set(uploaded_files(run_dir)) | {"notes/todo.md"}
    assert all(TOKEN.encode() not in content for content in files.values())
    assert all(b"outside the run" not in content for content in files.values())
    assert "Uploading" in done.stdout and "trials/trial-000.json" in done.stdout


@pytest.mark.e2e
def test_a_hub_repo_that_ships_code_is_refused_by_name(tiny_bert, text_data, tmp_path):
    """Training from, or predicting with, a Hub repo whose config.json needs modelling code
    shipped with it: the message names trust_remote_code (the key, for training), not the Hub
    id or the network, and the code never runs."""
    from hub_server import Repo

    shipped = with_shipped_code(tiny_bert, tmp_path / "shipped")
    recipe = write_text_config(tmp_path / "r.yaml", "me/shipped", text_data, tmp_path / "run")
    with HubServer({TOKEN: "me"}) as hub:
        hub.repos["me/shipped"] = Repo(owner="me", files=folder_files(shipped))
        env = hub_env(tmp_path, hub.url)
        trained = ftk("train", "--config", str(recipe), env=env)
        predicted = ftk("predict", "me/shipped", "--text", "a", env=env)
    assert trained.returncode == 2, trained.stderr[-3000:]
    assert "set model.trust_remote_code: true" in trained.stderr
    assert "Check the Hub id" not in trained.stderr
    assert predicted.returncode == 2, predicted.stderr[-3000:]
    assert "trust_remote_code stays off" in predicted.stderr
    assert not (shipped / "CODE_RAN").exists()
