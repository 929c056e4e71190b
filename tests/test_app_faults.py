"""Issue 20's web-app bugs and limits, each through a real `dastsiam app` process over HTTP (or its command line).

Every app started here writes its stderr to a file that is checked at the end: no case may print a traceback.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
VIDEO = REPO / "assets" / "bag.mp4"
BOX = [312.64, 146.89, 105.13, 95.41]  # assets/bag_init_box.txt


class App:
    """A running `dastsiam app` (stdout: the address line; stderr: a file)."""

    def __init__(self, tmp_path: Path, *args, preexec_fn=None, env=None):
        self.stderr_path = tmp_path / f"app-stderr-{time.monotonic_ns()}.txt"
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "dastsiam.cli.main", "app", "--port", "0",
                                      "--threads", "1", *map(str, args)], stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, preexec_fn=preexec_fn, env={**os.environ, **(env or {})})
        line = self.proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", line)
        assert match, (line, self.stderr_path.read_text())
        self.port, self.token = int(match.group(1)), match.group(2)

    def request(self, method: str, path: str, body=None, headers=None, token=True, timeout=60):
        """(status, decoded JSON or raw bytes, response headers)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            all_headers = {"X-Token": self.token} if token else {}
            all_headers.update(headers or {})
            if isinstance(body, dict):
                body = json.dumps(body).encode()
                all_headers.setdefault("Content-Type", "application/json")
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
            kind = response.getheader("Content-Type") or ""
            return response.status, json.loads(data) if kind.startswith("application/json") else data, response
        finally:
            connection.close()

    def open(self, path) -> dict:
        status, info, _ = self.request("POST", "/api/open", {"path": str(path)})
        assert status == 200, info
        return info

    def track(self, sid: str, box=BOX, model=None, until=("done",), timeout=240) -> dict:
        status, reply, _ = self.request("POST", f"/api/track/{sid}", {"box": list(box), "model": model})
        assert status == 200, reply
        return self.wait(sid, until, timeout)

    def wait(self, sid: str, until=("done",), timeout=240, done_at_least=0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.request("GET", f"/api/status/{sid}")[1]
            if status["state"] in until and status["done"] >= done_at_least:
                return status
            assert status["state"] != "error", status
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {until}: {status}")

    def stop(self, signum=signal.SIGTERM, timeout=60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        return self.proc.returncode

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@pytest.fixture()
def start_app(tmp_path):
    """Start apps; at the end stop them and check none printed a traceback."""
    apps = []

    def start(*args, **kwargs) -> App:
        app = App(tmp_path, *args, **kwargs)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()
        text = app.stderr_text()
        assert "Traceback" not in text and "terminate called" not in text, text


def _frames_of_bag(count: int, size=None) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VIDEO))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame if size is None else cv2.resize(frame, size))
    return frames


@pytest.fixture(scope="module")
def long_folder(tmp_path_factory) -> Path:
    """A 588-frame folder: the sample video forwards, backwards, forwards (the target moves continuously)."""
    folder = tmp_path_factory.mktemp("long") / "frames"
    folder.mkdir()
    frames = _frames_of_bag(196)
    for i, frame in enumerate(frames + frames[::-1] + frames):
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return folder


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("short") / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (480, 360))
    for frame in _frames_of_bag(12):
        writer.write(frame)
    writer.release()
    return path


def _decodable_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------- B1: a stop during a track keeps the video
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 128 + signal.SIGTERM)])
def test_app_stopped_while_tracking_keeps_a_playable_video(start_app, tmp_path, long_folder, signum, code):
    """Ctrl-C/SIGTERM while a video was tracked aborted the app (C++ terminate) and left a tracked.mp4 without
    its index ("moov atom not found"), though it said the results were kept."""
    workdir = tmp_path / "work"
    app = start_app("--workdir", workdir)
    sid = app.open(long_folder)["id"]
    status, reply, _ = app.request("POST", f"/api/track/{sid}", {"box": BOX})
    assert status == 200, reply
    running = app.wait(sid, ("running", "done"), done_at_least=10)
    assert running["state"] == "running", "the track ended before the stop: make the folder longer"
    assert app.stop(signum) == code
    assert "results written so far are kept" in app.stderr_text()
    lines = (workdir / sid / "boxes.txt").read_text().splitlines()
    assert 10 <= len(lines) < 588
    assert _decodable_frames(workdir / sid / "tracked.mp4") == len(lines)


