"""``dastsiam run``: one-pass evaluation (OPE) of a model over a benchmark, writing result files.

    dastsiam run --dataset otb --root DIR [--model NAME|PATH] --results ROOT [--name TRACKER] [--workers N]

writes ``ROOT/<TRACKER>/<Seq>.txt`` (the benchmark's own pixel convention, see docs/evaluation.md) plus
per-frame times; finished sequences are skipped, so an interrupted run resumes. Score the folder with
``dastsiam eval``.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from dastsiam.datasets import DATASET_KINDS

RESULT_LAYOUTS = {"got10k": "got10k"}  # every other benchmark uses the OTB / pysot layout


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("run", help="run a model over a benchmark dataset (OPE) and write result files",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, choices=[k for k in DATASET_KINDS if k != "imagenet_vid"],
                   help="benchmark kind (selects the reader and the result layout)")
    p.add_argument("--root", type=Path, required=True, help="dataset folder in the benchmark's own layout")
    p.add_argument("--split", default=None, help="split, where the benchmark has them (GOT-10k: val, test)")
    p.add_argument("--sequences", default=None, help="comma-separated sequence names (default: all)")
    p.add_argument("--model", default=None, help="built-in model name or weights file (default: the default model)")
    p.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                   help="inference back end, as in 'dastsiam track' (default: auto)")
    p.add_argument("--device", default="cpu", help="torch device for the torch back end (default: cpu)")
    p.add_argument("--results", type=Path, required=True, help="results root; files go to ROOT/NAME/")
    p.add_argument("--name", default=None, help="tracker name in the results folder (default: the model name)")
    p.add_argument("--repetitions", type=int, default=1, help="runs per sequence (GOT-10k layout only)")
    p.add_argument("--workers", type=int, default=1, help="sequences tracked in parallel processes")
    p.add_argument("--no-resume", action="store_true", help="re-run sequences that already have results")
    p.set_defaults(func=run)
    return p


def build_tracker(model: str | None, backend: str, device: str):
    """A fresh :class:`Tracker` (module-level so that worker processes can build their own)."""
    from dastsiam.cli import track

    return track.build_tracker(argparse.Namespace(model=model, backend=backend, device=device, threads=1, preset=None))


def run(args) -> int:
    from dastsiam.datasets import load_dataset
    from dastsiam.evaluation.runner import run_ope
    from dastsiam.models.registry import DEFAULT_MODEL

    names = [n for n in args.sequences.split(",") if n] if args.sequences else None
    sequences = load_dataset(args.dataset, args.root, split=args.split, names=names)
    tracker_name = args.name or Path(args.model or DEFAULT_MODEL).stem
    factory = functools.partial(build_tracker, args.model, args.backend, args.device)
    factory()  # fail fast (unknown model, bad weights) before any worker starts
    written = run_ope(factory, sequences, args.results, tracker_name,
                      layout=RESULT_LAYOUTS.get(args.dataset, "otb"), repetitions=args.repetitions,
                      workers=args.workers, resume=not args.no_resume, progress=True)
    print(f"{len(sequences)} sequences, {len(written)} result files written to {args.results / tracker_name}")
    return 0
