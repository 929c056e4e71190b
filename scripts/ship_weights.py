"""Turn a fine-tuned weights file into a shipped built-in model file (src/dastsiam/weights).

    python scripts/ship_weights.py runs/ft/st_da/best.safetensors src/dastsiam/weights/dastsiam_nano.safetensors \\
        --train-config runs/ft/st_da/config.yaml --validation runs/ft/st_da/validation.json

Loads the file with :func:`dastsiam.models.load_model` (so it must be a complete, loadable model), and writes
it again with :func:`dastsiam.models.registry.save_weights`: the ModelConfig, the training config (YAML text),
the git commit and step it was trained at (taken from the source file's metadata, written by
scripts/finetune_validated.py), its validation scores and the NanoTrack licence notice in the metadata.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

LICENCE = ("Apache-2.0. Fine-tuned from NanoTrack v2 by HonglinChu (https://github.com/HonglinChu/SiamTrackers, "
           "Apache License 2.0); see LICENSE.nanotrack and NOTICE in dastsiam/weights.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--train-config", type=Path, required=True, help="the run's config.yaml")
    parser.add_argument("--validation", type=Path, help="the run's validation.json (scores of the chosen step)")
    args = parser.parse_args(argv)

    from safetensors import safe_open

    from dastsiam.models import load_model
    from dastsiam.models.registry import save_weights

    with safe_open(str(args.source), framework="pt") as f:
        source_meta = f.metadata() or {}
    model, cfg = load_model(args.source)
    meta = {
        "licence": LICENCE,
        "training_config": args.train_config.read_text(),
        "git_commit": source_meta.get("commit", "unknown"),
        "step": source_meta.get("step", "unknown"),
        "recipe": f"scripts/finetune_validated.py {source_meta.get('config', '?')} "
                  f"{source_meta.get('overrides', '')} rgb={source_meta.get('rgb', '?')} "
                  f"bn_eval={source_meta.get('bn_eval', '?')}".strip(),
    }
    if args.validation:
        history = json.loads(args.validation.read_text())
        chosen = [h for h in history if str(h["step"]) == meta["step"]]
        if chosen:
            meta["validation"] = json.dumps({k: chosen[0][k] for k in ("auc", "precision", "per_sequence")})
    args.dest.parent.mkdir(parents=True, exist_ok=True)
    save_weights(model, cfg, args.dest, extra_metadata=meta)
    print(f"wrote {args.dest} ({args.dest.stat().st_size / 1e6:.1f} MB), step {meta['step']}, "
          f"commit {meta['git_commit']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
