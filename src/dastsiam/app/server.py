"""``dastsiam app``: a local web page to pick the box by hand, track, watch and download.

The server is the standard library's threaded HTTP server, bound to ``127.0.0.1`` by default. Every API call
must carry the random token printed in the page's address (as ``X-Token`` header or ``token`` query field); on
the default loopback address the ``Host`` must also name this machine, so other web pages open in the same
browser cannot drive it (no cross-site requests, no DNS rebinding): the app reads video files from disk on the
user's behalf. With ``--host`` set to another address (``0.0.0.0``: every interface) other machines may connect
with the token, whatever name or address they reach it by (the token alone guards it then).

API (JSON unless said otherwise)::

    GET  /                              the page (static/index.html; static/app.js and app.css beside it)
    POST /api/open      {"path": P}     open a video file or frame folder on this machine -> video info
    POST /api/upload    body = file     (header X-Filename, percent-encoded UTF-8) store an upload, open it
    GET  /api/models                    trained built-in models, the default first
    GET  /api/frame/ID/N.jpg            frame N, 0-based (frame 0 as soon as the video is open; others once tracked)
    POST /api/track/ID  {"box": [x, y, w, h], "model": M}   start a run (background thread); again to re-track
    POST /api/cancel/ID                 stop the run; the frames tracked so far are kept (state "cancelled")
    POST /api/close/ID                  forget the video (its playback frames, and an upload unless --workdir)
    GET  /api/status/ID                 {"state": "idle|running|done|cancelled|error", "done": n, "total": N,
                                         "fps": f, "eta": s, "run": k, "last": {"frame", "box", "score"}, ...}
    GET  /api/result/ID[?from=K]        {"from": K, "boxes": [[x, y, w, h], ...], "scores": [...], status...}
    GET  /api/download/ID/boxes.txt     the boxes file (attachment)
    GET  /api/download/ID/tracked.mp4   the annotated video (attachment)

Each video gets a folder under the work directory (``--workdir``, default a temporary folder removed on exit)
holding the upload, ``frames/`` (JPEGs the page plays back: frame 0 at full size for drawing the box, the others
at most 640x480, so 10 minutes of 720p30 cost about 0.7 GB, not 2.2), ``boxes.txt`` and ``tracked.mp4``.

Limits (:class:`Limits`): idle connections are closed after ``idle_timeout`` seconds and at most
``max_connections`` are served at once; uploads held at once are capped in number and total size (the page
closes the video it leaves, which frees its upload).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import stat
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from dastsiam.errors import DastsiamError, InputError, OutputError

__all__ = ["AppServer", "Limits", "serve"]

STATIC = Path(__file__).resolve().parent / "static"
_STATIC_FILES = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
_ID = re.compile(r"^[0-9a-f]{12}$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
PLAYBACK_SIZE = (640, 480)  # playback frames are scaled to fit this (frame 0 stays full size for the box)
JOIN_TIMEOUT = 30.0  # seconds a stopping app waits for each run to finish its current frame and files


@dataclass(frozen=True)
class Limits:
    """Resource limits of one app (``dastsiam app`` options of the same names)."""

    idle_timeout: float = 60.0  # seconds a connection may sit idle (or an upload stall) before it is closed
    max_connections: int = 64  # connections served at once; more are closed at once (a browser uses <= 6)
    max_uploads: int = 20  # uploaded videos held at once
    max_upload_bytes: int = 4 << 30  # their total size (and so each one's)


class UploadLimit(DastsiamError):
    """An upload over the size or count limit (HTTP 413)."""


class Session:
    """One opened video and its latest tracking run."""

    def __init__(self, sid: str, source: str, folder: Path, name: str, uploaded: int = 0):
        self.id, self.source, self.folder, self.name = sid, source, folder, name
        self.uploaded = uploaded  # bytes of the upload this session holds (0 = opened from disk)
        self.width = self.height = 0
        self.fps: float = 30.0
        self.count: int | None = None
        self.state = "idle"  # idle -> running -> done | cancelled | error; running again on re-track
        self.error = ""
        self.run = 0
        self.boxes: list = []
        self.scores: list = []
        self.elapsed = 0.0
        self.model = ""
        self.lock = threading.Lock()
        self.cancel = threading.Event()
        self.thread: threading.Thread | None = None
        self.closed = False

    def info(self) -> dict:
        return {"id": self.id, "name": self.name, "width": self.width, "height": self.height, "fps": self.fps,
                "frames": self.count}

    def status(self) -> dict:
        boxes, scores = self.boxes, self.scores
        done = min(len(boxes), len(scores))
        fps = done / self.elapsed if self.elapsed > 0 else 0.0
        eta = None
        if self.state == "running" and self.count and fps > 0:
            eta = round(max(self.count - done, 0) / fps, 1)
        last = {"frame": done - 1, "box": boxes[done - 1], "score": scores[done - 1]} if done else None
        return {"state": self.state, "run": self.run, "done": done, "total": self.count, "error": self.error,
                "fps": round(fps, 1), "eta": eta, "model": self.model, "last": last}

    def public(self, message: str, workdir: Path) -> str:
        """``message`` without server paths: an upload's stored path reads as its name, the work folder as such."""
        if self.uploaded:
            message = message.replace(self.source, self.name)
        return message.replace(str(workdir), "(the app's work folder)")


