"""`dastsiam app` in a real headless browser (Debian's chromium + chromedriver, driven by selenium): open or
upload a video, drag the box on the first frame, track (progress bar, live preview, cancel), watch the result
play, scrub through it with its score plot, redraw the box or change the model and track again, download.

Screenshots of each step are saved under the test run's base temporary folder in ``app-screenshots/`` (or in
``$DASTSIAM_SCREENSHOTS``); each is named in the log (``screenshot: PATH``) and listed at the end of the run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
VIDEO = REPO / "assets" / "bag.mp4"
TARGET = (312.64, 146.89, 105.13, 95.41)  # assets/bag_init_box.txt
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A running `dastsiam app` on a free port: (url with token, base, token, workdir); its stderr must hold no
    traceback when the module is done."""
    workdir = tmp_path_factory.mktemp("appwork")
    stderr_path = workdir.parent / f"{workdir.name}-stderr.txt"
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "dastsiam.cli.main", "app", "--port", "0", "--threads", "1",
                                 "--workdir", str(workdir)], stdout=subprocess.PIPE, stderr=stderr, text=True)
    line = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
    assert match, (line, stderr_path.read_text())
    yield match.group(0), match.group(1), match.group(2), workdir
    proc.terminate()
    proc.wait(timeout=60)
    assert "Traceback" not in stderr_path.read_text(), stderr_path.read_text()


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    """``shot(driver, name)`` saves a screenshot and names it in the log."""
    folder = Path(os.environ.get("DASTSIAM_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "app-screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def save(driver, name: str) -> Path:
        path = folder / f"{name}.png"
        assert driver.save_screenshot(str(path)), path
        print(f"screenshot: {path}")
        return path
    return save


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """The first 24 frames of the sample video as an upload-sized clip."""
    path = tmp_path_factory.mktemp("clip") / "my clip.avi"
    source = cv2.VideoCapture(str(VIDEO))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (480, 360))
    for _ in range(24):
        ok, frame = source.read()
        assert ok
        writer.write(frame)
    writer.release()
    return path


def _get(url, token=None, host=None):
    request = urllib.request.Request(url, headers={k: v for k, v in (("X-Token", token), ("Host", host)) if v})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_api_needs_the_token_and_a_local_host(app):
    url, base, token, _ = app
    assert _get(base + "/")[0] == 403
    assert _get(base + "/api/models")[0] == 403
    assert _get(base + "/api/models", token="wrong")[0] == 403
    assert _get(base + "/api/models", token=token, host="attacker.example:80")[0] == 403  # DNS rebinding
    status, body = _get(base + "/api/models", token=token)
    assert status == 200 and json.loads(body)["models"][0] == "nano"
    assert _get(url)[0] == 200


def test_app_binds_to_localhost_by_default():
    from dastsiam.app.server import AppServer

    server = AppServer(port=0)
    try:
        assert server.httpd.server_address[0] == "127.0.0.1"
        assert server.url.startswith(f"http://127.0.0.1:{server.port}/?token=")
    finally:
        server.close()


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    import tempfile

    profile = tempfile.mkdtemp(prefix="dastsiam-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1200,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _wait(predicate, timeout=120.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _drag_box(driver, box):
    """Drag on the canvas from the box's top-left to its bottom-right corner (image pixels -> CSS pixels)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.ID, "view")
    rect = driver.execute_script("const r = arguments[0].getBoundingClientRect(); "
                                 "return [r.width, r.height, arguments[0].width, arguments[0].height];", canvas)
    css_w, css_h, img_w, img_h = rect
    sx, sy = css_w / img_w, css_h / img_h
    x0, y0 = box[0] * sx - css_w / 2, box[1] * sy - css_h / 2
    x1, y1 = (box[0] + box[2]) * sx - css_w / 2, (box[1] + box[3]) * sy - css_h / 2
    (ActionChains(driver).move_to_element_with_offset(canvas, int(round(x0)), int(round(y0))).click_and_hold()
     .move_to_element_with_offset(canvas, int(round((x0 + x1) / 2)), int(round((y0 + y1) / 2)))
     .move_to_element_with_offset(canvas, int(round(x1)), int(round(y1))).release().perform())
    return max(1.0 / sx, 1.0 / sy)  # one CSS pixel in image pixels


def test_whole_flow_in_a_headless_browser(app, browser, clip, shot):
    from selenium.webdriver.common.by import By

    url, base, token, workdir = app
    driver = browser
    driver.get(url)
    message = lambda: driver.find_element(By.ID, "message")  # noqa: E731
    _wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#model option"), 60, "the model list")
    assert driver.find_element(By.ID, "model").get_attribute("value") == "nano"

    # a path that does not exist: the page says so
    driver.find_element(By.ID, "path").send_keys(str(clip.parent / "nope.mp4"))
    driver.find_element(By.ID, "open").click()
    _wait(lambda: "error" in message().get_attribute("class"), 30, "the error")
    assert "no such video file" in message().text

    # upload the clip (the file input, as a user picking it)
    driver.find_element(By.ID, "upload").send_keys(str(clip))
    _wait(lambda: "my clip.avi" in driver.find_element(By.ID, "videoinfo").text, 60, "the uploaded video")
    assert "480x360" in driver.find_element(By.ID, "videoinfo").text
    assert driver.find_element(By.ID, "track").get_attribute("disabled")
    view = driver.find_element(By.ID, "view")
    assert view.get_attribute("data-label") == "frame 1"  # frames count from 1 on the page

    # drag the box on the first frame
    tolerance = _drag_box(driver, TARGET) + 0.6
    drawn = [float(v) for v in driver.find_element(By.ID, "box").text.split(",")]
    np.testing.assert_allclose(drawn, TARGET, atol=tolerance)
    assert not driver.find_element(By.ID, "track").get_attribute("disabled")
    shot(driver, "1-box-drawn")

    # track, then watch it play with its score
    driver.find_element(By.ID, "track").click()
    _wait(lambda: driver.find_element(By.ID, "result").get_attribute("data-ready") == "1", 180, "tracking")
    info = driver.find_element(By.ID, "playinfo")
    _wait(lambda: info.get_attribute("data-frame") == "24", 60, "the playback to reach the last frame")
    assert re.fullmatch(r"frame 24 / 24\s+score \d\.\d{3}", info.text), info.text
    assert re.fullmatch(r"frame 24 / 24  score \d\.\d{2}", view.get_attribute("data-label")), view.get_attribute("data-label")
    shot(driver, "2-result-played")
    assert 0.0 <= float(info.get_attribute("data-score")) <= 1.0
    assert "Tracked 24 frames" in message().text
    driver.find_element(By.ID, "play").click()  # plays again from the start
    _wait(lambda: int(info.get_attribute("data-frame")) < 24, 10, "a replay")

    # downloads: boxes.txt (one line per frame, the drawn box first) and a playable annotated video
    status, boxes = _get(driver.find_element(By.ID, "dl-boxes").get_attribute("href"))
    assert status == 200
    rows = np.array([[float(v) for v in line.split(",")] for line in boxes.decode().splitlines()])
    assert rows.shape == (24, 4)
    np.testing.assert_allclose(rows[0], drawn, atol=1e-3)
    status, video = _get(driver.find_element(By.ID, "dl-video").get_attribute("href"))
    assert status == 200 and len(video) > 1000
    saved = workdir / "downloaded.mp4"
    saved.write_bytes(video)
    capture = cv2.VideoCapture(str(saved))
    decoded = 0
    while capture.read()[0]:
        decoded += 1
    assert decoded == 24
    assert_plays(play_in_browser(driver, driver.find_element(By.ID, "dl-video").get_attribute("href")))

    # the tracked boxes follow the target (the VOT ground truth of `bag` beside the data, when present)
    from dastsiam.boxes import iou

    data = Path(os.environ.get("DASTSIAM_DATA", REPO.parent / "shared" / "data")) / "VOT" / "bag" / "groundtruth.txt"
    if data.is_file():
        from dastsiam.tracking import area_preserving_box

        polygons = np.loadtxt(data, delimiter=",")[:24]
        gt = np.array([area_preserving_box(p) for p in polygons])
        assert iou(rows, gt).mean() > 0.6


def test_open_from_disk_in_the_browser(app, browser):
    from selenium.webdriver.common.by import By

    url, *_ = app
    browser.get(url)
    field = _wait(lambda: browser.find_element(By.ID, "path"), 30, "the page")
    field.clear()
    field.send_keys(str(VIDEO))
    browser.find_element(By.ID, "open").click()
    _wait(lambda: "bag.mp4: 480x360, 196 frames" in browser.find_element(By.ID, "videoinfo").text, 60, "the video")
    width = browser.execute_script("return document.getElementById('view').width")
    assert width == 480


@pytest.fixture(scope="module")
def long_folder(tmp_path_factory) -> Path:
    """392 frames: the sample video forwards then backwards (long enough to watch the progress and cancel)."""
    folder = tmp_path_factory.mktemp("long") / "frames"
    folder.mkdir()
    source = cv2.VideoCapture(str(VIDEO))
    frames = []
    while (frame := source.read()[1]) is not None:
        frames.append(frame)
    for i, frame in enumerate(frames + frames[::-1]):
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return folder


def _open_path(driver, path):
    from selenium.webdriver.common.by import By

    field = _wait(lambda: driver.find_element(By.ID, "path"), 30, "the page")
    _wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#model option"), 60, "the model list")
    field.clear()
    field.send_keys(str(path))
    driver.find_element(By.ID, "open").click()
    _wait(lambda: f"{Path(path).name}: " in driver.find_element(By.ID, "videoinfo").text, 60, "the video")


def _boxes(href) -> np.ndarray:
    status, body = _get(href)
    assert status == 200
    return np.array([[float(v) for v in line.split(",")] for line in body.decode().splitlines()]).reshape(-1, 4)


def test_progress_live_preview_and_cancel_in_the_browser(app, browser, long_folder, shot):
    """The progress bar moves with fps and time left, the canvas previews tracked frames as they come, and
    Cancel stops the run keeping what was tracked (downloads, scrubber and plot cover those frames)."""
    from selenium.webdriver.common.by import By

    url, *_ = app
    driver = browser
    driver.get(url)
    _open_path(driver, long_folder)
    _drag_box(driver, TARGET)
    driver.find_element(By.ID, "track").click()
    progress, text, view = (driver.find_element(By.ID, i) for i in ("progress", "progresstext", "view"))
    _wait(lambda: float(progress.get_attribute("value") or 0) >= 8 and int(view.get_attribute("data-frame")) > 1,
          120, "progress and a previewed frame")
    assert view.get_attribute("data-mode") == "running"
    assert float(progress.get_attribute("max")) == 392
    assert re.fullmatch(r"\d+ / 392 frames · \d+\.\d fps · \d+ s left|\d+ / 392 frames · \d+\.\d fps · \d+ min \d\d s left",
                        text.text), text.text
    assert re.fullmatch(r"frame \d+ / 392  score \d\.\d\d", view.get_attribute("data-label")), view.get_attribute("data-label")
    assert int(driver.find_element(By.ID, "plot").get_attribute("data-points")) >= 8  # the plot grows live
    shot(driver, "3-tracking-progress-and-preview")
    driver.find_element(By.ID, "cancel").click()
    result = driver.find_element(By.ID, "result")
    _wait(lambda: result.get_attribute("data-ready") == "1", 60, "the cancelled run's result")
    assert result.get_attribute("data-state") == "cancelled"
    message = driver.find_element(By.ID, "message").text
    tracked = int(re.search(r"Cancelled: (\d+) of 392 frames tracked", message).group(1))
    assert 8 <= tracked < 392
    assert driver.find_element(By.ID, "scrubber").get_attribute("max") == str(tracked)
    assert driver.find_element(By.ID, "plot").get_attribute("data-points") == str(tracked)
    assert len(_boxes(driver.find_element(By.ID, "dl-boxes").get_attribute("href"))) == tracked
    shot(driver, "4-cancelled")


def test_scrubber_score_plot_redraw_and_retrack_with_another_model(app, browser, clip, shot):
    """After a run: the scrubber and a click on the score plot go to a frame (numbered from 1); the plot is
    the run's scores; "Redraw" lets one drag a new box and pick another model and track again, no re-upload."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select

    url, base, token, workdir = app
    driver = browser
    driver.get(url)
    _wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#model option"), 60, "the model list")
    driver.find_element(By.ID, "upload").send_keys(str(clip))
    _wait(lambda: "my clip.avi" in driver.find_element(By.ID, "videoinfo").text, 60, "the uploaded video")
    uploads = sorted(workdir.rglob("upload-*"))
    _drag_box(driver, TARGET)
    driver.find_element(By.ID, "track").click()
    result = driver.find_element(By.ID, "result")
    _wait(lambda: result.get_attribute("data-ready") == "1", 180, "tracking")
    info, view, plot = (driver.find_element(By.ID, i) for i in ("playinfo", "view", "plot"))
    _wait(lambda: info.get_attribute("data-frame") == "24", 60, "the playback's end")

    # the scrubber, by keyboard: Home = frame 1, then 9 steps right = frame 10
    scrubber = driver.find_element(By.ID, "scrubber")
    scrubber.send_keys(Keys.HOME)
    _wait(lambda: info.get_attribute("data-frame") == "1", 10, "frame 1")
    assert info.text.startswith("frame 1 / 24")
    for _ in range(9):
        scrubber.send_keys(Keys.ARROW_RIGHT)
    _wait(lambda: info.get_attribute("data-frame") == "10", 10, "frame 10")
    assert view.get_attribute("data-label").startswith("frame 10 / 24  score ")
    shot(driver, "5-scrubbed-to-frame-10")

    # the plot draws the run's scores: its line passes through each frame's (x, y)
    video_id = driver.execute_script("return video.id")
    status, body = _get(f"{base}/api/result/{video_id}", token=token)
    scores = json.loads(body)["scores"]
    assert plot.get_attribute("data-points") == "24"
    hits = driver.execute_script("""
        const [scores, L, R, T, B] = arguments, c = document.getElementById('plot'), g = c.getContext('2d');
        return scores.map((s, i) => {
          const x = Math.round(L + (c.width - L - R) * i / (scores.length - 1));
          const y = Math.round(c.height - B - (c.height - T - B) * Math.min(Math.max(s, 0), 1));
          const d = g.getImageData(x - 2, y - 2, 5, 5).data;
          for (let k = 0; k < d.length; k += 4) if (d[k + 2] > 150 && d[k] < 80 && d[k + 3] > 100) return true;
          return false;
        });""", scores, 34, 8, 8, 20)
    assert all(hits), hits
    # a click on the plot goes to that frame (frame 5: a quarter of the x axis... 4/23 of it)
    from selenium.webdriver.common.action_chains import ActionChains

    width = plot.rect["width"]
    x_css = (34 + (960 - 34 - 8) * 4 / 23) * width / 960 - width / 2
    ActionChains(driver).move_to_element_with_offset(plot, int(round(x_css)), 0).click().perform()
    _wait(lambda: info.get_attribute("data-frame") == "5", 10, "frame 5 from the plot")

    # redraw the box, pick another model, track again: the same upload, a second run
    driver.find_element(By.ID, "redraw").click()
    assert view.get_attribute("data-mode") == "pick" and view.get_attribute("data-label") == "frame 1"
    second = (TARGET[0] + 6, TARGET[1] + 4, TARGET[2] - 10, TARGET[3] - 8)
    tolerance = _drag_box(driver, second) + 0.6
    Select(driver.find_element(By.ID, "model")).select_by_value("nano-v3")
    shot(driver, "6-redrawn-box-other-model")
    driver.find_element(By.ID, "track").click()
    _wait(lambda: result.get_attribute("data-run") == "2" and result.get_attribute("data-ready") == "1", 180,
          "the second run")
    assert "with nano-v3" in driver.find_element(By.ID, "message").text
    status, body = _get(f"{base}/api/status/{video_id}", token=token)
    assert json.loads(body)["model"] == "nano-v3"
    rows = _boxes(driver.find_element(By.ID, "dl-boxes").get_attribute("href"))
    assert rows.shape == (24, 4)
    np.testing.assert_allclose(rows[0], second, atol=tolerance)
    assert sorted(workdir.rglob("upload-*")) == uploads  # no re-upload
    shot(driver, "7-second-run")


def test_bad_upload_shows_no_server_path(app, browser, tmp_path, shot):
    from selenium.webdriver.common.by import By

    url, base, token, workdir = app
    driver = browser
    driver.get(url)
    _wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#model option"), 60, "the model list")
    bad = tmp_path / "holiday.mp4"
    bad.write_text("this is not a video\n" * 50)
    driver.find_element(By.ID, "upload").send_keys(str(bad))
    message = driver.find_element(By.ID, "message")
    _wait(lambda: "error" in message.get_attribute("class"), 60, "the error")
    assert message.text.startswith("holiday.mp4: "), message.text
    for leak in (str(workdir), "upload-", str(tmp_path), "/tmp"):
        assert leak not in message.text, message.text
    shot(driver, "8-bad-upload")


def test_upload_of_a_name_outside_latin1_in_the_browser(app, browser, clip, tmp_path):
    """Chromium refused to send a header holding such a name: the page could not upload it at all."""
    from selenium.webdriver.common.by import By

    url, *_ = app
    named = tmp_path / "视频 №1.avi"
    shutil.copy(clip, named)
    browser.get(url)
    _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#model option"), 60, "the model list")
    browser.find_element(By.ID, "upload").send_keys(str(named))
    _wait(lambda: "视频 №1.avi: 480x360, 24 frames" in browser.find_element(By.ID, "videoinfo").text, 60,
          "the uploaded video")


# ------------------------------------------------ the annotated video plays in a browser's <video> (issue 18.3)
_PLAY = """
const done = arguments[arguments.length - 1];
const video = document.createElement('video');
video.muted = true;
const events = [];
['loadeddata', 'playing', 'timeupdate', 'ended', 'error'].forEach(e => video.addEventListener(e, () => events.push(e)));
document.body.appendChild(video);
video.src = arguments[0];
video.play().catch(e => events.push('rejected: ' + e.name));
const start = performance.now();
(function poll() {
  const finished = video.error || video.ended || (video.currentTime > 0.5 && video.readyState >= 2);
  if (finished || performance.now() - start > 20000) {
    done({readyState: video.readyState, currentTime: video.currentTime, duration: video.duration,
          error: video.error ? video.error.code : null, events: events});
    video.remove();
  } else {
    setTimeout(poll, 50);
  }
})();
"""


def play_in_browser(driver, src: str) -> dict:
    """Play ``src`` in a muted ``<video>`` on the current page; its state once it played 0.5 s, ended or failed."""
    driver.set_script_timeout(40)
    return driver.execute_async_script(_PLAY, src)


def assert_plays(state: dict) -> None:
    assert state["error"] is None, f"MEDIA_ERR {state['error']}: {state}"  # 4 = MEDIA_ERR_SRC_NOT_SUPPORTED
    assert state["readyState"] >= 2 and state["currentTime"] > 0.2 and "playing" in state["events"], state


@pytest.mark.parametrize("codec", ["auto", "vp9", "mp4v"])
def test_track_save_video_plays_in_the_browser(browser, tmp_path, codec):
    """``track --save-video`` writes H.264 by default (VP9 WebM on request): Chromium plays both; mp4v (MPEG-4
    Part 2, kept as an option) it refuses, which shows the check can fail."""
    pytest.importorskip("av")
    proc = subprocess.run([sys.executable, "-m", "dastsiam.cli.main", "track", str(VIDEO), "--box",
                           str(REPO / "assets" / "bag_init_box.txt"), "--out", str(tmp_path), "--save-video",
                           "--video-codec", codec, "--max-frames", "40", "--threads", "1", "--no-progress"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    video = tmp_path / ("tracked.webm" if codec == "vp9" else "tracked.mp4")
    page = tmp_path / "page.html"
    page.write_text("<!doctype html><html><body></body></html>")
    browser.get(page.as_uri())
    state = play_in_browser(browser, video.name)
    if codec == "mp4v":
        assert state["error"] == 4, state  # MEDIA_ERR_SRC_NOT_SUPPORTED: why mp4v is no longer the default
    else:
        assert_plays(state)
        assert abs(state["duration"] - 40 / 25.0) < 0.1, state  # bag.mp4 is 25 fps: 40 frames = 1.6 s
