"""`dastsiam app` in a real headless browser (Debian's chromium + chromedriver, driven by selenium): open or
upload a video, drag the box on the first frame, track, watch the result play with its score, download."""

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
    """A running `dastsiam app` on a free port: (url with token, base, token, workdir)."""
    workdir = tmp_path_factory.mktemp("appwork")
    proc = subprocess.Popen([sys.executable, "-m", "dastsiam.cli.main", "app", "--port", "0", "--threads", "1",
                             "--workdir", str(workdir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
    assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
    yield match.group(0), match.group(1), match.group(2), workdir
    proc.terminate()
    proc.wait(timeout=30)


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


def test_whole_flow_in_a_headless_browser(app, browser, clip):
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

    # drag the box on the first frame
    tolerance = _drag_box(driver, TARGET) + 0.6
    drawn = [float(v) for v in driver.find_element(By.ID, "box").text.split(",")]
    np.testing.assert_allclose(drawn, TARGET, atol=tolerance)
    assert not driver.find_element(By.ID, "track").get_attribute("disabled")

    # track, then watch it play with its score
    driver.find_element(By.ID, "track").click()
    _wait(lambda: driver.find_element(By.ID, "result").get_attribute("data-ready") == "1", 180, "tracking")
    info = driver.find_element(By.ID, "playinfo")
    _wait(lambda: info.get_attribute("data-frame") == "23", 60, "the playback to reach the last frame")
    assert re.fullmatch(r"frame 24 / 24\s+score \d\.\d{3}", info.text), info.text
    assert 0.0 <= float(info.get_attribute("data-score")) <= 1.0
    assert "Tracked 24 frames" in message().text
    driver.find_element(By.ID, "play").click()  # plays again from the start
    _wait(lambda: int(info.get_attribute("data-frame")) < 23, 10, "a replay")

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
