"""What `pip install` gets: the wheel holds the licence, the recipes and the metric modules,
and its metadata declares the licence (PEP 639)."""

from __future__ import annotations

import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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
    (path,) = out.glob("ftk-*.whl")
    return zipfile.ZipFile(path)


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
    install = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    done = subprocess.run([*install, wheel.filename], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    empty = tmp_path / "empty"
    empty.mkdir()

    def run(*args: str) -> str:
        result = subprocess.run(
            [str(venv / "bin" / "ftk"), *args], cwd=empty, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    where = subprocess.run(
        [str(python), "-c", "import toolkit; print(toolkit.__file__)"],
        cwd=empty,
        capture_output=True,
        text=True,
    )
    assert where.stdout.strip().startswith(str(venv)), "the wheel's copy, not the checkout"
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