# ---------------------------------------------------------------- B3: a FIFO
def test_app_refuses_a_fifo_and_later_opens_still_work(start_app, tmp_path):
    """Opening a FIFO never answered and wedged every later open (OpenCV's capture lock)."""
    fifo = tmp_path / "fifo.mp4"
    os.mkfifo(fifo)
    app = start_app()
    status, reply, _ = app.request("POST", "/api/open", {"path": str(fifo)}, timeout=20)
    assert status == 400 and "is a FIFO, not a video file" in reply["error"], reply
    status, reply, _ = app.request("POST", "/api/open", {"path": "/dev/zero"}, timeout=20)
    assert status == 400 and "device" in reply["error"], reply
    assert app.open(VIDEO)["frames"] == 196


# ---------------------------------------------------------------- B4: non-ASCII tokens
def test_app_non_ascii_token_gets_403_not_a_traceback(start_app):
    """A non-ASCII token made secrets.compare_digest raise: traceback, dropped connection, from any web page."""
    app = start_app()
    for path, headers in (("/api/models?token=%E2%82%AC", {}), ("/?token=%C3%A9", {}),
                          ("/api/models", {"X-Token": "\u00e9t\u00e9"})):
        status, reply, _ = app.request("GET", path, headers=headers, token=False, timeout=20)
        assert status == 403, (path, reply)
    # raw UTF-8 bytes in the header (what curl sends)
    with socket.create_connection(("127.0.0.1", app.port), timeout=20) as raw:
        raw.sendall(b"GET /api/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Token: \xe2\x82\xac\r\nConnection: close\r\n\r\n")
        assert raw.recv(64).startswith(b"HTTP/1.0 403"), "no reply"
    assert app.request("GET", "/api/models")[0] == 200


