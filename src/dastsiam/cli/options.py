"""Command-line options several sub-commands share."""

from __future__ import annotations

import argparse


def add_model_options(p: argparse.ArgumentParser, threads_help: str) -> None:
    """``--model``, ``--backend``, ``--device`` and ``--threads`` (default 1) of the commands that track a benchmark
    or serve a toolkit (``dastsiam run``, ``dastsiam vot``); ``threads_help`` says why one thread is the default."""
    p.add_argument("--model", default=None, help="built-in model name or weights file (default: the default model)")
    p.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                   help="inference back end, as in 'dastsiam track' (default: auto)")
    p.add_argument("--device", default="cpu", help="torch device for the torch back end (default: cpu)")
    p.add_argument("--threads", type=int, default=1, help=threads_help)