def _playback_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, PLAYBACK_SIZE[0] / width, PLAYBACK_SIZE[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _os_message(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _check_openable(path: str) -> None:
    """Only a regular file (a video) or a folder (frames): a FIFO, device or socket would block OpenCV's open
    forever, and with it every later open (issue 20 B3)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return  # open_source names it
    except OSError as exc:
        raise InputError(f"{path}: cannot be opened ({_os_message(exc)})") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) \
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
        raise InputError(f"{path}: is {kind}, not a video file or a folder of frames")


class AppState:
    """Sessions by id, the work directory, the limits, and the tracking threads."""

    def __init__(self, workdir: Path, threads: int | None = None, limits: Limits = Limits(),
                 keep_results: bool = False):
        self.workdir = workdir
        self.threads = threads
        self.limits = limits
        self.keep_results = keep_results  # --workdir given: closing a video keeps its upload and results
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()
        self.reserved = 0  # bytes of uploads in flight, counted against the limit before they arrive
        self.reserved_count = 0

    # ------------------------------------------------------------------ opening
    def _new_folder(self) -> tuple[str, Path]:
        sid = secrets.token_hex(6)
        folder = self.workdir / sid
        try:
            (folder / "frames").mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"cannot create a folder in the app's work folder ({_os_message(exc)})") from None
        return sid, folder

    def open(self, path: str) -> Session:
        if str(path).isdigit() and not Path(str(path)).exists():
            raise InputError(f"{path}: cameras are not supported in the app (try `dastsiam track {path} --select`)")
        _check_openable(path)
        sid, folder = self._new_folder()
        try:
            return self._open(Session(sid, str(path), folder, Path(str(path)).name or str(path)))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def _open(self, session: Session) -> Session:
        import cv2

        from dastsiam.tracking.video import open_source

        with open_source(session.source) as source:
            try:
                _, first = next(iter(source))
            except StopIteration:
                raise InputError(f"{source.name}: no frames") from None
            session.height, session.width = first.shape[:2]
            session.fps, session.count = source.fps, source.count
        target = session.folder / "frames" / "0.jpg"
        try:
            written = cv2.imwrite(str(target), first, [cv2.IMWRITE_JPEG_QUALITY, 90])
        except cv2.error:
            written = False
        if not written or not target.is_file() or target.stat().st_size == 0:
            raise OutputError("cannot write the first frame into the app's work folder (is the disk full?)")
        with self.lock:
            self.sessions[session.id] = session
        return session

    def upload(self, filename: str, stream, length: int) -> Session:
        limits = self.limits
        name = _shortened(filename, 200) or "video"
        if length <= 0:
            raise InputError(f"upload of {name}: empty file")
        if length > limits.max_upload_bytes:
            raise UploadLimit(f"upload of {name}: {_size(length)} is more than the app's {_size(limits.max_upload_bytes)}"
                              " limit (dastsiam app --max-upload-mb)")
        with self.lock:
            held = [s for s in self.sessions.values() if s.uploaded]
            count = len(held) + self.reserved_count
            total = sum(s.uploaded for s in held) + self.reserved
            if count >= limits.max_uploads:
                raise UploadLimit(f"upload of {name}: the app holds {count} uploads already, its limit "
                                  "(dastsiam app --max-uploads); close a video or restart the app")
            if total + length > limits.max_upload_bytes:
                raise UploadLimit(f"upload of {name}: with the {_size(total)} held already it would pass the app's "
                                  f"{_size(limits.max_upload_bytes)} limit (dastsiam app --max-upload-mb)")
            self.reserved += length
            self.reserved_count += 1
        try:
            sid, folder = self._new_folder()
            try:
                safe = _shortened(_SAFE_NAME.sub("_", Path(name).name).lstrip("."), 80) or "video"
                target = folder / f"upload-{safe}"
                session = Session(sid, str(target), folder, name, uploaded=length)
                try:
                    _receive(stream, target, length)
                except OSError as exc:
                    raise OutputError(f"upload of {name}: cannot store it ({_os_message(exc)})") from None
                try:
                    return self._open(session)
                except DastsiamError as exc:
                    raise type(exc)(session.public(str(exc), self.workdir)) from None
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)  # failed and partial uploads leave nothing behind
                raise
        finally:
            with self.lock:
                self.reserved -= length
                self.reserved_count -= 1

    def get(self, sid: str) -> Session:
        session = self.sessions.get(sid) if _ID.match(sid or "") else None
        if session is None:
            raise KeyError(sid)
        return session

    def forget(self, session: Session) -> None:
        """Close a video: stop its run, then delete its playback frames (and, without --workdir, the rest)."""
        with self.lock:
            self.sessions.pop(session.id, None)
        session.closed = True
        session.cancel.set()

        def clean():
            if session.thread is not None:
                session.thread.join(JOIN_TIMEOUT)
            shutil.rmtree(session.folder / "frames" if self.keep_results else session.folder, ignore_errors=True)

        threading.Thread(target=clean, daemon=True, name=f"close-{session.id}").start()

    # ------------------------------------------------------------------ tracking
    def start(self, session: Session, box, model: str | None) -> None:
        import numpy as np

        from dastsiam.tracking.track_io import parse_box

        box = parse_box(",".join(repr(float(v)) for v in box))
        # a box drawn on the page lies inside the frame; anything else is clipped to it (or refused)
        x0, y0 = max(box[0], 0.0), max(box[1], 0.0)
        x1, y1 = min(box[0] + box[2], session.width), min(box[1] + box[3], session.height)
        if not (x1 - x0 >= 1 and y1 - y0 >= 1):
            raise InputError(f"box {', '.join(f'{v:g}' for v in box)} lies outside the "
                             f"{session.width}x{session.height} first frame")
        box = np.array([x0, y0, x1 - x0, y1 - y0])
        with session.lock:
            if session.state == "running":
                raise DastsiamError("this video is being tracked already (cancel it first)")
            if session.closed:
                raise KeyError(session.id)
            session.cancel = threading.Event()
            session.run += 1
            session.state, session.error = "running", ""
            session.boxes, session.scores, session.elapsed = [], [], 0.0
            session.model = model or "nano"
            session.thread = threading.Thread(target=self._track, args=(session, box, model, session.cancel),
                                              daemon=True, name=f"track-{session.id}")
            session.thread.start()

    def _track(self, session: Session, box, model: str | None, cancel: threading.Event) -> None:
        import cv2

        from dastsiam.api import load_tracker
        from dastsiam.tracking.track_io import TrackOutputs
        from dastsiam.tracking.video import open_source

        outputs = None
        boxes, scores = session.boxes, session.scores
        frames = session.folder / "frames"
        size = _playback_size(session.width, session.height)
        try:
            tracker = load_tracker(model, threads=self.threads)
            with open_source(session.source) as source:
                outputs = TrackOutputs(session.folder, True, session.fps, (session.width, session.height))
                start = time.perf_counter()
                for index, frame in source:
                    if cancel.is_set():
                        break
                    if index == 0:
                        tracker.init(frame, box)
                        result, score = box, 1.0
                    else:
                        result, score = tracker.track(frame)
                    outputs.write(result, frame, index, score)
                    playback = frames / f"{index}.jpg"
                    if not playback.is_file():  # written once per video: a re-track reuses them
                        small = frame if size == (frame.shape[1], frame.shape[0]) else \
                            cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                        cv2.imwrite(str(playback), small, [cv2.IMWRITE_JPEG_QUALITY, 75])
                    boxes.append([round(float(v), 3) for v in result])
                    scores.append(round(float(score), 4))  # status() reads min(len(boxes), len(scores))
                    session.elapsed = time.perf_counter() - start
            outputs.close()
            outputs = None
            session.state = "cancelled" if cancel.is_set() else "done"
        except Exception as exc:  # shown on the page; the server keeps running
            text = str(exc) if isinstance(exc, (DastsiamError, ImportError)) else f"{type(exc).__name__}: {exc}"
            session.error = session.public(text, self.workdir)
            session.state = "error"
        finally:
            if outputs is not None:
                outputs.close()

    def close(self) -> None:
        """Stop every run and wait for each to finish its frame and close its files (the video stays playable)."""
        sessions = list(self.sessions.values())
        for session in sessions:
            session.cancel.set()
        deadline = time.monotonic() + JOIN_TIMEOUT
        for session in sessions:
            if session.thread is not None:
                session.thread.join(max(0.0, deadline - time.monotonic()))


def _receive(stream, target: Path, length: int) -> None:
    remaining = length
    with open(target, "wb") as out:
        while remaining > 0:
            chunk = stream.read(min(remaining, 1 << 20))
            if not chunk:
                raise InputError("upload: the connection closed before the whole file arrived")
            out.write(chunk)
            remaining -= len(chunk)


def _shortened(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` characters, keeping its suffix (``.mp4``) when it has a short one."""
    if len(name) <= limit:
        return name
    suffix = Path(name).suffix if len(Path(name).suffix) <= 10 else ""
    return name[: limit - len(suffix) - 1] + "\u2026" + suffix


def _size(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


def _content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / RFC 5987 ``filename*``)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _header_text(value: str) -> str:
    """A header value sent as percent-encoded UTF-8 (the page) or as raw UTF-8 bytes (curl), decoded."""
    try:
        value = value.encode("latin-1").decode("utf-8")  # http.server decodes header bytes as Latin-1
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return unquote(value, errors="replace")


def _log(message: str) -> None:
    try:
        print(f"dastsiam app: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


class Handler(BaseHTTPRequestHandler):
    server_version = "dastsiam-app"
    state: AppState
    token: str
    allowed_hosts: frozenset[str] | None  # None: any Host (listening beyond this machine; the token guards it)

    # ------------------------------------------------------------------ plumbing
    def log_message(self, format, *args) -> None:  # quiet: the terminal shows the address and errors only
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload, status: int = 200) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _file(self, path: Path, content_type: str, download: str | None = None, cache: bool = False) -> None:
        try:
            handle = open(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return self._error(404, f"{path.name}: not there (yet)")
        with handle:
            size = os.fstat(handle.fileno()).st_size
            headers = {"Content-Disposition": _content_disposition(download)} if download else {}
            self.send_response(200)
            caching = "private, max-age=86400" if cache else "no-store"  # a video's frames never change
            for key, value in {"Content-Type": content_type, "Content-Length": str(size), "Cache-Control": caching,
                               "X-Content-Type-Options": "nosniff", **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                shutil.copyfileobj(handle, self.wfile, 1 << 20)

    def _authorised(self, query: dict) -> bool:
        if self.allowed_hosts is not None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
            if host not in self.allowed_hosts:
                return False
        token = self.headers.get("X-Token") or (query.get("token") or [""])[0]
        # bytes: compare_digest refuses non-ASCII str, and this input comes from anyone (issue 20 B4)
        return secrets.compare_digest(token.encode("utf-8", "surrogateescape"), self.token.encode())

    def _host_ok(self) -> bool:
        if self.allowed_hosts is None:
            return True
        return (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower() in self.allowed_hosts

    def _body_json(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= 1 << 20:  # a negative one would read until the client hangs up
            raise InputError("request too large (or a bad Content-Length)")
        try:
            value = json.loads(self.rfile.read(length) or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InputError("request body is not JSON") from None
        if not isinstance(value, dict):
            raise InputError("request body must be a JSON object")
        return value

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._guarded("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._guarded("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._guarded("POST")

    def _guarded(self, method: str) -> None:
        """Every failure is a JSON reply (or, when the client is gone, nothing): never a traceback."""
        try:
            self._route(method)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # a bug: one line in the terminal, a 500 on the page
            _log(f"internal error on {method} {urlsplit(self.path).path}: {type(exc).__name__}: {exc}")
            self.close_connection = True
            try:
                self._error(500, f"internal error ({type(exc).__name__}); see the app's terminal")
            except OSError:
                pass

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        if method == "GET" and parts in ([], ["index.html"]):
            if not self._authorised(query):
                return self._error(403, "open the address printed by `dastsiam app` (it holds the access token)")
            return self._file(STATIC / "index.html", "text/html; charset=utf-8")
        if method == "GET" and len(parts) == 1 and parts[0] in _STATIC_FILES:  # the page's code: no secrets
            if not self._host_ok():
                return self._error(403, "wrong Host")
            return self._file(STATIC / parts[0], _STATIC_FILES[parts[0]])
        if not parts or parts[0] != "api":
            return self._error(404, "not found")
        if not self._authorised(query):
            return self._error(403, "missing or wrong access token")
        try:
            self._api(method, parts[1:], query)
        except KeyError:
            self._error(404, "no such video (closed, or the app was restarted?)")
        except UploadLimit as exc:
            self.close_connection = True  # the body may not have been read
            self._error(413, str(exc))
        except (DastsiamError, ImportError) as exc:
            self._error(400, str(exc))
        except (ValueError, TypeError) as exc:
            self._error(400, f"bad request: {exc}")

    def _api(self, method: str, parts: list[str], query: dict) -> None:
        state = self.state
        if method == "GET" and parts == ["models"]:
            from dastsiam.models.registry import BUILTIN_MODELS, DEFAULT_MODEL

            names = [DEFAULT_MODEL] + [n for n, m in BUILTIN_MODELS.items() if m.weights and n != DEFAULT_MODEL]
            return self._json({"models": names})
        if method == "POST" and parts == ["open"]:
            path = self._body_json().get("path") or ""
            if not isinstance(path, str) or not path.strip():
                raise InputError("give the path of a video file or a folder of frames")
            path = path.strip()
            if path.startswith("~"):
                expanded = os.path.expanduser(path)
                if expanded == path:  # ~nosuchuser (Path.expanduser raised RuntimeError there: issue 20 B7)
                    raise InputError(f"{path[:300]}: no such user {path.split('/')[0][1:][:100]!r}")
                path = expanded
            try:
                return self._json(state.open(path).info())
            except OSError as exc:  # ENAMETOOLONG, EACCES, ELOOP ... on the user's own path
                raise InputError(f"{path[:300]}: cannot be opened ({_os_message(exc)})") from None
        if method == "POST" and parts == ["upload"]:
            length = int(self.headers.get("Content-Length") or 0)
            name = Path(_header_text(self.headers.get("X-Filename") or "video")).name
            return self._json(state.upload(name, self.rfile, length).info())
        if len(parts) < 2:
            return self._error(404, "not found")
        session = state.get(parts[1])
        if method == "GET" and parts[0] == "frame" and len(parts) == 3:
            match = re.fullmatch(r"(\d{1,9})\.jpg", parts[2])
            if not match:
                return self._error(404, "not found")
            return self._file(session.folder / "frames" / f"{int(match.group(1))}.jpg", "image/jpeg", cache=True)
        if method == "POST" and parts[0] == "track" and len(parts) == 2:
            body = self._body_json()
            box = body.get("box")
            if not isinstance(box, list) or len(box) != 4 or not all(isinstance(v, (int, float)) for v in box):
                raise InputError("draw a box on the first frame first")
            model = body.get("model") or None
            from dastsiam.models.registry import BUILTIN_MODELS

            if model is not None and (model not in BUILTIN_MODELS or BUILTIN_MODELS[model].weights is None):
                raise InputError(f"model {str(model)[:100]!r}: not a trained built-in model")
            state.start(session, box, model)
            return self._json(session.status())
        if method == "POST" and parts[0] == "cancel" and len(parts) == 2:
            session.cancel.set()
            return self._json(session.status())
        if method == "POST" and parts[0] == "close" and len(parts) == 2:
            state.forget(session)
            return self._json({"closed": session.id})
        if method == "GET" and parts[0] == "status" and len(parts) == 2:
            return self._json(session.status())
        if method == "GET" and parts[0] == "result" and len(parts) == 2:
            start = max(0, int((query.get("from") or ["0"])[0]))
            status = session.status()
            end = status["done"]
            return self._json({"from": start, "boxes": session.boxes[start:end], "scores": session.scores[start:end],
                               **status})
        if method == "GET" and parts[0] == "download" and len(parts) == 3:
            stem = Path(session.name).stem or "video"
            if parts[2] == "boxes.txt":
                return self._file(session.folder / "boxes.txt", "text/plain; charset=utf-8", f"{stem}_boxes.txt")
            if parts[2] == "tracked.mp4":
                return self._file(session.folder / "tracked.mp4", "video/mp4", f"{stem}_tracked.mp4")
        return self._error(404, "not found")


class _Slot:
    """One connection's share of :class:`_Server`'s limit, given back once however many paths release it."""

    def __init__(self, semaphore: threading.BoundedSemaphore):
        self._semaphore = semaphore
        self._lock = threading.Lock()
        self._held = True

    def release(self) -> None:
        with self._lock:
            if self._held:
                self._held = False
                self._semaphore.release()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    max_connections = Limits.max_connections

    def __init__(self, address, handler, family: int):
        self.address_family = family
        self._active = threading.BoundedSemaphore(self.max_connections)
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self._active.acquire(blocking=False):  # too many at once: drop this one instead of a new thread
            self.shutdown_request(request)
            return
        slot = _Slot(self._active)
        thread = threading.Thread(target=self._serve_in_thread, args=(request, client_address, slot),
                                  daemon=self.daemon_threads)
        try:
            thread.start()
        except BaseException:
            # Ctrl-C/SIGTERM can land while start() waits for the new thread, which then runs and frees its slot
            # too: released twice, the semaphore raised ValueError, socketserver logged it as a request error
            # and the stop was lost (the app kept serving). The slot frees once, the stop reaches serve_forever.
            slot.release()
            raise

    def _serve_in_thread(self, request, client_address, slot: _Slot) -> None:
        try:
            self.process_request_thread(request, client_address)  # ThreadingMixIn's: handle, then close
        finally:
            slot.release()

    def handle_error(self, request, client_address) -> None:
        """One line for what escaped a handler (never a traceback); nothing for a client that hung up."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        _log(f"error serving {client_address[0]}: {type(exc).__name__}: {exc}")


class AppServer:
    """The app's HTTP server; ``url`` holds the address with the access token."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, workdir: str | Path | None = None,
                 threads: int | None = None, limits: Limits = Limits()):
        self.token = secrets.token_urlsafe(16)
        self.remote = host.lower() not in LOOPBACK
        handler = type("BoundHandler", (Handler,), {"token": self.token, "timeout": limits.idle_timeout,
                                                    "allowed_hosts": None if self.remote else LOOPBACK})
        if workdir is not None:  # checked before anything is created, so a bad one leaves nothing behind
            workdir = Path(workdir)
            if workdir.exists() and not workdir.is_dir():
                raise OutputError(f"--workdir {workdir}: exists and is not a folder")
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            server_class = type("BoundServer", (_Server,), {"max_connections": limits.max_connections})
            self.httpd = server_class((host, port), handler, family)
        except OSError as exc:
            raise DastsiamError(f"--host {host} --port {port}: cannot listen ({_os_message(exc)})") from None
        try:
            self._own_workdir = workdir is None
            if workdir is None:
                self.workdir = Path(tempfile.mkdtemp(prefix="dastsiam-app-"))
            else:
                self.workdir = workdir
                self.workdir.mkdir(parents=True, exist_ok=True)
                probe = tempfile.NamedTemporaryFile(dir=self.workdir, prefix=".dastsiam-probe-")
                probe.close()
        except OSError as exc:
            self.httpd.server_close()
            where = f"--workdir {workdir}" if workdir is not None else "the temporary folder"
            raise OutputError(f"{where}: cannot write there ({_os_message(exc)})") from None
        self.state = AppState(self.workdir, threads, limits, keep_results=workdir is not None)
        handler.state = self.state
        self.host, self.port = host, self.httpd.server_address[1]
        local = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, f"[{host}]" if ":" in host else host)
        self.url = f"http://{local}:{self.port}/?token={self.token}"
        self.remote_url = f"http://{socket.gethostname()}:{self.port}/?token={self.token}" \
            if host in ("0.0.0.0", "::", "") else self.url

    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.close()

    def close(self) -> None:
        self.state.close()
        self.httpd.server_close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def serve(host: str = "127.0.0.1", port: int = 8765, workdir: str | Path | None = None,
          threads: int | None = None, open_browser: bool = False, limits: Limits = Limits()) -> None:
    """Run the app until Ctrl-C / SIGTERM, printing its address; a stop lets running tracks close their files."""
    server = AppServer(host, port, workdir, threads, limits)
    print(f"dastsiam app: open {server.url}  (Ctrl-C stops it)", flush=True)
    if server.remote:
        print(f"dastsiam app: warning: listening on {host}: other machines can open {server.remote_url} "
              "(anyone holding the token can read videos this user can read; plain HTTP, so only on a trusted "
              "network)", file=sys.stderr, flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    server.serve_forever()

