"""Metrics on hand-computed cases: every number here is worked out in the comment beside it."""

from __future__ import annotations

import numpy as np
import pytest

from dastsiam.errors import InputError
from dastsiam.evaluation.conventions import Conventions, preset
from dastsiam.evaluation.metrics import (
    aggregate,
    align_results,
    fill_invalid_with_previous,
    normalised_centre_error,
    overlap,
    precision_curve,
    score_frames,
    score_sequence,
    success_curve,
    summarise,
)
from dastsiam.evaluation.vot import expected_average_overlap, polygon_iou, score_vot


def moving_gt(n=10):
    # a 10x20 box moving 4 px right per frame, all coordinates positive (valid under OTB's rule)
    return np.array([[10.0 + 4 * i, 10.0, 10.0, 20.0] for i in range(n)])


def test_iou_conventions_hand_computed():
    a, b = np.array([0.0, 0, 10, 10]), np.array([5.0, 0, 10, 10])
    # continuous: intersection 5*10 = 50, union 100 + 100 - 50 = 150
    assert overlap(a, b, "continuous") == pytest.approx(1 / 3)
    # pixel (+1): intersection 6*11 = 66, union 121 + 121 - 66 = 176
    assert overlap(a, b, "pixel") == pytest.approx(66 / 176)
    assert overlap(a, [np.nan] * 4) == 0.0


def test_perfect_tracker_auc_depends_only_on_the_documented_threshold_rule():
    gt = moving_gt()
    ge = score_sequence("s", gt, gt, Conventions(success_op=">="))
    assert ge.success_auc == 1.0 and ge.precision_at == 1.0 and ge.ao == 1.0
    # OTB's "IoU > t" with t up to 1: IoU 1 passes 20 of the 21 thresholds
    gt_rule = score_sequence("s", gt, gt, preset("otb"))
    assert gt_rule.success_auc == pytest.approx(20 / 21)
    assert gt_rule.sr50 == 1.0 and gt_rule.sr75 == 1.0


def test_identity_tracker_that_only_knows_frame_1():
    gt = moving_gt(4)
    results = np.repeat(gt[:1], 4, axis=0)  # the initial box forever
    # frame k: shift 4k px of a 10 px wide box -> IoU (10-4k)/(10+4k): 1, 6/14, 2/18, 0
    expected = np.array([1.0, 6 / 14, 2 / 18, 0.0])
    scores = score_frames(results, gt, preset("otb"))
    np.testing.assert_allclose(scores.iou, expected)
    # centre errors 0, 4, 8, 12 -> all within 20 px; within 5 px: frames 1, 2
    np.testing.assert_allclose(scores.centre_error, [0, 4, 8, 12])
    seq = summarise("s", scores, preset("otb"))
    assert seq.precision_at == 1.0
    thresholds = np.linspace(0, 1, 21)
    np.testing.assert_allclose(seq.success, [(expected > t).mean() for t in thresholds])
    assert seq.success_auc == pytest.approx(np.mean([(expected > t).mean() for t in thresholds]))
    assert seq.ao == pytest.approx(expected.mean())
    # GOT-10k excludes frame 1: AO over frames 2..4
    got = score_frames(results, gt, preset("got10k"))
    assert got.iou.mean() == pytest.approx(expected[1:].mean())


def test_first_frame_conventions():
    gt = moving_gt(3)
    results = gt.copy()
    results[0] = [500, 500, 5, 5]  # a result file whose first row is wrong
    assert score_frames(results, gt, Conventions(first_frame="ground_truth")).iou[0] == 1.0
    assert score_frames(results, gt, Conventions(first_frame="as_is")).iou[0] == 0.0
    assert len(score_frames(results, gt, Conventions(first_frame="exclude"))) == 2


