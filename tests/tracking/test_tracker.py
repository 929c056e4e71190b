"""The tracker: decoding through the whole pipeline, template memory and gate, SiamFC mode, robustness."""

import math

import cv2
import numpy as np
import pytest
import torch

from dastsiam.boxes import iou
from dastsiam.errors import InputError
from dastsiam.models.base import HeadOutput, SiameseModel
from dastsiam.models.geometry import OutputGeometry
from dastsiam.tracking import Tracker, TrackerConfig, preset
from dastsiam.tracking.crop import context_size




class FakeBoxModel(SiameseModel):
    """A head that always reports the box ``rel_box`` (crop pixels around the crop centre) with logit
    ``target_logit`` everywhere; records the template features it is asked to track with."""

    def __init__(self, rel_box=(-20.0, -10.0, 40.0, 30.0), target_logit=20.0, conf_logit=None, st=False):
        super().__init__()
        self.geometry = OutputGeometry(127, 255, 16, 16, offset_override=-1.0)
        self.rel_box = rel_box
        self.target_logit = target_logit
        self.conf_logit = conf_logit
        self.st = st
        self.templates, self.fused, self.tracked_with = [], [], []

    @property
    def has_st(self):
        return self.st

    def template(self, z):
        assert z.shape == (1, 3, 127, 127) and z.dtype == torch.float32
        f = torch.full((1, 4, 2, 2), float(len(self.templates) + 1))
        self.templates.append(f)
        return f

    def fuse(self, f_a, f_c, f_i):
        self.fused.append((f_a, f_c, f_i))
        return f_a + 10 * f_c + 100 * f_i

    def track(self, x, f_z):
        assert x.shape == (1, 3, 255, 255)
        self.tracked_with.append(f_z)
        s = self.geometry.score_size
        coords = self.geometry.offset + torch.arange(s, dtype=torch.float32) * 16 - 127.5
        ys, xs = torch.meshgrid(coords, coords, indexing="ij")
        x1, y1, x2, y2 = self.rel_box
        loc = torch.stack([xs - x1, ys - y1, x2 - xs, y2 - ys])[None]
        cls = torch.zeros(1, 2, s, s)
        cls[:, 1] = self.target_logit
        conf = None if self.conf_logit is None else torch.full((1, 1, s, s), float(self.conf_logit))
        return HeadOutput(cls, loc, conf)


FRAME = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)


def test_box_decodes_through_the_tracker():
    """lr = 1, no penalty, no window: the tracked box is exactly the head's box mapped to the image."""
    model = FakeBoxModel()
    tracker = Tracker(model, TrackerConfig(lr=1.0, penalty_k=0.0, window_influence=0.0))
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    box, score = tracker.track(FRAME)
    scale_z = 127 / context_size(40, 30, 0.5)
    cx, cy = 120 + 10 / scale_z, 95 + 10 / scale_z  # head box centre (10, 10) crop pixels off the centre
    w, h = 60 / scale_z, 40 / scale_z
    np.testing.assert_allclose(box, [cx - w / 2, cy - h / 2, w, h], rtol=1e-6)
    assert score == pytest.approx(1.0, abs=1e-6)


def test_size_smoothing_uses_penalty_times_score_times_lr():
    model = FakeBoxModel(target_logit=0.0)  # score 0.5 everywhere
    tracker = Tracker(model, TrackerConfig(lr=0.4, penalty_k=0.0, window_influence=0.0))
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    box, score = tracker.track(FRAME)
    scale_z = 127 / context_size(40, 30, 0.5)
    lr = 0.5 * 0.4
    assert score == pytest.approx(0.5)
    assert box[2] == pytest.approx((1 - lr) * 40 + lr * 60 / scale_z)
    assert box[3] == pytest.approx((1 - lr) * 30 + lr * 40 / scale_z)


def test_template_memory_and_gate():
    """f_i fixed, f_a = last ST output, f_c = newest template; update only above the threshold."""
    model = FakeBoxModel(st=True, target_logit=20.0)
    tracker = Tracker(model, TrackerConfig(update_threshold=0.9))
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    f_i = model.templates[0]
    tracker.track(FRAME)
    assert tracker.last.updated and len(model.templates) == 2
    f_a, f_c, f_i_seen = model.fused[0]
    assert f_a is f_i and f_c is model.templates[1] and f_i_seen is f_i
    first_fused = tracker.f_z
    tracker.track(FRAME)
    assert model.tracked_with[1] is first_fused  # the next frame tracks with f_z*
    f_a, f_c, f_i_seen = model.fused[1]
    assert f_a is first_fused and f_c is model.templates[2] and f_i_seen is f_i
    # low confidence: no update, memory kept
    model.target_logit = -5.0
    kept = tracker.f_z
    tracker.track(FRAME)
    assert not tracker.last.updated and tracker.f_z is kept and len(model.fused) == 2


