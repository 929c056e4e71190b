"""Agreement with the GOT-10k toolkit (``pip install got10k``) on the same boxes; skipped where it is absent."""

from __future__ import annotations

import types

import numpy as np
import pytest

from dastsiam.evaluation.conventions import Conventions, preset
from dastsiam.evaluation.metrics import aggregate, centre_error, overlap, score_frames, success_curve, summarise

metrics = pytest.importorskip("got10k.utils.metrics", reason="the got10k toolkit is not installed")
got10k_experiments = pytest.importorskip("got10k.experiments.got10k", reason="got10k toolkit incomplete (needs six)")
otb_experiments = pytest.importorskip("got10k.experiments.otb", reason="got10k toolkit incomplete")


@pytest.fixture(scope="module")
def boxes():
    rng = np.random.default_rng(0)
    gt = np.column_stack([rng.uniform(0, 300, 400), rng.uniform(0, 200, 400), rng.uniform(5, 80, 400),
                          rng.uniform(5, 80, 400)])
    pred = gt + rng.normal(0, 12, gt.shape)
    pred[:, 2:] = np.abs(pred[:, 2:]) + 1
    return gt, pred


def test_iou_and_centre_error_match(boxes):
    gt, pred = boxes
    np.testing.assert_allclose(overlap(pred, gt), metrics.rect_iou(pred.copy(), gt.copy()), atol=1e-12)
    np.testing.assert_allclose(centre_error(pred, gt), metrics.center_error(pred, gt), atol=1e-9)


def test_ao_sr_and_success_curve_match_experiment_got10k(boxes):
    gt, pred = boxes
    # two sequences: the toolkit drops frame 1 and pools the frames of all sequences
    conv = preset("got10k")
    frames = [score_frames(pred[:250], gt[:250], conv), score_frames(pred[250:], gt[250:], conv)]
    ours = aggregate([summarise("a", f, conv) for f in frames], frames, conv)
    ious = np.concatenate([metrics.rect_iou(pred[1:250].copy(), gt[1:250].copy()),
                           metrics.rect_iou(pred[251:].copy(), gt[251:].copy())])
    experiment = types.SimpleNamespace(nbins_iou=101)
    ao, sr, _speed, curve = got10k_experiments.ExperimentGOT10k._evaluate(experiment, ious, np.array([]))
    assert ours["ao"] == pytest.approx(ao, abs=1e-12)
    assert ours["sr50"] == pytest.approx(sr, abs=1e-12)
    np.testing.assert_allclose(ours["curves"]["success"], curve, atol=1e-12)


def test_otb_curves_match_experiment_otb(boxes):
    gt, pred = boxes
    experiment = types.SimpleNamespace(nbins_iou=21, nbins_ce=51)
    ious, errors = otb_experiments.ExperimentOTB._calc_metrics(experiment, pred, gt)
    succ, prec = otb_experiments.ExperimentOTB._calc_curves(experiment, ious, errors)
    conv = Conventions(first_frame="as_is", invalid_result="as_is", gt_valid="size")
    seq = summarise("s", score_frames(pred, gt, conv), conv)
    np.testing.assert_allclose(seq.success, succ, atol=1e-12)
    np.testing.assert_allclose(seq.precision, prec, atol=1e-12)
    np.testing.assert_allclose(success_curve(ious, np.linspace(0, 1, 21)), succ, atol=1e-12)