def test_absent_and_invalid_ground_truth():
    gt = moving_gt(4)
    gt[2] = np.nan  # target absent (UAV123 NaN row)
    results = moving_gt(4)
    fail = score_frames(results, gt, Conventions(invalid_gt="fail"))
    assert fail.failed.tolist() == [False, False, True, False]
    assert np.isinf(fail.centre_error[2])
    # fail: 3 of 4 frames pass every threshold below 1
    assert success_curve(fail.iou, [0.5], fail.failed)[0] == 0.75
    assert precision_curve(fail.centre_error, [20])[0] == 0.75
    skip = score_frames(results, gt, Conventions(invalid_gt="skip"))
    assert len(skip) == 3 and skip.iou.tolist() == [1.0, 1.0, 1.0]
    # OTB's rule: a ground-truth value <= 0 (1-based files) is invalid; the "size" rule accepts x = 0
    gt2 = moving_gt(2)
    gt2[1, 0] = 0.0
    assert score_frames(gt2, gt2, Conventions(gt_valid="positive")).failed.tolist() == [False, True]
    assert score_frames(gt2, gt2, Conventions(gt_valid="size")).failed.tolist() == [False, False]
    # a benchmark's absent flag (LaSOT out-of-view) counts like invalid ground truth
    flagged = score_frames(results[:2], moving_gt(2), Conventions(), absent=[False, True])
    assert flagged.failed.tolist() == [False, True]


def test_invalid_results_take_the_previous_box():
    gt = moving_gt(4)
    results = gt.copy()
    results[2] = [np.nan] * 4
    results[3, 2] = -5  # negative width
    filled = fill_invalid_with_previous(results)
    np.testing.assert_array_equal(filled[2], gt[1])
    np.testing.assert_array_equal(filled[3], gt[1])
    as_is = score_frames(results, gt, Conventions(invalid_result="as_is"))
    assert as_is.iou[2] == 0.0 and as_is.iou[3] == 0.0


def test_frames_a_short_result_does_not_cover_are_failures():
    gt = moving_gt(5)
    aligned = align_results(gt[2:], 5, "end")
    assert np.isnan(aligned[:2]).all()
    np.testing.assert_array_equal(aligned[2:], gt[2:])
    assert np.isnan(align_results(gt[:3], 5, "start")[3:]).all()
    # a run that stopped early: the tail it does not cover fails (never filled with the previous box)
    early = score_frames(gt[:3], gt, preset("otb"))
    np.testing.assert_allclose(early.iou, [1.0, 1.0, 1.0, 0.0, 0.0])
    assert early.failed.tolist() == [False, False, False, True, True]
    assert np.isinf(early.centre_error[3:]).all()
    # a run that started 2 frames later (align="end"): the first frames it does not cover fail
    late = gt[2:] + [1.0, 0, 0, 0]
    scores = score_frames(late, gt, Conventions(align="end", first_frame="as_is"))
    np.testing.assert_allclose(scores.iou, [0.0, 0.0, 9 / 11, 9 / 11, 9 / 11])
    # an invalid row inside the covered part is still replaced by the previous box (OTB toolkit)
    holed = gt[:4].copy()
    holed[2] = np.nan
    np.testing.assert_allclose(score_frames(holed, gt, preset("otb")).iou[:4], [1.0, 1.0, 6 / 14, 1.0])
    # one row (or none) can never score more than frame 1
    one = score_sequence("s", gt[:1], gt, preset("otb"))
    assert one.success_auc <= 1 / 5 + 1e-12


def test_normalised_precision_hand_computed():
    gt = np.array([[1.0, 1.0, 10.0, 20.0]])
    res = np.array([[4.0, 5.0, 10.0, 20.0]])  # centre off by (3, 4): normalised (0.3, 0.2)
    assert normalised_centre_error(res, gt)[0] == pytest.approx(np.hypot(0.3, 0.2))
    seq = score_sequence("s", res, gt, Conventions(first_frame="as_is"))
    assert seq.norm_precision_at == 0.0  # 0.36 > 0.2
    assert seq.precision_at == 1.0  # 5 px <= 20


