"""``dastsiam vot``: run a model as a VOT toolkit tracker over the TraX protocol (needs the ``[vot]`` extra).

    dastsiam vot [--model NAME|PATH] [--backend ...] [--threads N] [--init pysot|envelope]
    dastsiam vot --ini [--model NAME|PATH]       # print a trackers.ini for this installation
    dastsiam vot --workspace DIR --sequences VOT2018 [--model NAME|PATH]    # a ready toolkit workspace

The VOT toolkit starts it (``trackers.ini``: ``protocol = trax``, ``command = dastsiam vot --model nano``)
and talks TraX on stdin/stdout; it is not meant to be run by hand. ``--ini`` prints that tracker entry
(``dastsiam``) for this installation. ``--workspace`` writes a toolkit workspace (config.yaml,
trackers.ini and a VOT2018 stack whose reset-protocol experiment works around vot-toolkit 0.9.0's broken
supervised experiment); then ``vot evaluate dastsiam --experiments baseline`` and ``vot analysis`` in it. See
docs/evaluation.md, "VOT toolkit".
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from pathlib import Path

from dastsiam.cli.options import add_model_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("vot", help="serve a model to the VOT toolkit over TraX (or print a trackers.ini)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(p, "CPU threads for inference (default 1: the toolkit may run trackers side by side)")
    p.add_argument("--preset", default=None, help="tracker preset (default: the one matching the model)")
    p.add_argument("--init", choices=("pysot", "envelope"), default=None,
                   help="box from the ground-truth polygon at every (re-)initialisation: pysot's area-preserving "
                        "box or the min/max envelope (default: the tracker's vot_init, pysot)")
    p.add_argument("--ini", action="store_true", help="print a trackers.ini for this installation and exit")
    p.add_argument("--workspace", type=Path, default=None,
                   help="write a VOT toolkit workspace into this folder (with --sequences) and exit")
    p.add_argument("--sequences", type=Path, default=None,
                   help="VOT dataset folder (list.txt, <seq>/groundtruth.txt) the --workspace uses")
    p.set_defaults(func=run)
    return p


def trackers_ini(model: str | None, executable: str | None = None, options: list[str] | None = None) -> str:
    """``trackers.ini`` text: the ``dastsiam`` entry, TraX, this installation's ``dastsiam vot`` (with
    ``options``, e.g. ``["--init", "envelope"]``)."""
    beside = Path(sys.executable).with_name("dastsiam")  # the script of this very installation, if it has one
    exe = executable or (str(beside) if beside.is_file() else shutil.which("dastsiam") or "dastsiam")
    model_arg = "".join(f" {shlex.quote(a)}" for a in ([*(["--model", model] if model else []), *(options or [])]))
    return "\n".join([
        "[dastsiam]",
        f"label = dastsiam ({model or 'default model'})",
        "protocol = trax",
        f"command = {exe} vot{model_arg}",
        "",
    ])


def run(args) -> int:
    options = []  # what the toolkit's command line must repeat (everything but the defaults)
    for flag, value, default in (("--backend", args.backend, "auto"), ("--device", args.device, "cpu"),
                                 ("--threads", args.threads, 1), ("--preset", args.preset, None),
                                 ("--init", args.init, None)):
        if value != default:
            options += [flag, str(value)]
    if args.ini:
        print(trackers_ini(args.model, options=options), end="")
        return 0
    if args.workspace is not None or args.sequences is not None:
        from dastsiam.errors import InputError
        from dastsiam.vot_toolkit import write_workspace

        if args.workspace is None or args.sequences is None:
            raise InputError("--workspace and --sequences go together (a workspace needs its sequences)")
        folder = write_workspace(args.workspace, args.sequences, trackers_ini(args.model, options=options))
        print(f"VOT toolkit workspace written to {folder}: cd there, then "
              f"'vot evaluate dastsiam --experiments baseline' and 'vot analysis dastsiam'")
        return 0
    from dastsiam.api import load_tracker
    from dastsiam.vot_toolkit import serve_trax, tracker_init_rule

    tracker = load_tracker(args.model, backend=args.backend, device=args.device, threads=args.threads,
                           preset=args.preset)
    serve_trax(tracker, tracker_init_rule(tracker, args.init))
    return 0
