"""``dastsiam app``: a local web page to pick the box by hand, track, watch and download.

The server is the standard library's threaded HTTP server, bound to ``127.0.0.1`` by default. Every API call
must carry the random token printed in the page's address (as ``X-Token`` header or ``token`` query field) and
a ``Host`` of this machine, so other web pages open in the same browser cannot drive it (no cross-site
requests, no DNS rebinding): the app reads video files from disk on the user's behalf.

API (JSON unless said otherwise)::

    GET  /                              the page (static/index.html)
    POST /api/open      {"path": P}     open a video file or frame folder on this machine -> video info
    POST /api/upload    body = file     (header X-Filename) store an uploaded video, open it -> video info
    GET  /api/models                    trained built-in models, the default first
    GET  /api/frame/ID/N.jpg            frame N (frame 0 as soon as the video is open; others once tracked)
    POST /api/track/ID  {"box": [x, y, w, h], "model": M}   start tracking (background thread)
    GET  /api/status/ID                 {"state": "idle|running|done|error", "done": n, "total": N, ...}
    GET  /api/result/ID                 {"boxes": [[x, y, w, h], ...], "scores": [...], "fps": f}
    GET  /api/download/ID/boxes.txt     the boxes file (attachment)
    GET  /api/download/ID/tracked.mp4   the annotated video (attachment)

Each video gets a folder under the work directory (``--workdir``, default a temporary folder removed on exit)
holding the upload, ``frames/`` (JPEGs the page plays back), ``boxes.txt`` and ``tracked.mp4``.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from dastsiam.errors import DastsiamError

__all__ = ["AppServer", "serve"]

STATIC = Path(__file__).resolve().parent / "static"
MAX_UPLOAD = 4 << 30  # 4 GiB
_ID = re.compile(r"^[0-9a-f]{12}$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Session:
    """One opened video and its tracking run."""

    id: str
    source: str
    folder: Path
    name: str
    width: int = 0
    height: int = 0
    fps: float = 30.0
    count: int | None = None
    state: str = "idle"  # idle -> running -> done | error
    error: str = ""
    boxes: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    elapsed: float = 0.0
    model: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    cancel: threading.Event = field(default_factory=threading.Event)

    def info(self) -> dict:
        return {"id": self.id, "name": self.name, "width": self.width, "height": self.height, "fps": self.fps,
                "frames": self.count}

    def status(self) -> dict:
        done = len(self.boxes)
        fps = done / self.elapsed if self.elapsed > 0 else 0.0
        return {"state": self.state, "done": done, "total": self.count, "error": self.error, "fps": round(fps, 1),
                "model": self.model}


class AppState:
    """Sessions by id, the work directory, and the tracking threads."""

    def __init__(self, workdir: Path, threads: int | None = None):
        self.workdir = workdir
        self.threads = threads
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()

    # ------------------------------------------------------------------ opening
    def open(self, path: str, name: str | None = None) -> Session:
        import cv2

        from dastsiam.tracking.video import open_source

        if str(path).isdigit() and not Path(str(path)).exists():
            raise DastsiamError(f"{path}: cameras are not supported in the app (try `dastsiam track {path} --select`)")
        sid = secrets.token_hex(6)
        folder = self.workdir / sid
        with open_source(path) as source:
            (folder / "frames").mkdir(parents=True)
            try:
                _, first = next(iter(source))
            except StopIteration:
                raise DastsiamError(f"{source.name}: no frames") from None
            session = Session(sid, str(path), folder, name or Path(str(path)).name)
            session.height, session.width = first.shape[:2]
            session.fps, session.count = source.fps, source.count
        cv2.imwrite(str(folder / "frames" / "0.jpg"), first, [cv2.IMWRITE_JPEG_QUALITY, 90])
        with self.lock:
            self.sessions[sid] = session
        return session

    def upload(self, filename: str, stream, length: int) -> Session:
        if length <= 0:
            raise DastsiamError("upload: empty file")
        if length > MAX_UPLOAD:
            raise DastsiamError(f"upload: {length} bytes is more than the {MAX_UPLOAD >> 30} GiB limit")
        uploads = self.workdir / "uploads"
        uploads.mkdir(exist_ok=True)
        safe = _SAFE_NAME.sub("_", Path(filename).name).lstrip(".") or "video"
        target = uploads / f"{secrets.token_hex(4)}-{safe}"
        remaining = length
        with open(target, "wb") as out:
            while remaining > 0:
                chunk = stream.read(min(remaining, 1 << 20))
                if not chunk:
                    raise DastsiamError("upload: connection closed before the whole file arrived")
                out.write(chunk)
                remaining -= len(chunk)
        return self.open(str(target), name=Path(filename).name)

    def get(self, sid: str) -> Session:
        session = self.sessions.get(sid) if _ID.match(sid or "") else None
        if session is None:
            raise KeyError(sid)
        return session

    # ------------------------------------------------------------------ tracking
    def start(self, session: Session, box, model: str | None) -> None:
        from dastsiam.cli.track import parse_box

        box = parse_box(",".join(str(float(v)) for v in box))
        with session.lock:
            if session.state == "running":
                raise DastsiamError("this video is being tracked already")
            session.state, session.error = "running", ""
            session.boxes, session.scores, session.elapsed = [], [], 0.0
            session.model = model or "nano"
        thread = threading.Thread(target=self._track, args=(session, box, model), daemon=True,
                                  name=f"track-{session.id}")
        thread.start()

    def _track(self, session: Session, box, model: str | None) -> None:
        import cv2

        from dastsiam.api import load_tracker
        from dastsiam.cli.track import _Outputs
        from dastsiam.tracking.video import open_source

        outputs = None
        try:
            tracker = load_tracker(model, threads=self.threads)
            with open_source(session.source) as source:
                outputs = _Outputs(session.folder, True, session.fps, (session.width, session.height))
                start = time.perf_counter()
                for index, frame in source:
                    if session.cancel.is_set():
                        break
                    if index == 0:
                        tracker.init(frame, box)
                        result, score = box, 1.0
                    else:
                        result, score = tracker.track(frame)
                    outputs.write(result, frame, index, score)
                    cv2.imwrite(str(session.folder / "frames" / f"{index}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
                    session.boxes.append([round(float(v), 3) for v in result])
                    session.scores.append(round(float(score), 4))
                    session.elapsed = time.perf_counter() - start
            outputs.close()
            outputs = None
            session.state = "done"
        except Exception as exc:  # shown on the page; the server keeps running
            session.error = str(exc) if isinstance(exc, (DastsiamError, ImportError)) else f"{type(exc).__name__}: {exc}"
            session.state = "error"
        finally:
            if outputs is not None:
                outputs.close()

    def close(self) -> None:
        for session in list(self.sessions.values()):
            session.cancel.set()


class Handler(BaseHTTPRequestHandler):
    server_version = "dastsiam-app"
    state: AppState
    token: str
    allowed_hosts: set[str]

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

    def _file(self, path: Path, content_type: str, download: str | None = None) -> None:
        if not path.is_file():
            return self._error(404, f"{path.name}: not there (yet)")
        headers = {"Content-Disposition": f'attachment; filename="{download}"'} if download else None
        self._send(200, path.read_bytes(), content_type, headers)

    def _authorised(self, query: dict) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        if host not in self.allowed_hosts:
            return False
        token = self.headers.get("X-Token") or (query.get("token") or [""])[0]
        return secrets.compare_digest(token, self.token)

    def _body_json(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1 << 20:
            raise DastsiamError("request too large")
        try:
            value = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            raise DastsiamError("request body is not JSON") from None
        if not isinstance(value, dict):
            raise DastsiamError("request body must be a JSON object")
        return value

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._route("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        if method == "GET" and parts in ([], ["index.html"]):
            if not self._authorised(query):
                return self._error(403, "open the address printed by `dastsiam app` (it holds the access token)")
            return self._file(STATIC / "index.html", "text/html; charset=utf-8")
        if not parts or parts[0] != "api":
            return self._error(404, "not found")
        if not self._authorised(query):
            return self._error(403, "missing or wrong access token")
        try:
            self._api(method, parts[1:])
        except KeyError:
            self._error(404, "no such video (the app was restarted?)")
        except (DastsiamError, ImportError) as exc:
            self._error(400, str(exc))
        except (ValueError, TypeError) as exc:
            self._error(400, f"bad request: {exc}")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _api(self, method: str, parts: list[str]) -> None:
        state = self.state
        if method == "GET" and parts == ["models"]:
            from dastsiam.models.registry import BUILTIN_MODELS, DEFAULT_MODEL

            names = [DEFAULT_MODEL] + [n for n, m in BUILTIN_MODELS.items() if m.weights and n != DEFAULT_MODEL]
            return self._json({"models": names})
        if method == "POST" and parts == ["open"]:
            path = str(self._body_json().get("path") or "").strip()
            if not path:
                raise DastsiamError("give the path of a video file or a folder of frames")
            return self._json(state.open(str(Path(path).expanduser())).info())
        if method == "POST" and parts == ["upload"]:
            length = int(self.headers.get("Content-Length") or 0)
            name = self.headers.get("X-Filename") or "video"
            return self._json(state.upload(name, self.rfile, length).info())
        if len(parts) < 2:
            return self._error(404, "not found")
        session = state.get(parts[1])
        if method == "GET" and parts[0] == "frame" and len(parts) == 3:
            match = re.fullmatch(r"(\d+)\.jpg", parts[2])
            if not match:
                return self._error(404, "not found")
            return self._file(session.folder / "frames" / f"{int(match.group(1))}.jpg", "image/jpeg")
        if method == "POST" and parts[0] == "track" and len(parts) == 2:
            body = self._body_json()
            box = body.get("box")
            if not isinstance(box, list) or len(box) != 4:
                raise DastsiamError("draw a box on the first frame first")
            model = body.get("model") or None
            from dastsiam.models.registry import BUILTIN_MODELS

            if model is not None and (model not in BUILTIN_MODELS or BUILTIN_MODELS[model].weights is None):
                raise DastsiamError(f"model {model!r}: not a trained built-in model")
            state.start(session, box, model)
            return self._json(session.status())
        if method == "GET" and parts[0] == "status" and len(parts) == 2:
            return self._json(session.status())
        if method == "GET" and parts[0] == "result" and len(parts) == 2:
            return self._json({"boxes": session.boxes, "scores": session.scores, **session.status()})
        if method == "GET" and parts[0] == "download" and len(parts) == 3:
            stem = Path(session.name).stem or "video"
            if parts[2] == "boxes.txt":
                return self._file(session.folder / "boxes.txt", "text/plain; charset=utf-8", f"{stem}_boxes.txt")
            if parts[2] == "tracked.mp4":
                return self._file(session.folder / "tracked.mp4", "video/mp4", f"{stem}_tracked.mp4")
        return self._error(404, "not found")


class AppServer:
    """The app's HTTP server; ``url`` holds the address with the access token."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, workdir: str | Path | None = None,
                 threads: int | None = None):
        self._own_workdir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="dastsiam-app-")) if workdir is None else Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.state = AppState(self.workdir, threads)
        self.token = secrets.token_urlsafe(16)
        allowed = {"127.0.0.1", "localhost", "::1", host.lower()}
        handler = type("BoundHandler", (Handler,), {"state": self.state, "token": self.token,
                                                    "allowed_hosts": allowed})
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise DastsiamError(f"--host {host} --port {port}: cannot listen ({exc.strerror or exc})") from None
        self.httpd.daemon_threads = True
        self.host, self.port = host, self.httpd.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/?token={self.token}"

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
          threads: int | None = None, open_browser: bool = False) -> None:
    """Run the app until Ctrl-C / SIGTERM, printing its address."""
    import sys

    server = AppServer(host, port, workdir, threads)
    print(f"dastsiam app: open {server.url}  (Ctrl-C stops it)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"dastsiam app: warning: listening on {host}: other machines can reach it (with the token)",
              file=sys.stderr, flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    server.serve_forever()
