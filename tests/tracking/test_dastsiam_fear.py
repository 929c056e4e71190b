"""DASTSiam on FEAR-XS (`dastsiam-fear`, docs/ablation.md "FEAR"): zero-init equality with `fear-xs` on real
frames, the paper's gate on FEAR's one-logit classifier by hand, and the training-free linear template update."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from dastsiam.models.base import HeadOutput, SiameseModel
from dastsiam.models.fear import GEOMETRY
from dastsiam.models.registry import BUILTIN_MODELS
from dastsiam.tracking import Tracker, TrackerConfig, preset
from dastsiam.tracking.config import PAPER_THRESHOLD, tracker_config_for



def test_registered_honestly_as_untrained_with_the_papers_gate():
    entry = BUILTIN_MODELS["dastsiam-fear"]
    cfg = entry.config
    assert cfg.arch == "fear" and cfg.st.enabled and cfg.da.enabled and cfg.confidence == "cls_conf"
    assert entry.weights == BUILTIN_MODELS["fear-xs"].weights  # the published weights; the modules stay at zero
    assert "UNTRAINED" in entry.description
    tcfg = tracker_config_for(cfg)
    assert tcfg.decoder == "fear" and tcfg.gate_confidence == "sum" and tcfg.update_threshold == PAPER_THRESHOLD


@pytest.mark.parametrize("threshold", [PAPER_THRESHOLD, -1.0])  # the paper's gate; an update on every frame
def test_zero_initialised_dastsiam_fear_tracks_exactly_like_fear_xs(otb_frames, threshold):
    from dastsiam.models import load_model

    torch.set_num_threads(1)
    images, gt = otb_frames("Crossing", 10)
    base, base_cfg = load_model("fear-xs")
    ours, ours_cfg = load_model("dastsiam-fear")
    assert ours.has_st and ours.da is not None and ours.head.conf_logits is not None
    trackers = [Tracker(base, tracker_config_for(base_cfg)),
                Tracker(ours, dataclasses.replace(tracker_config_for(ours_cfg), update_threshold=threshold))]
    for t in trackers:
        t.init(images[0], gt[0])
    updates = 0
    for image in images[1:]:
        (box_a, score_a), (box_b, score_b) = (t.track(image) for t in trackers)
        assert box_a.tolist() == box_b.tolist() and score_a == score_b
        # untrained confidence branch: sigmoid(0) = 0.5 beside the classifier's sigmoid
        assert trackers[1].last.gate == pytest.approx(score_b + 0.5, abs=1e-6)
        updates += trackers[1].last.updated
    assert updates >= (len(images) - 1 if threshold < 0 else 1)  # the ST path ran (and changed nothing)
    assert torch.equal(trackers[1].f_z, trackers[1].f_i)


class FakeFear(SiameseModel):
    """FEAR-shaped outputs: one classification logit per cell (peak ``logit`` at the centre cell), optional
    confidence logit ``conf`` everywhere, a fixed 40 x 30 box; templates numbered 1, 2, 3, ..."""

    def __init__(self, logit, conf=None):
        super().__init__()
        self.geometry = GEOMETRY
        self.logit, self.conf = logit, conf
        self.count = 0

    @property
    def has_st(self):
        return True

    def template(self, z):
        assert z.shape == (1, 3, 128, 128)
        self.count += 1
        return torch.full((1, 2, 2, 2), float(self.count))

    def fuse(self, f_a, f_c, f_i):
        return f_a + 10 * f_c + 100 * f_i

    def track(self, x, f_z):
        cls = torch.full((1, 1, 16, 16), -10.0)
        cls[0, 0, 8, 8] = self.logit
        loc = torch.tensor([20.0, 15.0, 20.0, 15.0]).view(1, 4, 1, 1).expand(1, 4, 16, 16).clone()
        conf = None if self.conf is None else torch.full((1, 1, 16, 16), float(self.conf))
        return HeadOutput(cls, loc, conf)


FRAME = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
logit = lambda p: math.log(p / (1.0 - p))  # noqa: E731


@pytest.mark.parametrize("p, q, gate, updated", [
    (0.75, 0.25, 1.00, False),  # 0.75 + 0.25
    (0.75, 0.50, 1.25, True),   # 0.75 + 0.5 (an untrained confidence branch says 0.5)
    (0.60, 0.50, 1.10, False),
    (0.90, 0.30, 1.20, True),
    (0.59, 0.58, 1.17, False),  # just below the threshold
])
def test_sum_gate_on_fears_one_logit_classifier_by_hand(p, q, gate, updated):
    model = FakeFear(logit(p), logit(q))
    tracker = Tracker(model, preset("fear-xs", gate_confidence="sum", update_threshold=1.18))
    tracker.init(FRAME, (150.0, 100.0, 40.0, 30.0))
    _, score = tracker.track(FRAME)
    assert score == pytest.approx(p, abs=1e-6) and tracker.last.best_cell == (8, 8)
    assert tracker.last.gate == pytest.approx(gate, abs=1e-6)
    assert tracker.last.updated is updated
    expected = 1 + 10 * 2 + 100 * 1 if updated else 1  # fuse(f_a=f_i=1, f_c=2, f_i=1)
    assert float(tracker.f_z.flatten()[0]) == expected


def test_gate_weights_and_single_branch_modes_on_fear():
    p, q = 0.8, 0.3
    model = FakeFear(logit(p), logit(q))
    for mode, weights, expected in (("sum", (2.0, 1.0), 2 * p + q), ("weighted", (1.0, 1.0), 0.5 * p + 0.5 * q),
                                    ("cls", (1.0, 1.0), p), ("conf", (1.0, 1.0), q)):
        tracker = Tracker(model, preset("fear-xs", gate_confidence=mode, gate_weights=weights))
        tracker.init(FRAME, (150.0, 100.0, 40.0, 30.0))
        tracker.track(FRAME)
        assert tracker.last.gate == pytest.approx(expected, abs=1e-6), mode
    # no confidence branch (fear-xs): the "sum" gate counts the missing branch as agreeing
    tracker = Tracker(FakeFear(logit(p)), preset("fear-xs", gate_confidence="sum"))
    tracker.init(FRAME, (150.0, 100.0, 40.0, 30.0))
    tracker.track(FRAME)
    assert tracker.last.gate == pytest.approx(2 * p, abs=1e-6)


def test_linear_template_update_is_updatenets_baseline():
    """f_a = (1 - a) f_a + a f_c on gated frames, for any model (no ST needed); the fusion is not called."""
    model = FakeFear(logit(0.9))
    model.fuse = None  # the linear update must not use the model's ST
    cfg = preset("fear-xs", template_update="linear", update_rate=0.1, gate_confidence="cls", update_threshold=0.59)
    tracker = Tracker(model, cfg)
    tracker.init(FRAME, (150.0, 100.0, 40.0, 30.0))  # f_i = 1
    tracker.track(FRAME)  # f_c = 2: 0.9 * 1 + 0.1 * 2
    assert float(tracker.f_z.flatten()[0]) == pytest.approx(1.1)
    tracker.track(FRAME)  # f_c = 3: 0.9 * 1.1 + 0.1 * 3
    assert float(tracker.f_z.flatten()[0]) == pytest.approx(1.29)
    assert float(tracker.f_i.flatten()[0]) == 1.0
    # below the gate nothing changes
    low = Tracker(FakeFear(logit(0.5)), cfg)
    low.init(FRAME, (150.0, 100.0, 40.0, 30.0))
    low.track(FRAME)
    assert not low.last.updated and float(low.f_z.flatten()[0]) == 1.0
    with pytest.raises(Exception, match="update_rate"):
        TrackerConfig(update_rate=1.5)