def test_sequence_average_versus_frame_pooling():
    long_gt, short_gt = moving_gt(8), moving_gt(2)
    long_res = long_gt.copy()
    short_res = short_gt + [[0, 0, 0, 0], [100, 0, 0, 0]]  # frame 2 lost
    conv_seq = Conventions(first_frame="as_is", success_op=">=")
    conv_frame = Conventions(first_frame="as_is", success_op=">=", average="frame")
    frames = [score_frames(long_res, long_gt, conv_seq), score_frames(short_res, short_gt, conv_seq)]
    seqs = [summarise(str(i), f, conv_seq) for i, f in enumerate(frames)]
    # per sequence: AO 1 and 0.5 -> 0.75; pooled: 9 of 10 frames at IoU 1 -> 0.9
    assert aggregate(seqs, frames, conv_seq)["ao"] == pytest.approx(0.75)
    assert aggregate(seqs, frames, conv_frame)["ao"] == pytest.approx(0.9)


def test_bad_convention_names_are_rejected():
    with pytest.raises(InputError, match="iou"):
        Conventions(iou="area")


def test_polygon_ground_truth_overlap():
    diamond = [5, 0, 10, 5, 5, 10, 0, 5]  # area 50, inside its 10x10 envelope
    assert polygon_iou([0, 0, 10, 10], diamond) == pytest.approx(0.5)
    assert polygon_iou(diamond, diamond) == pytest.approx(1.0)
    # clipped to a 10x10 image (bounds 9, 9): the box [5, 5, 10, 10] keeps 4x4 = 16 of 81
    assert polygon_iou([0, 0, 10, 10], [5, 5, 10, 10], bounds=(9, 9)) == pytest.approx(16 / 81)


def test_eao_hand_computed():
    # one run, no failure, overlap 0.5 on every tracked frame: expected overlap 0.5 for every length
    overlaps = [np.array([np.nan] + [0.5] * 9)]
    eao, curve = expected_average_overlap(overlaps, [[]], interval=(2, 5))
    assert eao == pytest.approx(0.5) and curve[0] == 1.0
    # failure at frame 3 (overlaps 1 on frames 1, 2), re-init at frame 8; fragment 1 then counts zeros:
    # length 3 -> mean(1, 1) = 1 ... frames 1..i of fragment 1 are [1, 1, 0, 0, ...]
    ov = np.array([np.nan, 1.0, 1.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 1.0])
    eao, curve = expected_average_overlap([ov], [[3]], interval=(2, 3))
    # fragment A = frames 0..8 then zeros (length 10), fragment B = frames 8..9 = [nan, 1]
    # Ns=2 (i=1): A mean([1]) = 1, B mean([1]) = 1 -> 1; Ns=3 (i=2): only A reaches: mean(1, 1) = 1
    assert curve[1] == pytest.approx(1.0) and curve[2] == pytest.approx(1.0)
    # Ns=4 (i=3): A mean(1, 1, 0) = 2/3
    assert curve[3] == pytest.approx(2 / 3)


def test_vot_accuracy_burn_in_and_robustness():
    square = np.array([0, 0, 10, 0, 10, 10, 0, 10], dtype=float)
    gt = np.tile(square, (12, 1))
    half = np.array([5.0, 0, 10, 10])  # IoU 1/3 against the square
    trajectory = [1] + [half] * 11
    score = score_vot({"s": [trajectory]}, {"s": gt}, burn_in=10, method="exact")
    assert score.accuracy == pytest.approx(1 / 3)  # only frames 10, 11 count
    assert score.failures == 0 and score.robustness == 0
    failing = [1, half, 2, 0, 0, 0, 0, 1, half, half, half, half]
    score = score_vot({"s": [failing]}, {"s": gt}, burn_in=0, method="exact")
    assert score.failures == 1
    assert score.robustness == pytest.approx(100 / 12)