# ---------------------------------------------------------------- B5: concurrent truncated JPEGs
def test_app_concurrent_tracks_of_truncated_jpegs_keep_stderr(start_app, tmp_path):
    """The libjpeg-silencing redirect of descriptor 2 raced between tracking threads: the app's stderr stayed
    /dev/null for good, hiding every later error."""
    folders = []
    frames = _frames_of_bag(120, size=(160, 120))
    for n in range(3):
        folder = tmp_path / f"trunc{n}"
        folder.mkdir()
        for i, frame in enumerate(frames):
            data = cv2.imencode(".jpg", frame)[1].tobytes()
            (folder / f"{i:04d}.jpg").write_bytes(data[: len(data) * 8 // 10])
        folders.append(folder)
    app = start_app()
    fd2 = Path(f"/proc/{app.proc.pid}/fd/2")
    assert os.readlink(fd2) == str(app.stderr_path)
    box = [40, 40, 30, 30]
    for _round in range(2):
        sids = [app.open(folder)["id"] for folder in folders]
        for sid in sids:
            assert app.request("POST", f"/api/track/{sid}", {"box": box})[0] == 200
        for sid in sids:
            app.wait(sid)
        assert os.readlink(fd2) == str(app.stderr_path), "the app's stderr was left redirected"
    assert "truncated JPEG" in app.stderr_text()  # the warnings themselves still reach the terminal


# ---------------------------------------------------------------- B6: names outside Latin-1, quotes
def test_app_names_outside_latin1_upload_and_download(start_app, tmp_path, short_clip):
    """The page could not upload such a name (a header must be Latin-1) and downloads of such a video sent a
    corrupt reply (a 200 header block followed by a 400 one); a quote was not escaped in Content-Disposition."""
    app = start_app()
    name = '视频 "mine".avi'
    local = tmp_path / name
    shutil.copy(short_clip, local)
    sid = app.open(local)["id"]
    app.track(sid)
    for what, suffix in (("boxes.txt", "_boxes.txt"), ("tracked.mp4", "_tracked.mp4")):
        status, body, response = app.request("GET", f"/api/download/{sid}/{what}")
        assert status == 200 and len(body) == int(response.getheader("Content-Length")) > 0
        disposition = response.getheader("Content-Disposition")
        stem = '视频 "mine"'
        assert f"filename*=UTF-8''{urllib.parse.quote(stem + suffix, safe='')}" in disposition, disposition
        assert re.search(r'filename="[^"]*"', disposition), disposition
    # upload: the page sends the name percent-encoded
    status, info, _ = app.request("POST", "/api/upload", short_clip.read_bytes(),
                                  {"X-Filename": urllib.parse.quote("видео 🎥.avi")})
    assert status == 200 and info["name"] == "видео 🎥.avi", info
    # curl-style raw UTF-8 bytes in the header are read as UTF-8 too
    with socket.create_connection(("127.0.0.1", app.port), timeout=60) as raw:
        body = short_clip.read_bytes()
        raw.sendall(b"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Token: " + app.token.encode() +
                    b"\r\nX-Filename: \xe8\xa7\x86\xe9\xa2\x91.avi\r\nContent-Length: " + str(len(body)).encode() +
                    b"\r\nConnection: close\r\n\r\n" + body)
        reply = b""
        while chunk := raw.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.0 200"), reply[:200]
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["name"] == "视频.avi"


# ---------------------------------------------------------------- B7: OS errors, failed and partial uploads
def test_app_os_errors_are_replies_and_failed_uploads_leave_nothing(start_app, tmp_path, short_clip):
    """~nosuchuser, a 5000-character name, a client that hangs up: tracebacks and no reply; failed and
    partial uploads stayed on disk until exit."""
    workdir = tmp_path / "work"
    app = start_app("--workdir", workdir)
    status, reply, _ = app.request("POST", "/api/open", {"path": "~nosuchuser_dastsiam/x.mp4"})
    assert status == 400 and "no such user" in reply["error"], reply
    status, reply, _ = app.request("POST", "/api/open", {"path": "/tmp/" + "a" * 5000 + ".mp4"})
    assert status == 400 and "File name too long" in reply["error"], reply
    with socket.create_connection(("127.0.0.1", app.port), timeout=20) as raw:  # read until EOF: a hang
        raw.sendall(b"POST /api/open HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Token: " + app.token.encode() +
                    b"\r\nContent-Length: -1\r\n\r\n{}")
        assert raw.recv(64).startswith(b"HTTP/1.0 400")
    # a long upload name is stored under a short one
    status, info, _ = app.request("POST", "/api/upload", short_clip.read_bytes(), {"X-Filename": "b" * 5000 + ".avi"})
    assert status == 200 and info["frames"] == 12 and info["name"].endswith(".avi"), info
    kept = _files_under(workdir)  # that upload (--workdir keeps uploads and results)
    # not a video: refused, and deleted
    status, reply, _ = app.request("POST", "/api/upload", b"just some text\n" * 100, {"X-Filename": "notes.mp4"})
    assert status == 400 and reply["error"].startswith("notes.mp4: "), reply
    # a partial upload (the client hangs up half-way), and one that hangs up before the reply
    for sent in (1 << 20, 0):
        with socket.create_connection(("127.0.0.1", app.port), timeout=30) as raw:
            raw.sendall(b"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Token: " + app.token.encode() +
                        b"\r\nX-Filename: part.mp4\r\nContent-Length: 5000000\r\n\r\n" + b"\0" * sent)
    time.sleep(1.0)
    _wait_for(lambda: _files_under(workdir) == kept, 20, f"the failed uploads to be deleted: {_files_under(workdir)}")
    assert app.request("GET", "/api/models")[0] == 200


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _file_size_limit(limit: int):
    def apply():
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # Python ignores SIGXFSZ: writes fail EFBIG
    return apply


def test_app_upload_onto_a_full_disk_is_a_reply_and_leaves_nothing(start_app, tmp_path, short_clip):
    """ENOSPC during an upload: traceback, no reply, and the partial file kept the disk full (a file size
    limit stands in for the full disk: the write fails the same way, with EFBIG)."""
    workdir = tmp_path / "work"
    app = start_app("--workdir", workdir, preexec_fn=_file_size_limit(64 << 10))
    assert short_clip.stat().st_size > 64 << 10
    status, reply, _ = app.request("POST", "/api/upload", short_clip.read_bytes(), {"X-Filename": "clip.avi"})
    assert status == 400 and "clip.avi: cannot store it (File too large)" in reply["error"], reply
    assert str(workdir) not in reply["error"]
    assert not _files_under(workdir)


# ---------------------------------------------------------------- B8: bad --workdir, failed starts
def _app_cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dastsiam.cli.main", "app", *map(str, args)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_app_bad_workdir_and_failed_starts_are_one_line_and_leave_nothing(tmp_path):
    existing = tmp_path / "a_file"
    existing.write_text("keep")
    for workdir, fragment in ((existing, "exists and is not a folder"), ("/dev/null/x", "cannot write there")):
        proc = _app_cli("--port", "0", "--workdir", workdir)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("dastsiam: error: --workdir "), proc.stderr
        assert fragment in lines[0]
    assert existing.read_text() == "keep"
    temp = tmp_path / "tmp"
    temp.mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        for host, port in (("127.0.0.1", busy.getsockname()[1]), ("no-such-host.invalid", 0)):
            proc = _app_cli("--host", host, "--port", port, env={"TMPDIR": str(temp)})
            assert proc.returncode == 2 and "cannot listen" in proc.stderr, proc.stderr
            assert "Traceback" not in proc.stderr
    assert list(temp.iterdir()) == [], "a failed start left a temporary folder"


# ---------------------------------------------------------------- B21: cancel
def test_app_cancel_keeps_the_frames_tracked_so_far(start_app, tmp_path, long_folder):
    workdir = tmp_path / "work"
    app = start_app("--workdir", workdir)
    sid = app.open(long_folder)["id"]
    assert app.request("POST", f"/api/track/{sid}", {"box": BOX})[0] == 200
    app.wait(sid, ("running",), done_at_least=5)
    status, reply, _ = app.request("POST", f"/api/cancel/{sid}")
    assert status == 200, reply
    final = app.wait(sid, ("cancelled",), timeout=60)
    assert 5 <= final["done"] < 588 and final["total"] == 588
    lines = (workdir / sid / "boxes.txt").read_text().splitlines()
    assert len(lines) == final["done"]
    assert _decodable_frames(workdir / sid / "tracked.mp4") == final["done"]
    result = app.request("GET", f"/api/result/{sid}")[1]
    assert len(result["boxes"]) == len(result["scores"]) == final["done"]
    assert app.request("POST", f"/api/track/{sid}", {"box": BOX})[0] == 200  # and it can be tracked again
    assert app.wait(sid, ("running", "done"), done_at_least=3)["run"] == final["run"] + 1


# ---------------------------------------------------------------- B22: --host 0.0.0.0
def test_app_on_every_interface_serves_other_machines_with_the_token(start_app):
    """The warning said other machines could connect (with the token), but their Host header (this machine's
    address or name) was refused with 403."""
    app = start_app("--host", "0.0.0.0")
    remote = {"Host": f"192.0.2.10:{app.port}"}
    status, reply, _ = app.request("GET", "/api/models", headers=remote)
    assert status == 200 and reply["models"][0] == "nano", reply
    assert app.request("GET", f"/?token={app.token}", headers=remote, token=False)[0] == 200
    assert app.request("GET", "/api/models", headers=remote, token=False)[0] == 403
    assert app.request("GET", "/api/models", headers={**remote, "X-Token": "wrong"}, token=False)[0] == 403
    _wait_for(lambda: "other machines can open http://" in app.stderr_text(), 10, "the warning")
    assert f":{app.port}/?token={app.token}" in app.stderr_text()


# ---------------------------------------------------------------- B23: frame 0 not written
def test_app_open_fails_when_the_first_frame_cannot_be_written(start_app, tmp_path):
    """On a full disk `open` said yes although frame 0 was not written, so the page had nothing to draw on."""
    app = start_app("--workdir", tmp_path / "work", preexec_fn=_file_size_limit(4096))
    status, reply, _ = app.request("POST", "/api/open", {"path": str(VIDEO)})
    assert status == 400 and "cannot write the first frame" in reply["error"], reply
    assert not _files_under(tmp_path / "work")


# ---------------------------------------------------------------- limits
def test_app_closes_idle_connections(start_app):
    """300 idle connections held 306 threads: idle connections are now closed after --idle-timeout."""
    app = start_app("--idle-timeout", "1")
    sockets = [socket.create_connection(("127.0.0.1", app.port), timeout=10) for _ in range(5)]
    try:
        time.sleep(2.5)
        for s in sockets:
            assert s.recv(1) == b"", "an idle connection is still open"
    finally:
        for s in sockets:
            s.close()
    assert app.request("GET", "/api/models")[0] == 200


def test_app_caps_the_number_and_size_of_uploads(start_app, tmp_path, short_clip):
    size_mb = short_clip.stat().st_size / (1 << 20)
    app = start_app("--workdir", tmp_path / "work", "--max-uploads", 2, "--max-upload-mb", f"{size_mb * 2.5:.3f}")
    body = short_clip.read_bytes()
    ids = []
    for n in range(2):
        status, info, _ = app.request("POST", "/api/upload", body, {"X-Filename": f"c{n}.avi"})
        assert status == 200, info
        ids.append(info["id"])
    status, reply, _ = app.request("POST", "/api/upload", body, {"X-Filename": "c2.avi"})
    assert status == 413 and "--max-uploads" in reply["error"], reply
    assert app.request("POST", f"/api/close/{ids[0]}")[0] == 200  # the page closes the video it leaves
    status, info, _ = app.request("POST", "/api/upload", body, {"X-Filename": "c3.avi"})
    assert status == 200, info
    assert app.request("POST", f"/api/close/{ids[1]}")[0] == 200
    status, reply, _ = app.request("POST", "/api/upload", body * 2, {"X-Filename": "big.avi"})
    assert status == 413 and "--max-upload-mb" in reply["error"], reply


def test_app_playback_frames_are_small_and_freed_on_close(start_app, tmp_path):
    """Playback frames took 121 KB per 720p frame (10 min of 720p30: 2.2 GB in the temp folder): they are now
    stored at most 640x480 (frame 0 stays full size to draw the box on) and deleted when the video is closed."""
    folder = tmp_path / "hd"
    folder.mkdir()
    for i, frame in enumerate(_frames_of_bag(20, size=(1280, 720))):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    workdir = tmp_path / "work"
    app = start_app("--workdir", workdir)
    info = app.open(folder)
    assert (info["width"], info["height"]) == (1280, 720)
    app.track(info["id"], box=[624, 293, 210, 190])
    frames = app.request("GET", f"/api/frame/{info['id']}/0.jpg")[1]
    assert cv2.imdecode(np.frombuffer(frames, np.uint8), cv2.IMREAD_COLOR).shape == (720, 1280, 3)
    sizes = []
    for i in range(1, 20):
        status, data, _ = app.request("GET", f"/api/frame/{info['id']}/{i}.jpg")
        assert status == 200
        assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR).shape == (360, 640, 3)
        sizes.append(len(data))
    assert np.mean(sizes) < 40_000, sizes
    assert app.request("POST", f"/api/close/{info['id']}")[0] == 200
    assert app.request("GET", f"/api/status/{info['id']}")[0] == 404
    _wait_for(lambda: not (workdir / info["id"] / "frames").exists(), 20, "the playback frames to be deleted")
    assert (workdir / info["id"] / "boxes.txt").is_file()  # --workdir keeps the results
