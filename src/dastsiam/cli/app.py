"""``dastsiam app``: a local web page where you open or upload a video, drag the box around the target on the
first frame, watch the tracked result play with its score, and download boxes.txt and the annotated video.

The page is served on 127.0.0.1 (this machine only) at an address holding a random access token; open the
address it prints. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from dastsiam.app.server import Limits


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("app", help="a local web page: pick the box with the mouse, track, watch, download",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only); 0.0.0.0 = every interface: "
                        "other machines can then open the page with the token (plain HTTP: trusted networks only)")
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 = any free port)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="keep uploads, frames and results in this folder (default: a temporary folder, removed "
                        "when the app stops)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for inference (default: library default)")
    p.add_argument("--open", action="store_true", help="open the page in the default web browser")
    limits = p.add_argument_group("limits")
    limits.add_argument("--max-uploads", type=int, metavar="N", default=Limits.max_uploads,
                        help=f"uploaded videos held at once (default: {Limits.max_uploads}; the page frees the "
                             "one it leaves)")
    limits.add_argument("--max-upload-mb", type=float, metavar="MB", default=Limits.max_upload_bytes / (1 << 20),
                        help=f"total size of the uploads held at once, in MiB (default: "
                             f"{Limits.max_upload_bytes >> 20})")
    limits.add_argument("--idle-timeout", type=float, metavar="SECONDS", default=Limits.idle_timeout,
                        help=f"seconds a connection may stay idle before it is closed (default: "
                             f"{Limits.idle_timeout:g})")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from dastsiam.app.server import serve
    from dastsiam.errors import InputError

    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port}: must be 0..65535")
    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads {args.threads}: must be a whole number >= 1")
    if args.max_uploads < 1:
        raise InputError(f"--max-uploads {args.max_uploads}: must be >= 1")
    if not (math.isfinite(args.max_upload_mb) and args.max_upload_mb > 0):
        raise InputError(f"--max-upload-mb {args.max_upload_mb:g}: must be a number > 0")
    if not (math.isfinite(args.idle_timeout) and args.idle_timeout > 0):
        raise InputError(f"--idle-timeout {args.idle_timeout:g}: must be a number of seconds > 0")
    limits = Limits(idle_timeout=args.idle_timeout, max_uploads=args.max_uploads,
                    max_upload_bytes=int(args.max_upload_mb * (1 << 20)))
    serve(args.host, args.port, args.workdir, args.threads, open_browser=args.open, limits=limits)
    return 0
