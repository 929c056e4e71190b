"""What a user's pip gets: the core dependencies (no torch), the extras, and a source distribution that carries
the docs, configs and sample video the README refers to, with project URLs (issue 18.2 and 18.6)."""

from __future__ import annotations

import tarfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    import os

    from setuptools import build_meta

    out = tmp_path_factory.mktemp("sdist")
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        name = build_meta.build_sdist(str(out))
    finally:
        os.chdir(cwd)
    return out / name


def _metadata(sdist: Path):
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO"))
        return Parser().parsestr(tar.extractfile(member).read().decode())


def test_sdist_carries_docs_configs_and_assets(sdist):
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    for path in ("docs/usage.md", "docs/tracking.md", "configs/nano_ft.yaml", "assets/bag.mp4",
                 "assets/bag_init_box.txt", "requirements/lock.txt", "requirements/cpu.txt", "CHANGELOG.md",
                 "src/dastsiam/weights/onnx/nano/model.yaml"):
        assert path in names, f"{path} missing from {sdist.name}"
    assert not any("__pycache__" in n for n in names)


def test_metadata_has_urls_and_no_core_torch(sdist):
    meta = _metadata(sdist)
    urls = meta.get_all("Project-URL") or []
    assert urls and all(", https://" in u for u in urls), urls
    requires = meta.get_all("Requires-Dist") or []
    core = [r for r in requires if "extra ==" not in r]
    assert not any(r.startswith("torch") for r in core), core  # a CPU install must not pull CUDA torch
    assert {r.split(">")[0].split("=")[0].strip() for r in core} >= {"numpy", "onnxruntime", "safetensors", "pyyaml",
                                                                     "tqdm"}
    torch_in = {r.split(";")[1].split("==")[1].strip().strip('"') for r in requires
                if r.startswith(("torch", "dastsiam[torch]")) and ";" in r}
    assert {"torch", "train", "export"} <= torch_in, torch_in  # [train] and [export] imply [torch]
