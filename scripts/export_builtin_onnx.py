"""Export the trained built-in models to the ONNX folders shipped in the package (dastsiam/weights/onnx/NAME/).

Run after changing a built-in model's weights, its config or its code (``tests/test_shipped_onnx.py`` fails
until you do)::

    python scripts/export_builtin_onnx.py            # every built-in model that has weights
    python scripts/export_builtin_onnx.py nano       # only these

Each folder's ``model.yaml`` records the weights file and its SHA-256 next to the model config, so the
package (``dastsiam.onnx_backend.shipped_onnx_dir``) and the test can tell a current export from a stale one.
Untrained built-ins are not shipped (the torch back end runs them; ``--backend onnx`` exports them to the cache).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from dastsiam.runtime import prepare_environment

prepare_environment()

from dastsiam.export import export_onnx  # noqa: E402  (after the OpenMP set-up)
from dastsiam.models.registry import BUILTIN_MODELS, WEIGHTS_DIR, load_model  # noqa: E402
from dastsiam.onnx_backend import SHIPPED_DIR, file_sha256  # noqa: E402


def export_builtin(name: str, root: Path = SHIPPED_DIR) -> Path:
    entry = BUILTIN_MODELS[name]
    if entry.weights is None:
        raise SystemExit(f"{name}: untrained built-in model, nothing to ship")
    weights = WEIGHTS_DIR / entry.weights
    model, cfg = load_model(name)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        export_onnx(model, staging, config=cfg, extra_metadata={
            "builtin": name, "weights": entry.weights, "weights_sha256": file_sha256(weights)})
        target = root / name
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        target.chmod(0o755)  # mkdtemp made it private; installed package data must be readable by all
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def main(argv=None) -> int:
    trained = [name for name, entry in BUILTIN_MODELS.items() if entry.weights is not None]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=trained, help=f"models (default: {' '.join(trained)})")
    args = parser.parse_args(argv)
    for name in args.names:
        if name not in BUILTIN_MODELS:
            raise SystemExit(f"unknown built-in model {name!r}; built-in models: {', '.join(BUILTIN_MODELS)}")
        target = export_builtin(name)
        size = sum(p.stat().st_size for p in target.iterdir()) / 1e6
        print(f"{name}: {target} ({size:.1f} MB)")
    stale = sorted(p.name for p in SHIPPED_DIR.iterdir() if p.is_dir() and p.name not in trained
                   and not p.name.startswith("."))
    if stale:
        print(f"note: {', '.join(stale)} in {SHIPPED_DIR} no longer match a trained built-in model", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
