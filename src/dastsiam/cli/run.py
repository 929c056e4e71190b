"""``dastsiam run``: run a model over a benchmark with the benchmark's protocol, writing result files.

    dastsiam run --dataset otb --root DIR [--model NAME|PATH] --results ROOT [--name TRACKER] [--workers N]
                 [--shard K/N] [--sequences NAMES] [--protocol ope|sre|tre] [--preset NAME]

OTB, UAV123, LaSOT, GOT-10k and custom folders: one-pass evaluation (OPE), ``ROOT/<TRACKER>/<Seq>.txt`` (the
benchmark's own pixel convention, see docs/evaluation.md; GOT-10k: ``<Seq>/<Seq>_001.txt``) plus per-frame
times. VOT2018: the baseline (reset) protocol, ``ROOT/<TRACKER>/baseline/<seq>/<seq>_001.txt`` with the
re-initialisation flags VOT's accuracy, robustness and EAO need. Finished sequences are skipped, so an
interrupted run resumes. ``--shard K/N`` runs the K-th of N disjoint slices (an array job, one GPU per
shard): run every shard into the same results root, then score it with ``dastsiam eval``.

``--protocol sre|tre``: OTB's robustness protocols on any benchmark (VOT sequences one-pass against the
polygons' envelope): SRE = 12 runs from a perturbed first box, TRE = 20 runs from evenly spaced start frames
(docs/evaluation.md), one file per run, ``ROOT/<TRACKER>/sre|tre/<Seq>/<Seq>_<run>.txt``; resumable per run
and shardable like OPE; score with ``dastsiam eval --protocol sre|tre``.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

from dastsiam.cli.options import add_model_options
from dastsiam.datasets import DATASET_KINDS

RESULT_LAYOUTS = {"got10k": "got10k"}  # every other benchmark uses the OTB / pysot layout


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("run", help="run a model over a benchmark (OPE; VOT: reset protocol) and write result files",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, choices=[k for k in DATASET_KINDS if k != "imagenet_vid"],
                   help="benchmark kind (selects the reader and the result layout)")
    p.add_argument("--root", type=Path, required=True, help="dataset folder in the benchmark's own layout")
    p.add_argument("--split", default=None, help="split, where the benchmark has them (GOT-10k: val, test)")
    p.add_argument("--sequences", nargs="+", default=None, metavar="NAMES",
                   help="run only these sequences: comma- or space-separated, as in 'dastsiam eval' (default: all)")
    p.add_argument("--shard", default=None, metavar="K/N",
                   help="run only the K-th of N disjoint slices of the sequences (every N-th from the K-th); "
                        "the N shards together cover the benchmark once")
    add_model_options(p, "CPU threads for inference in each worker process (default 1: --workers parallelises)")
    p.add_argument("--protocol", choices=("ope", "sre", "tre"), default=None,
                   help="ope: one pass (default; VOT2018: the reset protocol unless a protocol is given); sre: 12 "
                        "runs from perturbed first boxes; tre: 20 runs from evenly spaced start frames (OTB's)")
    p.add_argument("--preset", default=None,
                   help="tracker preset, as in 'dastsiam track' (default: the one matching the model)")
    p.add_argument("--results", type=Path, required=True, help="results root; files go to ROOT/NAME/")
    p.add_argument("--name", default=None, help="tracker name in the results folder (default: the model name)")
    p.add_argument("--repetitions", type=int, default=1, help="runs per sequence (GOT-10k and VOT layouts only)")
    p.add_argument("--workers", type=int, default=1, help="sequences tracked in parallel processes")
    p.add_argument("--vot-init", choices=("pysot", "envelope"), default=None,
                   help="VOT2018: box from the ground-truth polygon at every (re-)initialisation: pysot's "
                        "area-preserving box (get_axis_aligned_bbox) or the min/max envelope (default: the "
                        "tracker preset's vot_init, pysot for every built-in)")
    p.add_argument("--no-resume", action="store_true", help="re-run sequences that already have results")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from dastsiam.api import TrackerSpec, build_tracker, check_runtime_options
    from dastsiam.cli.evaluate import split_names
    from dastsiam.datasets import load_dataset
    from dastsiam.errors import InputError
    from dastsiam.evaluation.runner import run_ope, run_protocol, run_vot, shard
    from dastsiam.models.registry import DEFAULT_MODEL

    if args.workers < 1:
        raise InputError(f"--workers {args.workers}: must be at least 1")
    if args.repetitions < 1:
        raise InputError(f"--repetitions {args.repetitions}: must be at least 1")
    shard(["check"], args.shard)  # a malformed --shard fails before the dataset is read
    sequences = load_dataset(args.dataset, args.root, split=args.split, names=split_names(args.sequences))
    selected = shard(sequences, args.shard)
    tracker_name = args.name or Path(args.model or DEFAULT_MODEL).stem
    # one tracker per worker process, built from a picklable spec (one inference thread each)
    spec = TrackerSpec(model=args.model, backend=args.backend, device=args.device, threads=args.threads,
                       preset=args.preset)
    check_runtime_options(spec)  # a device that is not there (--device cuda without CUDA), bad --threads: one line
    factory = functools.partial(build_tracker, spec)
    factory()  # fail fast (unknown model, bad weights) before any worker starts
    if args.protocol in ("sre", "tre"):
        if args.repetitions != 1:
            raise InputError("--repetitions: SRE and TRE runs are deterministic perturbations; give 1")
        written = run_protocol(factory, selected, args.results, tracker_name, args.protocol,
                               workers=args.workers, resume=not args.no_resume, progress=True)
        protocol = f"{args.protocol.upper()} ({'12 perturbed first boxes' if args.protocol == 'sre' else '20 start frames'})"
    elif args.dataset == "vot2018" and args.protocol is None:
        written = run_vot(factory, selected, args.results, tracker_name, repetitions=args.repetitions,
                          resume=not args.no_resume, workers=args.workers, progress=True, init_rule=args.vot_init)
        protocol = "VOT baseline (reset) protocol"
    else:
        written = run_ope(factory, selected, args.results, tracker_name,
                          layout=RESULT_LAYOUTS.get(args.dataset, "otb"), repetitions=args.repetitions,
                          workers=args.workers, resume=not args.no_resume, progress=True)
        protocol = "one-pass evaluation"
    part = f" (shard {args.shard} of {len(sequences)})" if args.shard else ""
    print(f"{len(selected)} sequences{part}, {protocol}: {len(written)} result files written to "
          f"{args.results / tracker_name}")
    return 0
