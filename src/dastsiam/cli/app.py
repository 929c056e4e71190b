"""``dastsiam app``: a local web page where you open or upload a video, drag the box around the target on the
first frame, watch the tracked result play with its score, and download boxes.txt and the annotated video.

The page is served on 127.0.0.1 (this machine only) at an address holding a random access token; open the
address it prints. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("app", help="a local web page: pick the box with the mouse, track, watch, download",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 = any free port)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="keep uploads, frames and results in this folder (default: a temporary folder, removed "
                        "when the app stops)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for inference (default: library default)")
    p.add_argument("--open", action="store_true", help="open the page in the default web browser")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from dastsiam.app.server import serve
    from dastsiam.errors import InputError

    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port}: must be 0..65535")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads {args.threads}: must be a whole number >= 1")
    serve(args.host, args.port, args.workdir, args.threads, open_browser=args.open)
    return 0