def test_no_update_without_st_and_interval():
    model = FakeBoxModel(st=False)
    tracker = Tracker(model, TrackerConfig(update_threshold=0.1))
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    for _ in range(3):
        tracker.track(FRAME)
    assert len(model.templates) == 1 and not model.fused
    model = FakeBoxModel(st=True)
    tracker = Tracker(model, TrackerConfig(update_threshold=0.1, update_interval=2))
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    updated = []
    for _ in range(4):
        tracker.track(FRAME)
        updated.append(tracker.last.updated)
    assert updated == [False, True, False, True]  # frames 1..4: updates on even frame indices


@pytest.mark.parametrize("mode, expected_update", [("cls", False), ("conf", True), ("weighted", True)])
def test_gate_confidence_modes(mode, expected_update):
    # softmax(cls) = 0.5, sigmoid(conf) = 0.9: weighted (w = 0.5) = 0.7
    model = FakeBoxModel(st=True, target_logit=0.0, conf_logit=math.log(9.0))
    tracker = Tracker(model, TrackerConfig(update_threshold=0.6, gate_confidence=mode, confidence_weight=0.5))
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    _, score = tracker.track(FRAME)
    assert score == pytest.approx({"cls": 0.5, "conf": 0.9, "weighted": 0.7}[mode])
    assert tracker.last.gate == pytest.approx(score)
    assert tracker.last.updated is expected_update


@pytest.mark.parametrize("target_logit, conf_logit, gate, expected_update", [
    (math.log(3.0), math.log(9.0), 0.75 + 0.9, True),  # 1.65 > 1.18
    (0.0, math.log(1.5), 0.5 + 0.6, False),  # 1.10 < 1.18 (the average, 0.55, would have passed the old 0.5)
    (math.log(4.0), math.log(0.62 / 0.38), 0.8 + 0.62, True),  # 1.42
    (math.log(1.5), math.log(1.5), 0.6 + 0.6, True),  # 1.20, just above
    (math.log(1.4), math.log(1.4), 2 * 1.4 / 2.4, False),  # 1.1667, just below
])
def test_paper_sum_gate_in_the_siamrpn_preset(target_logit, conf_logit, gate, expected_update):
    """Sec. 3.1: softmax target probability + sigmoid confidence (weights 1, 1) compared with 1.18."""
    cfg = preset("siamrpn")
    assert (cfg.gate_confidence, cfg.gate_weights, cfg.update_threshold) == ("sum", (1.0, 1.0), 1.18)
    model = FakeBoxModel(st=True, target_logit=target_logit, conf_logit=conf_logit)
    tracker = Tracker(model, cfg)
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    _, score = tracker.track(FRAME)
    assert tracker.last.gate == pytest.approx(gate)
    assert score == pytest.approx(gate / 2)  # track() reports the 0..1 normalised value
    assert tracker.last.updated is expected_update


def test_sum_gate_weights_are_configurable():
    # 2 * 0.5 + 0.5 * 0.9 = 1.45 > 1.18; with weights (1, 1) it is 1.4, with (0.5, 0.5) 0.7
    model = FakeBoxModel(st=True, target_logit=0.0, conf_logit=math.log(9.0))
    for weights, gate in (((2.0, 0.5), 1.45), ((1.0, 1.0), 1.4), ((0.5, 0.5), 0.7)):
        tracker = Tracker(model, preset("siamrpn", gate_weights=weights))
        tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
        tracker.track(FRAME)
        assert tracker.last.gate == pytest.approx(gate) and tracker.last.updated is (gate > 1.18)


