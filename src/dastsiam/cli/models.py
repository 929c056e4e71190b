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
    lines = []
    for name, entry in BUILTIN_MODELS.items():
        if entry.weights is None:
            status = "untrained"
        elif (WEIGHTS_DIR / entry.weights).is_file():
            status = "trained"
        else:
            status = "trained (weights file missing)"
        mark = "*" if name == DEFAULT_MODEL else " "
        lines.append(f"{mark} {name:<{width}}  {entry.config.arch:<7}  {status:<9}  {entry.description}")
    return lines


def run(args) -> int:
    from dastsiam.models.registry import DEFAULT_MODEL

    print("\n".join(describe_models()))
    print(f"(* = default: {DEFAULT_MODEL}; use a name, a .safetensors file or a .pt checkpoint with --model)")
    return 0
