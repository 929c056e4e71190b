"""``dastsiam models``: list the built-in models (trained or untrained, and the default)."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("models", help="list the built-in models", description=__doc__)
    p.set_defaults(func=run)
    return p


def describe_models() -> list[str]:
    """One line per built-in model: name, default marker, trained/untrained status, description."""
    from dastsiam.models.registry import BUILTIN_MODELS, DEFAULT_MODEL, WEIGHTS_DIR

    width = max(len(name) for name in BUILTIN_MODELS)
    rows = []
    for name, entry in BUILTIN_MODELS.items():
        if entry.weights is None:
            status = "untrained"
        elif not (WEIGHTS_DIR / entry.weights).is_file():
            status = "trained (weights file missing)"
        elif entry.modules_untrained:
            status = "modules untrained"  # the base model's weights; ST / DA / confidence branch at zero
        else:
            status = "trained"
        rows.append((name, entry, status))
    status_width = max(len(status) for _, _, status in rows)
    return [f"{'*' if name == DEFAULT_MODEL else ' '} {name:<{width}}  {entry.config.arch:<7}  "
            f"{status:<{status_width}}  {entry.description}" for name, entry, status in rows]


def run(args) -> int:
    from dastsiam.models.registry import DEFAULT_MODEL

    print("\n".join(describe_models()))
    print(f"(* = default: {DEFAULT_MODEL}; use a name, a .safetensors file or a .pt checkpoint with --model)")
    return 0