class FakeSiamFC(SiameseModel):
    """SiamFC-like head: a Gaussian response peak at cell ``peak`` for every scale, no box branch."""

    def __init__(self, peak=(8, 11)):
        super().__init__()
        self.geometry = OutputGeometry(127, 255, 8, 17, decoder="scale_pyramid")
        self.peak = peak
        self.batches = []

    def template(self, z):
        return torch.zeros(1, 1, 1, 1)

    def track(self, x, f_z):
        self.batches.append(x.shape[0])
        assert f_z.shape[0] == x.shape[0]
        r = torch.arange(17, dtype=torch.float32)
        g = torch.exp(-((r[:, None] - self.peak[0]) ** 2 + (r[None, :] - self.peak[1]) ** 2) / 2.0)
        return HeadOutput(cls=(10 * g - 5).expand(x.shape[0], 1, 17, 17).clone(), loc=None)


def test_siamfc_scale_pyramid_decoding():
    model = FakeSiamFC(peak=(8, 11))  # 3 cells right of the centre: 24 crop pixels
    tracker = Tracker(model, preset("siamfc", siamfc_window_influence=0.0))
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    tracker.track(FRAME)
    box, score = tracker.track(FRAME)
    assert model.batches[-1] == 3
    # equal peaks at all scales: the scale penalty picks scale 1, so the size is kept
    assert box[2] == pytest.approx(40.0) and box[3] == pytest.approx(30.0)
    s_x = context_size(40, 30, 0.5) * 255 / 127
    cx_after_two = 120 + 2 * 24 * s_x / 255
    # the peak lies between two upsampled pixels: +-0.5 / 16 cell = 0.25 crop pixels per frame
    assert box[0] + box[2] / 2 == pytest.approx(cx_after_two, abs=2 * 0.25 * s_x / 255 + 1e-6)
    assert box[1] + box[3] / 2 == pytest.approx(95.0, abs=0.5)
    assert score == pytest.approx(1 / (1 + math.exp(-5.0)), abs=0.02)
    # the gate is the raw response maximum: the peak cell's logit 10 * 1 - 5 = 5
    assert tracker.last.gate == pytest.approx(5.0)


def test_decoder_is_chosen_when_the_tracker_is_built():
    """The geometry picks the decoder once: the first frame already searches SiamFC's 3 scales (no probe of the
    head's output), and a box-branch decoder given a response-only head says so instead of switching modes."""
    from dastsiam.errors import ModelError
    from dastsiam.tracking.decoders import AnchorDecoder, LtrbDecoder, ScalePyramidDecoder

    model = FakeSiamFC()
    tracker = Tracker(model, preset("siamfc"))
    assert isinstance(tracker.decoder, ScalePyramidDecoder)
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    tracker.track(FRAME)
    assert model.batches == [3]
    assert isinstance(Tracker(FakeBoxModel()).decoder, LtrbDecoder)

    model.geometry = OutputGeometry(127, 255, 8, 17)  # no decoder named: the per-cell box branch is implied
    tracker = Tracker(model, preset("siamfc"))
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    with pytest.raises(ModelError, match="no box branch.*scale_pyramid"):
        tracker.track(FRAME)
    model.geometry = OutputGeometry(127, 255, 8, 17, anchor_ratios=(1.0,), anchor_scales=(8.0,))
    assert isinstance(Tracker(model).decoder, AnchorDecoder)
    model.geometry = OutputGeometry(127, 255, 8, 17, decoder="no-such-decoder")
    with pytest.raises(ModelError, match="no-such-decoder.*ltrb, anchors, scale_pyramid"):
        Tracker(model)


class FakeSiamFCWithST(FakeSiamFC):
    def __init__(self, height):
        super().__init__(peak=(8, 8))
        self.height = height
        self.fused = 0

    @property
    def has_st(self):
        return True

    def fuse(self, f_a, f_c, f_i):
        self.fused += 1
        return f_i

    def track(self, x, f_z):
        out = super().track(x, f_z)
        return HeadOutput(cls=out.cls - 5.0 + self.height, loc=None)  # peak logit = height


@pytest.mark.parametrize("height, expected_update", [(1.0, True), (0.37, True), (0.36, False), (-2.0, False)])
def test_siamfc_gate_thresholds_the_raw_response_maximum(height, expected_update):
    """Sec. 3.1: SiamFC's update threshold is set on the maximum of the response map (ours: 0.364)."""
    cfg = preset("siamfc")
    assert cfg.gate_confidence == "response_max" and cfg.update_threshold == pytest.approx(0.364)
    model = FakeSiamFCWithST(height)
    tracker = Tracker(model, cfg)
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    tracker.track(FRAME)
    tracker.track(FRAME)
    assert tracker.last.gate == pytest.approx(height)
    assert tracker.last.updated is expected_update and (model.fused > 0) is expected_update


def test_bad_boxes_and_frames():
    tracker = Tracker(FakeBoxModel())
    for box in [(10, 10, 0, 20), (10, 10, -3, 20), (10, 10, float("nan"), 20), (500, 10, 20, 20), (-50, 10, 20, 20),
                (1, 2, 3)]:
        with pytest.raises(InputError):
            tracker.init(FRAME, box)
    with pytest.raises(InputError, match="unsupported image shape"):
        tracker.init(np.zeros((50, 50, 2), np.uint8), (1, 1, 10, 10))
    with pytest.raises(InputError, match="uint8"):
        tracker.init(np.zeros((50, 50, 3), np.float32), (1, 1, 10, 10))
    tracker.init(FRAME, (100.0, 80.0, 40.0, 30.0))
    tracker.track(FRAME)
    with pytest.raises(InputError, match="frame 2: size 200x300 differs"):
        tracker.track(FRAME[:, :200])


def test_gray_and_bgra_frames_are_converted():
    gray = cv2.cvtColor(FRAME, cv2.COLOR_BGR2GRAY)
    results = []
    for frame in (cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), gray, gray[..., None],
                  cv2.cvtColor(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), cv2.COLOR_BGR2BGRA)):
        tracker = Tracker(FakeBoxModel(target_logit=0.0))
        tracker.init(frame, (100.0, 80.0, 40.0, 30.0))
        results.append(tracker.track(frame)[0])
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0])


# ---------------------------------------------------------------------------------------- real model, real frames
@pytest.fixture(scope="module")
def nano():
    from dastsiam.models import load_model

    model, cfg = load_model("nano")
    return model, cfg


def _read_otb(shared_data, name, count):
    import re

    folder = shared_data / "OTB" / name
    rows = [line for line in (folder / "groundtruth_rect.txt").read_text().splitlines() if line.strip()]
    gt = np.array([[float(v) for v in re.split(r"[,\s]+", row.strip())] for row in rows[:count]])
    gt[:, :2] -= 1  # OTB is 1-based
    files = sorted((folder / "img").glob("*.jpg"))[:count]
    return [cv2.imread(str(f)) for f in files], gt


def test_nano_tracks_real_frames(shared_data, nano):
    model, cfg = nano
    frames, gt = _read_otb(shared_data, "Couple", 30)
    tracker = Tracker(model, preset("nano"))
    tracker.init(frames[0], gt[0])
    boxes = [gt[0]] + [tracker.track(f)[0] for f in frames[1:]]
    overlaps = iou(np.array(boxes), gt)
    assert overlaps.mean() > 0.6 and overlaps.min() > 0.3, overlaps.round(2)


def test_never_crashes_on_lost_target_and_box_outside(shared_data, nano):
    model, _ = nano
    frames, gt = _read_otb(shared_data, "Couple", 2)
    height, width = frames[0].shape[:2]
    tracker = Tracker(model, preset("nano"))
    tracker.init(frames[0], (-15.0, height - 20.0, 40.0, 60.0))  # partly outside (left and bottom)
    for frame in [frames[1], np.zeros_like(frames[0]), np.full_like(frames[0], 255), np.zeros_like(frames[0])]:
        box, score = tracker.track(frame)
        assert np.all(np.isfinite(box)) and 0 <= score <= 1
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        assert 0 <= cx <= width and 0 <= cy <= height and box[2] >= 10 and box[3] >= 10


def test_st_model_runs_its_update_path(shared_data):
    """nano-st-da has zero-initialised ST/DA: with updates on every frame it still tracks like nano."""
    from dastsiam.models import load_model

    frames, gt = _read_otb(shared_data, "Couple", 8)
    st_model, _ = load_model("nano-st-da")
    assert st_model.has_st
    tracker = Tracker(st_model, preset("nano", update_threshold=0.0))
    tracker.init(frames[0], gt[0])
    updates = 0
    boxes = []
    for f in frames[1:]:
        boxes.append(tracker.track(f)[0])
        updates += tracker.last.updated
    assert updates == len(frames) - 1
    assert iou(np.array(boxes), gt[1:]).mean() > 0.6
